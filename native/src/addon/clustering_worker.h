// The PinnerSage clustering entries:
//   wardLinkage(embeddings, n, dim, cancel?) → Promise<Float64Array>   ((n − 1) × 4, SciPy's layout)
//   cutTree(linkage, n, threshold) → Int32Array                          (labels 1..k; O(n), synchronous)
//   clusterMedoids(embeddings, n, dim, labels, clusters, cancel?) → Promise<Int32Array>
//   pinnerSage(embeddings, n, dim, ageDays, threshold, lambdaPerDay, maxAnchors, cancel?)
//     → Promise<{ linkage, labels, medoids, importance, anchors }>       (all of the above in one worker)
#pragma once

#include <napi.h>

namespace kindred::addon {

Napi::Value ward_linkage(const Napi::CallbackInfo& info);
Napi::Value cut_tree(const Napi::CallbackInfo& info);
Napi::Value cluster_medoids(const Napi::CallbackInfo& info);
Napi::Value pinner_sage(const Napi::CallbackInfo& info);

}  // namespace kindred::addon
