// listBackends(): the registry as plain JS objects.
#pragma once

#include <napi.h>

namespace kindred::addon {

Napi::Value list_backends(const Napi::CallbackInfo& info);

}  // namespace kindred::addon
