// The medoid of each flat cluster: the member with the smallest sum of Euclidean distances (float64)
// to the other members. A 2-member cluster takes the member with the larger L2 norm (PinnerSage's
// rule: both have the same sum). Ties — equal sums or equal norms, e.g. exact duplicates — go to the
// lowest row index, so the result never depends on thread timing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"

namespace kindred::clustering {

// labels[i] ∈ 1..clusters for each of points.rows rows (every label used at least once). Returns
// the medoid row of cluster c at index c − 1. Cost: Σ over clusters of size² · dim, spread over
// `threads`; memory O(n · dim) doubles. Throws Error(kInvalidArgument) for a bad label,
// Error(kCancelled) when `cancel` fires.
std::vector<std::int32_t> cluster_medoids(ConstMatrix points, const std::int32_t* labels, std::size_t clusters,
                                          const CancelToken& cancel, int threads);

}  // namespace kindred::clustering
