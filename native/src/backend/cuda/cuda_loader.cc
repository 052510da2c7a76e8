#include "cuda_loader.h"

#include <dlfcn.h>

#include <cstring>
#include <string>
#include <vector>

namespace kindred::backend::cuda {

namespace {

// Sonames in preference order; the unversioned name is a last resort (usually a -dev symlink).
const std::vector<std::string> kCudartNames = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
const std::vector<std::string> kCublasNames = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};

// "libcudart.so.13/.12/libcudart.so": short enough for a reason string, still unambiguous.
std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  std::string first_base;
  for (const std::string& name : names) {
    if (out.empty()) {
      out = name;
      const std::size_t so = name.find(".so");
      first_base = so == std::string::npos ? name : name.substr(0, so + 3);
      continue;
    }
    out += '/';
    const bool same_base = name.size() > first_base.size() && name.compare(0, first_base.size(), first_base) == 0;
    out += same_base ? name.substr(first_base.size()) : name;
  }
  return out;
}

// Tries each name in turn. On failure `reason` says which names were tried and why the most
// telling one failed: a library that exists but cannot load (missing dependency, wrong arch) says
// more than "No such file", so that error wins.
LibraryHandle open_first(const std::vector<std::string>& names, std::string& opened, std::string& reason) {
  std::string first_error;
  std::string telling_error;
  for (const std::string& name : names) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      opened = name;
      return LibraryHandle(handle);
    }
    const char* err = dlerror();
    const std::string text = err != nullptr ? err : "unknown dlopen error";
    if (first_error.empty()) first_error = text;
    if (telling_error.empty() && text.find("No such file") == std::string::npos) telling_error = text;
  }
  reason = join_names(names) + " not found (" + (telling_error.empty() ? first_error : telling_error) + ")";
  return nullptr;
}

// Resolves `name` into `out`; records it in `missing` when absent.
template <typename Fn>
void resolve(void* library, const char* name, Fn& out, std::vector<std::string>& missing) {
  dlerror();  // clear any stale error so a null result is attributed correctly
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) {
    missing.emplace_back(name);
    return;
  }
  // POSIX guarantees object and function pointers share a representation for dlsym's sake.
  out = reinterpret_cast<Fn>(symbol);
}

template <typename Fn>
void resolve_optional(void* library, const char* name, Fn& out) {
  std::vector<std::string> ignored;
  resolve(library, name, out, ignored);
}

std::string missing_reason(const std::string& soname, const std::vector<std::string>& missing) {
  std::string out = soname + " lacks symbol";
  if (missing.size() > 1) out += 's';
  out += ' ';
  for (std::size_t i = 0; i < missing.size(); ++i) {
    if (i > 0) out += ", ";
    out += missing[i];
  }
  return out;
}

}  // namespace

void DlCloser::operator()(void* handle) const noexcept {
  if (handle != nullptr) dlclose(handle);
}

bool CudaLibraries::load_runtime(std::string& reason) {
  if (cudart_) return true;
  std::string soname;
  LibraryHandle lib = open_first(kCudartNames, soname, reason);
  if (!lib) return false;

  CudaApi api;
  std::vector<std::string> missing;
  void* h = lib.get();
  resolve(h, "cudaGetDeviceCount", api.get_device_count, missing);
  resolve(h, "cudaSetDevice", api.set_device, missing);
  resolve(h, "cudaRuntimeGetVersion", api.runtime_get_version, missing);
  resolve(h, "cudaDriverGetVersion", api.driver_get_version, missing);
  resolve(h, "cudaMemGetInfo", api.mem_get_info, missing);
  resolve(h, "cudaMalloc", api.device_malloc, missing);
  resolve(h, "cudaFree", api.device_free, missing);
  resolve(h, "cudaMemcpyAsync", api.memcpy_async, missing);
  resolve(h, "cudaMemcpy2DAsync", api.memcpy_2d_async, missing);
  resolve(h, "cudaStreamCreate", api.stream_create, missing);
  resolve(h, "cudaStreamSynchronize", api.stream_synchronize, missing);
  resolve(h, "cudaStreamDestroy", api.stream_destroy, missing);
  resolve(h, "cudaGetLastError", api.get_last_error, missing);
  resolve(h, "cudaGetErrorString", api.get_error_string, missing);
  // CUDA 12 added the _v2 entry point (the header maps the plain name onto it); CUDA 11 has only
  // the plain one. Both fill a cudaDeviceProp whose first field is the name.
  resolve_optional(h, "cudaGetDeviceProperties_v2", api.get_device_properties);
  if (api.get_device_properties == nullptr) {
    resolve(h, "cudaGetDeviceProperties", api.get_device_properties, missing);
  }
  if (!missing.empty()) {
    reason = missing_reason(soname, missing);
    return false;
  }

  // Keep any cuBLAS pointers already present (none in practice: load_cublas needs the runtime).
  api.cublas_create = api_.cublas_create;
  api.cublas_destroy = api_.cublas_destroy;
  api.cublas_set_stream = api_.cublas_set_stream;
  api.cublas_sgemm = api_.cublas_sgemm;
  api.cublas_get_status_string = api_.cublas_get_status_string;
  api_ = api;
  runtime_soname_ = soname;
  cudart_ = std::move(lib);
  return true;
}

bool CudaLibraries::load_cublas(std::string& reason) {
  if (cublas_) return true;
  if (!cudart_) {
    reason = "libcublas not loaded: the CUDA runtime is not loaded";
    return false;
  }

  // Prefer the cuBLAS whose major version matches the runtime we loaded: a mismatched pair would
  // put two CUDA runtimes into the process.
  std::vector<std::string> names;
  int runtime_version = 0;
  if (api_.runtime_get_version(&runtime_version) == kCudaSuccess && runtime_version >= 1000) {
    names.push_back("libcublas.so." + std::to_string(runtime_version / 1000));
  }
  for (const std::string& name : kCublasNames) {
    bool seen = false;
    for (const std::string& have : names) seen = seen || have == name;
    if (!seen) names.push_back(name);
  }

  std::string soname;
  LibraryHandle lib = open_first(names, soname, reason);
  if (!lib) return false;

  CudaApi api = api_;
  std::vector<std::string> missing;
  void* h = lib.get();
  resolve(h, "cublasCreate_v2", api.cublas_create, missing);
  resolve(h, "cublasDestroy_v2", api.cublas_destroy, missing);
  resolve(h, "cublasSetStream_v2", api.cublas_set_stream, missing);
  resolve(h, "cublasSgemm_v2", api.cublas_sgemm, missing);
  resolve_optional(h, "cublasGetStatusString", api.cublas_get_status_string);
  if (!missing.empty()) {
    reason = missing_reason(soname, missing);
    return false;
  }
  api_ = api;
  cublas_soname_ = soname;
  cublas_ = std::move(lib);
  return true;
}

std::string CudaLibraries::error_string(CudaError error) const {
  const char* text = api_.get_error_string != nullptr ? api_.get_error_string(error) : nullptr;
  return text != nullptr ? std::string(text) : "unknown CUDA error";
}

std::string CudaLibraries::status_string(CublasStatus status) const {
  const char* name = nullptr;
  switch (status) {
    case 0: name = "CUBLAS_STATUS_SUCCESS"; break;
    case 1: name = "CUBLAS_STATUS_NOT_INITIALIZED"; break;
    case 3: name = "CUBLAS_STATUS_ALLOC_FAILED"; break;
    case 7: name = "CUBLAS_STATUS_INVALID_VALUE"; break;
    case 8: name = "CUBLAS_STATUS_ARCH_MISMATCH"; break;
    case 11: name = "CUBLAS_STATUS_MAPPING_ERROR"; break;
    case 13: name = "CUBLAS_STATUS_EXECUTION_FAILED"; break;
    case 14: name = "CUBLAS_STATUS_INTERNAL_ERROR"; break;
    case 15: name = "CUBLAS_STATUS_NOT_SUPPORTED"; break;
    case 16: name = "CUBLAS_STATUS_LICENSE_ERROR"; break;
    default: break;
  }
  std::string out = name != nullptr ? name : "cuBLAS status";
  out += " (" + std::to_string(status) + ")";
  if (api_.cublas_get_status_string != nullptr) {
    const char* text = api_.cublas_get_status_string(status);
    if (text != nullptr && std::strlen(text) > 0 && (name == nullptr || std::strcmp(text, name) != 0)) {
      out += ": ";
      out += text;
    }
  }
  return out;
}

}  // namespace kindred::backend::cuda
