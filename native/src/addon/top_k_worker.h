// topK(queries, items, q, n, dim, k, backend, outIndices, outScores, cancel?) → Promise<string>
// (the backend used): the best k items per query by inner product, off the main thread.
#pragma once

#include <napi.h>

namespace kindred::addon {

Napi::Value top_k(const Napi::CallbackInfo& info);

}  // namespace kindred::addon
