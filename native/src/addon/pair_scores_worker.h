// pairScores(a, b, out, rows, cols, dim, backend, cancel?) → Promise<string> (the backend used).
#pragma once

#include <napi.h>

namespace kindred::addon {

Napi::Value pair_scores(const Napi::CallbackInfo& info);

}  // namespace kindred::addon
