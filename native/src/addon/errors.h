// Turning native failures into JavaScript errors that carry a `code` the TypeScript layer maps onto
// its error classes (ts/src/core/errors.ts, fromNative()).
#pragma once

#include <napi.h>

#include <string>

#include "kindred/core/error.h"

namespace kindred::addon {

// An Error with .code = code_name(code) and .message = message.
Napi::Error make_error(Napi::Env env, Code code, const std::string& message);

// A TypeError / RangeError with .code = "ERR_KINDRED_INVALID_ARGUMENT", for misuse of the binding.
Napi::Error make_type_error(Napi::Env env, const std::string& message);
Napi::Error make_range_error(Napi::Env env, const std::string& message);

}  // namespace kindred::addon

// Throw from a binding function when `cond` holds (C++ exceptions are enabled in the addon).
#define KINDRED_NAPI_THROW_TYPE_ERROR_IF(cond, env, message) \
  do {                                                       \
    if (cond) throw ::kindred::addon::make_type_error((env), (message)); \
  } while (0)
#define KINDRED_NAPI_THROW_RANGE_ERROR_IF(cond, env, message) \
  do {                                                        \
    if (cond) throw ::kindred::addon::make_range_error((env), (message)); \
  } while (0)
