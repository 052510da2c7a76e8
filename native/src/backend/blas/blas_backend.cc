#include "blas/blas_backend.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <cblas.h>  // types only: every function is resolved with dlsym

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"

#ifndef KINDRED_BLAS_BUILD_LIBRARY
#define KINDRED_BLAS_BUILD_LIBRARY ""
#endif

namespace kindred::backend::blas {
namespace {

// One cblas_sgemm cannot be interrupted, so the GEMM runs in chunks of about this many
// multiply-adds and the CancelToken is polled between them. 2^26 MACs is about a millisecond on one
// core: cancellation stays prompt and each chunk is still large enough for BLAS to run at full rate.
constexpr std::size_t kMacsPerChunk = std::size_t{1} << 26;
constexpr std::size_t kMinSliceOfChunk = 64;
constexpr std::size_t kMacsWorthAThread = std::size_t{1} << 21;

using SgemmFn = decltype(&cblas_sgemm);

struct DlCloser {
  void operator()(void* handle) const noexcept {
    if (handle) dlclose(handle);
  }
};
using LibraryHandle = std::unique_ptr<void, DlCloser>;

class BlasBackend final : public Backend {
 public:
  BlasBackend(LibraryHandle library, SgemmFn sgemm, std::string path) : library_(std::move(library)), sgemm_(sgemm) {
    info_.name = "blas";
    info_.kind = Kind::kCpu;
    info_.available = true;
    // OpenBLAS extensions: absent from other CBLAS builds, so each is optional.
    auto get_config = reinterpret_cast<char* (*)()>(dlsym(library_.get(), "openblas_get_config"));
    auto get_corename = reinterpret_cast<char* (*)()>(dlsym(library_.get(), "openblas_get_corename"));
    auto get_threads = reinterpret_cast<int (*)()>(dlsym(library_.get(), "openblas_get_num_threads"));
    auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(library_.get(), "openblas_set_num_threads"));
    if (get_config) {
      info_.device = get_config();
      if (get_corename) info_.device += std::string(" (") + get_corename() + ")";
    } else {
      info_.device = "CBLAS";
    }
    info_.device += " from " + path;
    // OpenBLAS's own worker threads keep spinning (sched_yield) for a while after every call, which
    // took a whole core from the passes that follow the GEMM (the matcher's ran up to 2x slower).
    // So OpenBLAS runs single-threaded and the GEMM is split across our own threads instead. Other
    // libraries keep their own threading.
    if (set_threads && get_threads) {
      set_threads(1);
      own_threads_ = true;
      info_.threads = default_thread_count();
    } else {
      info_.threads = get_threads ? get_threads() : 0;
    }
  }

  const BackendInfo& info() const noexcept override { return info_; }

  void gemm_abt(ConstMatrix a, ConstMatrix b, MutableMatrix c, const CancelToken& cancel, int max_threads = 0) override {
    const std::size_t rows = a.rows, cols = b.rows, dim = a.cols;
    if (rows == 0 || cols == 0) return;
    // CBLAS takes int dimensions: reject what does not fit rather than truncate.
    constexpr std::size_t kMaxInt = 0x7fffffff;
    KINDRED_CHECK(rows <= kMaxInt && cols <= kMaxInt && dim <= kMaxInt && a.stride <= kMaxInt &&
                      b.stride <= kMaxInt && c.stride <= kMaxInt,
                  "blas backend: every dimension must be below 2^31");
    // Chunks of rows of C, or of columns when C is short and wide (a few queries against many
    // items), so that every chunk has about kMacsPerChunk multiply-adds.
    const bool by_rows = rows >= cols;
    const std::size_t along = by_rows ? rows : cols;
    const std::size_t macs_per_slice = std::max<std::size_t>(1, mul_or_throw(by_rows ? cols : rows, dim, "gemm size"));
    int threads = own_threads_ ? default_thread_count() : 1;
    if (max_threads > 0) threads = std::min(threads, max_threads);
    std::size_t chunk = std::max(kMinSliceOfChunk, kMacsPerChunk / macs_per_slice);
    // A GEMM worth a thread start (~2^21 MACs) gets at least one chunk per thread.
    if (threads > 1 && along >= static_cast<std::size_t>(threads) && along >= kMacsWorthAThread / macs_per_slice) {
      chunk = std::min(chunk, (along + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads));
    }
    const std::size_t chunks = (along + chunk - 1) / chunk;
    auto run_chunk = [&](std::size_t index) {
      cancel.throw_if_cancelled();
      const std::size_t first = index * chunk, count = std::min(chunk, along - first);
      if (by_rows) {
        sgemm_(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(count), static_cast<int>(cols),
               static_cast<int>(dim), 1.0f, a.row(first), static_cast<int>(a.stride), b.data,
               static_cast<int>(b.stride), 0.0f, c.row(first), static_cast<int>(c.stride));
      } else {
        sgemm_(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(count),
               static_cast<int>(dim), 1.0f, a.data, static_cast<int>(a.stride), b.row(first),
               static_cast<int>(b.stride), 0.0f, c.data + first, static_cast<int>(c.stride));
      }
    };
    parallel_for(chunks, threads, run_chunk);
  }

 private:
  LibraryHandle library_;
  SgemmFn sgemm_;
  bool own_threads_ = false;  // OpenBLAS set to one thread: the GEMM is split across our threads
  BackendInfo info_;
};

}  // namespace

std::unique_ptr<Backend> probe(BackendInfo& info) {
  info.name = "blas";
  info.kind = Kind::kCpu;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("KINDRED_BLAS_LIBRARY"); env && *env) candidates.emplace_back(env);
  if (*KINDRED_BLAS_BUILD_LIBRARY) candidates.emplace_back(KINDRED_BLAS_BUILD_LIBRARY);
  for (const char* soname : {"libopenblas.so.0", "libblas.so.3", "libcblas.so.3", "libmkl_rt.so"}) {
    candidates.emplace_back(soname);
  }
  std::string tried;
  for (const auto& path : candidates) {
    LibraryHandle library(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (!library) {
      const char* err = dlerror();
      tried += "\n  " + path + ": " + (err ? err : "not found");
      continue;
    }
    auto sgemm = reinterpret_cast<SgemmFn>(dlsym(library.get(), "cblas_sgemm"));
    if (!sgemm) {
      tried += "\n  " + path + ": has no cblas_sgemm";
      continue;
    }
    return std::make_unique<BlasBackend>(std::move(library), sgemm, path);
  }
  info.available = false;
  info.reason = "no CBLAS library could be opened (install libopenblas0 or set KINDRED_BLAS_LIBRARY):" + tried;
  return nullptr;
}

}  // namespace kindred::backend::blas
