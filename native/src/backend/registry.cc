#include "kindred/backend/registry.h"

#include <memory>
#include <new>
#include <string>

#include "build_config.h"
#include "kindred/core/check.h"
#include "portable/portable_backend.h"
#if KINDRED_HAVE_BLAS
#include "blas/blas_backend.h"
#endif
#if KINDRED_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace kindred::backend {
namespace {

struct Registry {
  std::vector<BackendInfo> infos;              // priority order, available or not
  std::vector<std::unique_ptr<Backend>> owned;  // the available ones
  std::vector<Backend*> by_priority;            // parallel to infos; nullptr when unavailable
};

Registry build() {
  Registry r;
  auto add = [&r](BackendInfo info, std::unique_ptr<Backend> backend) {
    r.by_priority.push_back(backend.get());
    if (backend) {
      r.infos.push_back(backend->info());
      r.owned.push_back(std::move(backend));
    } else {
      info.available = false;
      r.infos.push_back(std::move(info));
    }
  };

  BackendInfo cuda_info;
  cuda_info.name = "cuda";
  cuda_info.kind = Kind::kGpu;
#if KINDRED_HAVE_CUDA
  std::unique_ptr<Backend> cuda_backend;
  try {
    cuda_backend = cuda::probe(cuda_info);
  } catch (const std::exception& e) {
    cuda_info.reason = std::string("probe failed: ") + e.what();
  }
  add(cuda_info, std::move(cuda_backend));
#else
  cuda_info.reason = "not compiled into this binary: " KINDRED_CUDA_NOTE;
  add(cuda_info, nullptr);
#endif

  BackendInfo blas_info;
  blas_info.name = "blas";
#if KINDRED_HAVE_BLAS
  std::unique_ptr<Backend> blas_backend = blas::probe(blas_info);
  add(blas_info, std::move(blas_backend));
#else
  blas_info.reason = "not compiled into this binary: " KINDRED_BLAS_NOTE;
  add(blas_info, nullptr);
#endif

  add(BackendInfo{}, portable::create());
  return r;
}

const Registry& registry() {
  static const Registry instance = build();  // thread-safe lazy init (C++11 magic statics)
  return instance;
}

}  // namespace

const std::vector<BackendInfo>& list() { return registry().infos; }

Backend& best() {
  for (Backend* backend : registry().by_priority) {
    if (backend) return *backend;
  }
  KINDRED_THROW(Code::kInternal, "no backend is available (portable should always be)");
}

Backend& by_name(std::string_view name) {
  if (name == "auto") return best();
  const Registry& r = registry();
  std::string reasons;
  for (std::size_t i = 0; i < r.infos.size(); ++i) {
    if (r.infos[i].name == name) {
      if (r.by_priority[i]) return *r.by_priority[i];
      KINDRED_THROW(Code::kBackendUnavailable, "backend '", name, "' is unavailable: ", r.infos[i].reason);
    }
  }
  for (const auto& info : r.infos) reasons += (reasons.empty() ? "" : ", ") + ("'" + info.name + "'");
  KINDRED_THROW(Code::kInvalidArgument, "unknown backend '", name, "'; expected 'auto' or one of ", reasons);
}

}  // namespace kindred::backend
