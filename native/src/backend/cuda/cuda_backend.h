// The CUDA backend: cublasSgemm on device 0, with libcudart and libcublas opened at run time
// (cuda_loader.h), so the library builds and runs on machines without CUDA.
#pragma once

#include <memory>

#include "kindred/backend/backend.h"

namespace kindred::backend::cuda {

// Probes the CUDA libraries and device 0. Returns the backend, or nullptr with info.reason set.
// info.name = "cuda", info.kind = Kind::kGpu; on success info.device = the device name plus
// e.g. " (CUDA runtime 13.0, driver 13.0)", info.available = true. Does not throw.
std::unique_ptr<Backend> probe(BackendInfo& info);

}  // namespace kindred::backend::cuda
