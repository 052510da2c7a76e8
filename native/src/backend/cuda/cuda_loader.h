// Run-time loading of the CUDA runtime (libcudart) and cuBLAS with dlopen. The library is built
// without CUDA headers or link-time CUDA dependencies, so one binary runs on machines with and
// without a GPU; the few types, constants and entry points it needs are declared here by hand,
// matching the C ABI of CUDA 12 and 13 (they have been stable for years).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace kindred::backend::cuda {

// ---- Hand-declared ABI subset (do not include cuda_runtime.h / cublas_v2.h) ----
using CudaError = int;          // cudaError_t
using CublasStatus = int;       // cublasStatus_t
struct CudaStreamOpaque;        // struct CUstream_st
using CudaStream = CudaStreamOpaque*;  // cudaStream_t
struct CublasContextOpaque;     // struct cublasContext
using CublasHandle = CublasContextOpaque*;  // cublasHandle_t

constexpr CudaError kCudaSuccess = 0;
constexpr int kCudaMemcpyHostToDevice = 1;
constexpr int kCudaMemcpyDeviceToHost = 2;
constexpr CublasStatus kCublasStatusSuccess = 0;
constexpr int kCublasOpN = 0;
constexpr int kCublasOpT = 1;

// Function pointers resolved with dlsym. Names follow the exported symbols.
struct CudaApi {
  // libcudart
  CudaError (*get_device_count)(int* count) = nullptr;                        // cudaGetDeviceCount
  CudaError (*set_device)(int device) = nullptr;                              // cudaSetDevice
  CudaError (*get_device_properties)(void* prop, int device) = nullptr;       // cudaGetDeviceProperties[_v2]
  CudaError (*runtime_get_version)(int* version) = nullptr;                   // cudaRuntimeGetVersion
  CudaError (*driver_get_version)(int* version) = nullptr;                    // cudaDriverGetVersion
  CudaError (*mem_get_info)(std::size_t* free_bytes, std::size_t* total_bytes) = nullptr;  // cudaMemGetInfo
  CudaError (*device_malloc)(void** ptr, std::size_t bytes) = nullptr;        // cudaMalloc
  CudaError (*device_free)(void* ptr) = nullptr;                              // cudaFree
  CudaError (*memcpy_async)(void* dst, const void* src, std::size_t bytes, int kind,
                            CudaStream stream) = nullptr;                     // cudaMemcpyAsync
  CudaError (*memcpy_2d_async)(void* dst, std::size_t dpitch, const void* src, std::size_t spitch,
                               std::size_t width, std::size_t height, int kind,
                               CudaStream stream) = nullptr;                  // cudaMemcpy2DAsync
  CudaError (*stream_create)(CudaStream* stream) = nullptr;                   // cudaStreamCreate
  CudaError (*stream_synchronize)(CudaStream stream) = nullptr;               // cudaStreamSynchronize
  CudaError (*stream_destroy)(CudaStream stream) = nullptr;                   // cudaStreamDestroy
  CudaError (*get_last_error)() = nullptr;                                    // cudaGetLastError
  const char* (*get_error_string)(CudaError error) = nullptr;                 // cudaGetErrorString

  // libcublas
  CublasStatus (*cublas_create)(CublasHandle* handle) = nullptr;              // cublasCreate_v2
  CublasStatus (*cublas_destroy)(CublasHandle handle) = nullptr;              // cublasDestroy_v2
  CublasStatus (*cublas_set_stream)(CublasHandle handle, CudaStream stream) = nullptr;  // cublasSetStream_v2
  CublasStatus (*cublas_sgemm)(CublasHandle handle, int transa, int transb, int m, int n, int k,
                               const float* alpha, const float* a, int lda, const float* b, int ldb,
                               const float* beta, float* c, int ldc) = nullptr;  // cublasSgemm_v2
  const char* (*cublas_get_status_string)(CublasStatus status) = nullptr;     // optional (CUDA >= 11.4)
};

// Owns a dlopen handle; dlclose on destruction.
struct DlCloser {
  void operator()(void* handle) const noexcept;
};
using LibraryHandle = std::unique_ptr<void, DlCloser>;

// The loaded libraries and their entry points. Loading is split in two steps so that the probe can
// report "no device" (the common case on GPU-less machines) before complaining about cuBLAS.
class CudaLibraries {
 public:
  CudaLibraries() = default;
  CudaLibraries(const CudaLibraries&) = delete;
  CudaLibraries& operator=(const CudaLibraries&) = delete;

  // Opens libcudart and resolves its symbols. On failure returns false and sets `reason`.
  bool load_runtime(std::string& reason);
  // Opens libcublas (preferring the runtime's major version) and resolves its symbols.
  bool load_cublas(std::string& reason);

  const CudaApi& api() const noexcept { return api_; }
  const std::string& runtime_soname() const noexcept { return runtime_soname_; }
  const std::string& cublas_soname() const noexcept { return cublas_soname_; }

  // "out of memory (cuda error 2)"; never null, works before the runtime is loaded.
  std::string error_string(CudaError error) const;
  // "CUBLAS_STATUS_EXECUTION_FAILED (13)".
  std::string status_string(CublasStatus status) const;

 private:
  CudaApi api_;
  std::string runtime_soname_;
  std::string cublas_soname_;
  // cublas_ is declared after cudart_ so it is closed first: it depends on the runtime.
  LibraryHandle cudart_;
  LibraryHandle cublas_;
};

}  // namespace kindred::backend::cuda
