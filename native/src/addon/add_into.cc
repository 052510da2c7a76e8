#include "addon/add_into.h"

#include <cstddef>

#include "addon/convert.h"
#include "addon/errors.h"

namespace kindred::addon {

Napi::Value add_into(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(info.Length() != 2, env, "addInto expects 2 arguments: to, from");
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array,
                                   env, "to must be a Float32Array");
  Napi::Float32Array to = info[0].As<Napi::Float32Array>();
  Napi::Float32Array from = to_float_matrix(info[1], "from", to.ElementLength(), 1);
  // No __restrict: the two may be views of one buffer, and the compiler vectorizes behind its own
  // overlap check.
  float* out = to.Data();
  const float* in = from.Data();
  for (std::size_t i = 0, n = to.ElementLength(); i < n; ++i) out[i] += in[i];
  return env.Undefined();
}

}  // namespace kindred::addon
