#include "cuda_backend.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cuda_loader.h"
#include "kindred/core/check.h"
#include "kindred/core/error.h"

namespace kindred::backend::cuda {

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
// Upper bound on one chunk of a or c on the device, so memory stays bounded for any shape.
constexpr std::size_t kChunkBytesCap = 256 * kMiB;
// Left free for cuBLAS's workspace and other users of the GPU when sizing chunks.
constexpr std::size_t kFreeHeadroom = 256 * kMiB;
// cudaDeviceProp is about 1 KiB and grows between CUDA versions; we only read its first field,
// `char name[256]`, so a zeroed buffer far larger than any known layout is enough and avoids
// declaring the whole struct.
constexpr std::size_t kDevicePropBufferBytes = 16 * 1024;

void check_cuda(const CudaLibraries& libs, CudaError err, const char* call) {
  if (err != kCudaSuccess) {
    KINDRED_THROW(Code::kDeviceError, call, " failed: ", libs.error_string(err), " (cuda error ", err, ")");
  }
}

void check_cublas(const CudaLibraries& libs, CublasStatus status, const char* call) {
  if (status != kCublasStatusSuccess) {
    KINDRED_THROW(Code::kDeviceError, call, " failed: ", libs.status_string(status));
  }
}

std::string format_version(int version) {
  // CUDA encodes versions as 1000 * major + 10 * minor.
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

// Owns one cudaMalloc allocation; freed on every path, including unwinding.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const CudaLibraries& libs, std::size_t bytes, const char* what) : libs_(&libs) {
    if (bytes == 0) return;
    void* ptr = nullptr;
    const CudaError err = libs.api().device_malloc(&ptr, bytes);
    if (err != kCudaSuccess) {
      // Clear the (non-sticky) error so it is not reported later by an unrelated launch check.
      libs.api().get_last_error();
      KINDRED_THROW(Code::kOutOfMemory, "cudaMalloc(", what, ", ", bytes, " bytes) failed: ",
                    libs.error_string(err), " (cuda error ", err, ")");
    }
    ptr_ = static_cast<float*>(ptr);
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept : libs_(other.libs_), ptr_(std::exchange(other.ptr_, nullptr)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      libs_ = other.libs_;
      ptr_ = std::exchange(other.ptr_, nullptr);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }

  float* get() const noexcept { return ptr_; }

 private:
  void reset() noexcept {
    if (ptr_ != nullptr) libs_->api().device_free(ptr_);
    ptr_ = nullptr;
  }

  const CudaLibraries* libs_ = nullptr;
  float* ptr_ = nullptr;
};

// Waits for the streams on scope exit so no queued copy or kernel still touches a device buffer
// (or the caller's c) after an exception unwinds. Declared after the buffers it protects.
class StreamDrain {
 public:
  StreamDrain(const CudaApi& api, CudaStream s0, CudaStream s1) : api_(api), streams_{s0, s1} {}
  StreamDrain(const StreamDrain&) = delete;
  StreamDrain& operator=(const StreamDrain&) = delete;
  ~StreamDrain() {
    for (CudaStream s : streams_) api_.stream_synchronize(s);  // errors were or will be reported elsewhere
  }

 private:
  const CudaApi& api_;
  CudaStream streams_[2];
};

// Copies rows of a host matrix into a packed (stride == cols) device buffer.
void upload_rows(const CudaLibraries& libs, float* dst, ConstMatrix src, CudaStream stream) {
  const std::size_t width = src.cols * sizeof(float);
  if (src.stride == src.cols || src.rows == 1) {
    // Contiguous: one plain copy. Never reads past the last row's cols, which may be all there is.
    check_cuda(libs, libs.api().memcpy_async(dst, src.data, src.rows * width, kCudaMemcpyHostToDevice, stream),
               "cudaMemcpyAsync(host to device)");
  } else {
    check_cuda(libs,
               libs.api().memcpy_2d_async(dst, width, src.data, src.stride * sizeof(float), width, src.rows,
                                          kCudaMemcpyHostToDevice, stream),
               "cudaMemcpy2DAsync(host to device)");
  }
}

// Copies a packed device buffer into rows of a host matrix, keeping the host stride's padding untouched.
void download_rows(const CudaLibraries& libs, MutableMatrix dst, const float* src, CudaStream stream) {
  const std::size_t width = dst.cols * sizeof(float);
  if (dst.stride == dst.cols || dst.rows == 1) {
    check_cuda(libs, libs.api().memcpy_async(dst.data, src, dst.rows * width, kCudaMemcpyDeviceToHost, stream),
               "cudaMemcpyAsync(device to host)");
  } else {
    check_cuda(libs,
               libs.api().memcpy_2d_async(dst.data, dst.stride * sizeof(float), src, width, width, dst.rows,
                                          kCudaMemcpyDeviceToHost, stream),
               "cudaMemcpy2DAsync(device to host)");
  }
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(std::unique_ptr<CudaLibraries> libs, BackendInfo info) : libs_(std::move(libs)), info_(std::move(info)) {}

  ~CudaBackend() override {
    // Errors are ignored: at process exit the runtime may already be unloading.
    const CudaApi& api = libs_->api();
    for (CudaStream& s : streams_) {
      if (s != nullptr) api.stream_destroy(s);
      s = nullptr;
    }
    if (handle_ != nullptr) api.cublas_destroy(handle_);
    handle_ = nullptr;
  }

  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  // Creates the cuBLAS handle and the two streams. Returns false with `reason` on failure.
  bool init(std::string& reason) {
    const CudaApi& api = libs_->api();
    const CublasStatus status = api.cublas_create(&handle_);
    if (status != kCublasStatusSuccess) {
      handle_ = nullptr;
      reason = "cublasCreate_v2 returned " + libs_->status_string(status);
      return false;
    }
    for (CudaStream& s : streams_) {
      const CudaError err = api.stream_create(&s);
      if (err != kCudaSuccess) {
        s = nullptr;
        reason = "cudaStreamCreate returned " + std::to_string(err) + " (" + libs_->error_string(err) + ")";
        return false;
      }
    }
    return true;
  }

  const BackendInfo& info() const noexcept override { return info_; }

  // max_threads is about CPU threads; the GPU call ignores it.
  void gemm_abt(ConstMatrix a, ConstMatrix b, MutableMatrix c, const CancelToken& cancel, int = 0) override {
    KINDRED_CHECK(a.cols == b.cols && c.rows == a.rows && c.cols == b.rows, "cuda gemm_abt: shapes a ", a.rows,
                  "x", a.cols, ", b ", b.rows, "x", b.cols, ", c ", c.rows, "x", c.cols, " do not match");
    const std::size_t rows = a.rows;
    const std::size_t cols = b.rows;
    const std::size_t dim = a.cols;
    if (rows == 0 || cols == 0) return;
    cancel.throw_if_cancelled();
    if (dim == 0) {
      // An empty dot product is 0; no need to wake the GPU.
      for (std::size_t i = 0; i < rows; ++i) std::fill(c.row(i), c.row(i) + cols, 0.0f);
      return;
    }
    // cublasSgemm_v2 takes int dimensions and leading dimensions.
    KINDRED_CHECK(cols <= static_cast<std::size_t>(INT_MAX) && dim <= static_cast<std::size_t>(INT_MAX),
                  "cuda gemm_abt: cols ", cols, " or dim ", dim, " exceeds cuBLAS's 32-bit limit");

    const std::size_t b_bytes = mul_or_throw(mul_or_throw(cols, dim, "b elements"), sizeof(float), "b bytes");
    const std::size_t row_a_bytes = mul_or_throw(dim, sizeof(float), "a row bytes");
    const std::size_t row_c_bytes = mul_or_throw(cols, sizeof(float), "c row bytes");
    const std::size_t row_bytes = mul_or_throw(row_a_bytes + row_c_bytes, 2, "chunk row bytes");  // two slots

    const CudaApi& api = libs_->api();
    const CudaLibraries& libs = *libs_;
    // One handle and two streams are shared by all callers; cuBLAS handles are not re-entrant
    // across threads that switch its stream, so calls take turns.
    std::lock_guard<std::mutex> lock(mutex_);
    // The current device is per host thread; make sure this worker thread targets device 0.
    check_cuda(libs, api.set_device(0), "cudaSetDevice(0)");

    DeviceBuffer d_b(libs, b_bytes, "b");
    {
      StreamDrain drain(api, streams_[0], streams_[1]);
      upload_rows(libs, d_b.get(), b, streams_[0]);
    }
    // Both streams read d_b; finishing its upload first is simpler than cross-stream events.
    check_cuda(libs, api.stream_synchronize(streams_[0]), "cudaStreamSynchronize");

    // Chunk rows so each slot's a and c chunks stay under the cap and both slots fit in free memory.
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    check_cuda(libs, api.mem_get_info(&free_bytes, &total_bytes), "cudaMemGetInfo");
    const std::size_t usable = free_bytes > kFreeHeadroom ? free_bytes - kFreeHeadroom : free_bytes / 2;
    std::size_t chunk_rows = rows;
    chunk_rows = std::min(chunk_rows, std::max<std::size_t>(1, kChunkBytesCap / row_c_bytes));
    chunk_rows = std::min(chunk_rows, std::max<std::size_t>(1, kChunkBytesCap / row_a_bytes));
    chunk_rows = std::min(chunk_rows, std::max<std::size_t>(1, usable / row_bytes));
    chunk_rows = std::min(chunk_rows, static_cast<std::size_t>(INT_MAX));
    const int slots = chunk_rows < rows ? 2 : 1;

    DeviceBuffer d_a[2];
    DeviceBuffer d_c[2];
    for (int s = 0; s < slots; ++s) {
      d_a[s] = DeviceBuffer(libs, chunk_rows * row_a_bytes, "a chunk");
      d_c[s] = DeviceBuffer(libs, chunk_rows * row_c_bytes, "c chunk");
    }
    StreamDrain drain(api, streams_[0], streams_[1]);  // destroyed before the buffers above

    // Slot s runs on stream s. The copy back of chunk i-1 is queued after the GEMM of chunk i, so
    // it overlaps that GEMM; a slot's buffers are only reused by work queued later on the same
    // stream, which CUDA runs in order.
    const float alpha = 1.0f;
    const float beta = 0.0f;
    bool have_pending = false;
    std::size_t pending_begin = 0;
    std::size_t pending_count = 0;
    int pending_slot = 0;
    int slot = 0;
    for (std::size_t begin = 0; begin < rows; begin += chunk_rows, slot = slots - 1 - slot) {
      cancel.throw_if_cancelled();
      const std::size_t count = std::min(chunk_rows, rows - begin);
      const CudaStream stream = streams_[slot];
      upload_rows(libs, d_a[slot].get(), a.row_block(begin, count), stream);
      check_cublas(libs, api.cublas_set_stream(handle_, stream), "cublasSetStream_v2");
      // Row-major c = a·bᵀ is column-major cᵀ = b·aᵀ. The packed device b (cols×dim row-major)
      // is column-major dim×cols, so op T gives cols×dim; the packed a chunk is column-major
      // dim×count, op N. The result, column-major cols×count with ldc = cols, is c's rows.
      check_cublas(libs,
                   api.cublas_sgemm(handle_, kCublasOpT, kCublasOpN, static_cast<int>(cols), static_cast<int>(count),
                                    static_cast<int>(dim), &alpha, d_b.get(), static_cast<int>(dim), d_a[slot].get(),
                                    static_cast<int>(dim), &beta, d_c[slot].get(), static_cast<int>(cols)),
                   "cublasSgemm_v2");
      if (have_pending) {
        download_rows(libs, c.row_block(pending_begin, pending_count), d_c[pending_slot].get(),
                      streams_[pending_slot]);
      }
      have_pending = true;
      pending_begin = begin;
      pending_count = count;
      pending_slot = slot;
    }
    if (have_pending) {
      download_rows(libs, c.row_block(pending_begin, pending_count), d_c[pending_slot].get(), streams_[pending_slot]);
    }
    // Copies into pageable memory may return early on some drivers; wait, and surface async errors.
    for (CudaStream s : streams_) check_cuda(libs, api.stream_synchronize(s), "cudaStreamSynchronize");
  }

 private:
  std::unique_ptr<CudaLibraries> libs_;  // first member: destroyed last, after the handle and streams
  BackendInfo info_;
  std::mutex mutex_;
  CublasHandle handle_ = nullptr;
  CudaStream streams_[2] = {nullptr, nullptr};
};

// A tiny GEMM with a known answer: catches a cuBLAS that loads but cannot run kernels on this GPU
// (e.g. an architecture it dropped) and checks the row-/column-major mapping.
bool self_test(Backend& backend, std::string& reason) {
  // a 2×3 with a padded stride, b 3×3, c 2×3.
  const float a_data[] = {1, 2, 3, -1, 4, 5, 6, -1};
  const float b_data[] = {1, 0, 0, 0, 1, 0, 1, 1, 1};
  float c_data[6] = {0, 0, 0, 0, 0, 0};
  const float expected[6] = {1, 2, 6, 4, 5, 15};
  CancelToken never;
  backend.gemm_abt(ConstMatrix(a_data, 2, 3, 4), ConstMatrix(b_data, 3, 3), MutableMatrix(c_data, 2, 3), never);
  for (int i = 0; i < 6; ++i) {
    if (c_data[i] != expected[i]) {
      reason = "self-test gave a wrong result: c[" + std::to_string(i) + "] = " + std::to_string(c_data[i]) +
               ", expected " + std::to_string(expected[i]);
      return false;
    }
  }
  return true;
}

std::unique_ptr<Backend> probe_or_throw(BackendInfo& info) {
  auto libs = std::make_unique<CudaLibraries>();
  if (!libs->load_runtime(info.reason)) return nullptr;
  const CudaApi& api = libs->api();

  int count = 0;
  const CudaError count_err = api.get_device_count(&count);
  if (count_err != kCudaSuccess) {
    info.reason = "0 devices: cudaGetDeviceCount returned " + std::to_string(count_err) + " (" +
                  libs->error_string(count_err) + ")";
    return nullptr;
  }
  if (count <= 0) {
    info.reason = "0 devices: cudaGetDeviceCount found no CUDA device";
    return nullptr;
  }

  const CudaError set_err = api.set_device(0);
  if (set_err != kCudaSuccess) {
    info.reason = "cudaSetDevice(0) returned " + std::to_string(set_err) + " (" + libs->error_string(set_err) + ")";
    return nullptr;
  }

  std::vector<std::uint64_t> prop(kDevicePropBufferBytes / sizeof(std::uint64_t), 0);  // 8-byte aligned
  const CudaError prop_err = api.get_device_properties(prop.data(), 0);
  if (prop_err != kCudaSuccess) {
    info.reason = "cudaGetDeviceProperties returned " + std::to_string(prop_err) + " (" +
                  libs->error_string(prop_err) + ")";
    return nullptr;
  }
  const char* name_field = reinterpret_cast<const char*>(prop.data());
  std::string name(name_field, strnlen(name_field, 256));
  if (name.empty()) name = "CUDA device 0";

  int runtime_version = 0;
  int driver_version = 0;
  api.runtime_get_version(&runtime_version);
  api.driver_get_version(&driver_version);

  if (!libs->load_cublas(info.reason)) return nullptr;

  BackendInfo ready = info;
  ready.available = true;
  ready.reason.clear();
  ready.device = name + " (CUDA runtime " + format_version(runtime_version) + ", driver " +
                 format_version(driver_version) + ")";
  ready.threads = 0;

  auto backend = std::make_unique<CudaBackend>(std::move(libs), ready);
  if (!backend->init(info.reason)) return nullptr;
  try {
    if (!self_test(*backend, info.reason)) return nullptr;
  } catch (const std::exception& e) {
    info.reason = std::string("self-test failed: ") + e.what();
    return nullptr;
  }
  info = ready;
  return backend;
}

}  // namespace

std::unique_ptr<Backend> probe(BackendInfo& info) {
  info.name = "cuda";
  info.kind = Kind::kGpu;
  info.available = false;
  info.reason.clear();
  info.device.clear();
  info.threads = 0;
  try {
    std::unique_ptr<Backend> backend = probe_or_throw(info);
    if (!backend && info.reason.empty()) info.reason = "CUDA probe failed for an unknown reason";
    return backend;
  } catch (const std::exception& e) {
    info.available = false;
    info.reason = std::string("CUDA probe failed: ") + e.what();
    return nullptr;
  }
}

}  // namespace kindred::backend::cuda
