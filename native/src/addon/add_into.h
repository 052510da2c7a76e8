// addInto(to, from): to[i] += from[i], synchronously on the calling thread. A light call (MatchPool
// adds each pool's session rows to its feature rows: 256K floats at N = 2,000, ~0.05 ms here)
// that V8 runs at 3–4 ns per float, converting each through a double and never vectorizing.
#pragma once

#include <napi.h>

namespace kindred::addon {

Napi::Value add_into(const Napi::CallbackInfo& info);

}  // namespace kindred::addon
