// JS values → core types, checking only what costs O(1): kinds, integer ranges, lengths.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "addon/errors.h"
#include "kindred/core/check.h"

namespace kindred::addon {

// A non-negative integer count below 2^53, or a RangeError naming `name`.
inline std::size_t to_count(const Napi::Value& value, const char* name) {
  Napi::Env env = value.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsNumber(), env, std::string(name) + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(!(d >= 0 && d <= 9007199254740991.0 && std::floor(d) == d), env,
                                    std::string(name) + " must be a non-negative integer");
  return static_cast<std::size_t>(d);
}

// A Float32Array holding exactly `rows * cols` elements, or an error naming `name`.
inline Napi::Float32Array to_float_matrix(const Napi::Value& value, const char* name, std::size_t rows,
                                          std::size_t cols) {
  Napi::Env env = value.Env();
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array,
                                   env, std::string(name) + " must be a Float32Array");
  auto array = value.As<Napi::Float32Array>();
  std::size_t expected = 0;
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(!checked_mul(rows, cols, &expected), env,
                                    std::string(name) + ": " + std::to_string(rows) + " x " + std::to_string(cols) +
                                        " overflows");
  KINDRED_NAPI_THROW_RANGE_ERROR_IF(array.ElementLength() != expected, env,
                                    std::string(name) + " must hold " + std::to_string(expected) + " elements (" +
                                        std::to_string(rows) + " x " + std::to_string(cols) + ") but holds " +
                                        std::to_string(array.ElementLength()));
  return array;
}

// True when two typed arrays' bytes overlap (same ArrayBuffer, intersecting ranges).
inline bool overlaps(const Napi::TypedArray& x, const Napi::TypedArray& y) {
  if (x.ByteLength() == 0 || y.ByteLength() == 0) return false;
  auto xb = static_cast<const std::uint8_t*>(x.ArrayBuffer().Data()) + x.ByteOffset();
  auto yb = static_cast<const std::uint8_t*>(y.ArrayBuffer().Data()) + y.ByteOffset();
  return xb < yb + y.ByteLength() && yb < xb + x.ByteLength();
}

// The optional cancel flag at info[at]: undefined (or absent) → nullptr, an Int32Array of length ≥ 1
// → its data (the core polls element 0), anything else → a TypeError.
inline const std::int32_t* to_cancel(const Napi::CallbackInfo& info, std::size_t at) {
  if (info.Length() <= at || info[at].IsUndefined()) return nullptr;
  Napi::Value cancel = info[at];
  const bool ok = cancel.IsTypedArray() && cancel.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array &&
                  cancel.As<Napi::Int32Array>().ElementLength() >= 1;
  KINDRED_NAPI_THROW_TYPE_ERROR_IF(!ok, info.Env(), "cancel must be undefined or an Int32Array of length >= 1");
  return cancel.As<Napi::Int32Array>().Data();
}

}  // namespace kindred::addon
