#include "addon/backends.h"

#include "kindred/backend/registry.h"

namespace kindred::addon {

Napi::Value list_backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& all = backend::list();
  Napi::Array out = Napi::Array::New(env, all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& b = all[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", b.name);
    o.Set("kind", b.kind == backend::Kind::kGpu ? "gpu" : "cpu");
    o.Set("available", b.available);
    if (!b.reason.empty()) o.Set("reason", b.reason);
    if (!b.device.empty()) o.Set("device", b.device);
    if (b.threads > 0) o.Set("threads", b.threads);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace kindred::addon
