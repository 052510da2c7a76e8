#include "addon/errors.h"

namespace kindred::addon {

Napi::Error make_error(Napi::Env env, Code code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code_name(code)));
  return error;
}

Napi::Error make_type_error(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, code_name(Code::kInvalidArgument)));
  return error;
}

Napi::Error make_range_error(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, code_name(Code::kInvalidArgument)));
  return error;
}

}  // namespace kindred::addon
