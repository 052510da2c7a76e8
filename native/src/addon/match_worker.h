// matchWeights(weights, n, tuning, cancel?) and
// matchEmbeddings(user, peer, scratch, n, dim, backend, transform, mutual, overlap, blocked, tuning, cancel?)
// → Promise<{ mate, totalWeight, upperBound, pairs, backend, scoresMs, filtersMs, matchingMs }>.
#pragma once

#include <napi.h>

namespace kindred::addon {

Napi::Value match_weights(const Napi::CallbackInfo& info);
Napi::Value match_embeddings(const Napi::CallbackInfo& info);
Napi::Value match_heads(const Napi::CallbackInfo& info);

}  // namespace kindred::addon
