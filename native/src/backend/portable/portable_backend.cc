#include "portable/portable_backend.h"

// Vec8 is an AVX-sized vector; GCC warns that passing it by value changes the ABI without AVX.
// It never crosses a non-inlined call, so the warning does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"

namespace kindred::backend::portable {
namespace {

// Micro-tile: kRows rows of a against kPanel rows of b. b is packed so that each k step reads
// kPanel contiguous floats; every accumulator is independent, so the compiler vectorizes the j loop
// without reassociating sums (no -ffast-math, results stay reproducible).
constexpr std::size_t kRows = 4;
constexpr std::size_t kPanel = 16;
// Rows of c one task computes: large enough to amortize, small enough to balance two cores.
constexpr std::size_t kRowsPerTask = 64;

// b (cols×dim) → panels of kPanel columns, k-major, zero padded: packed[p][k][j] = b[p*kPanel+j][k].
void pack_b(ConstMatrix b, float* packed) {
  const std::size_t dim = b.cols;
  const std::size_t panels = (b.rows + kPanel - 1) / kPanel;
  for (std::size_t p = 0; p < panels; ++p) {
    float* out = packed + p * dim * kPanel;
    const std::size_t valid = std::min(kPanel, b.rows - p * kPanel);
    for (std::size_t j = 0; j < kPanel; ++j) {
      if (j < valid) {
        const float* src = b.row(p * kPanel + j);
        for (std::size_t k = 0; k < dim; ++k) out[k * kPanel + j] = src[k];
      } else {
        for (std::size_t k = 0; k < dim; ++k) out[k * kPanel + j] = 0.0f;
      }
    }
  }
}

// Eight floats as one GCC/Clang vector: an AVX register in the x86-64-v3 clone, two SSE registers
// otherwise. Written with vector types because compilers keep a 2-D accumulator array in memory.
typedef float Vec8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline Vec8 load8(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <std::size_t R>
__attribute__((always_inline)) inline void micro_tile(const float* a, std::size_t lda, const float* panel, std::size_t dim, float* c,
                       std::size_t ldc, std::size_t valid_cols) {
  static_assert(kPanel == 16, "micro_tile holds a panel in two Vec8");
  Vec8 lo[R], hi[R];
  for (std::size_t r = 0; r < R; ++r) lo[r] = hi[r] = Vec8{};
  for (std::size_t k = 0; k < dim; ++k) {
    const Vec8 b_lo = load8(panel + k * kPanel), b_hi = load8(panel + k * kPanel + 8);
    for (std::size_t r = 0; r < R; ++r) {
      const float av = a[r * lda + k];
      lo[r] += av * b_lo;
      hi[r] += av * b_hi;
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float out[kPanel];
    std::memcpy(out, &lo[r], sizeof lo[r]);
    std::memcpy(out + 8, &hi[r], sizeof hi[r]);
    std::memcpy(c + r * ldc, out, valid_cols * sizeof(float));
  }
}

// One task: rows [row0, row0 + count) of c. Compiled for AVX2+FMA and for baseline x86-64; the
// loader picks at run time, so one binary serves old and new CPUs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void compute_rows(ConstMatrix a, const float* packed, std::size_t cols, MutableMatrix c,
                  std::size_t row0, std::size_t count) {
  const std::size_t dim = a.cols;
  const std::size_t panels = (cols + kPanel - 1) / kPanel;
  for (std::size_t p = 0; p < panels; ++p) {
    const float* panel = packed + p * dim * kPanel;
    const std::size_t col0 = p * kPanel;
    const std::size_t valid = std::min(kPanel, cols - col0);
    std::size_t r = 0;
    for (; r + kRows <= count; r += kRows) {
      micro_tile<kRows>(a.row(row0 + r), a.stride, panel, dim, c.row(row0 + r) + col0, c.stride, valid);
    }
    for (; r < count; ++r) {
      micro_tile<1>(a.row(row0 + r), a.stride, panel, dim, c.row(row0 + r) + col0, c.stride, valid);
    }
  }
}

class PortableBackend final : public Backend {
 public:
  PortableBackend() {
    info_.name = "portable";
    info_.kind = Kind::kCpu;
    info_.available = true;
    info_.threads = default_thread_count();
    info_.device = "portable C++ kernel (no BLAS)";
  }

  const BackendInfo& info() const noexcept override { return info_; }

  void gemm_abt(ConstMatrix a, ConstMatrix b, MutableMatrix c, const CancelToken& cancel, int max_threads = 0) override {
    const std::size_t rows = a.rows, cols = b.rows, dim = a.cols;
    if (rows == 0 || cols == 0) return;
    if (dim == 0) {
      for (std::size_t i = 0; i < rows; ++i) std::fill_n(c.row(i), cols, 0.0f);
      return;
    }
    const std::size_t panels = (cols + kPanel - 1) / kPanel;
    const std::size_t packed_size = mul_or_throw(mul_or_throw(panels, kPanel, "packed b"), dim, "packed b");
    std::vector<float> packed(packed_size);
    pack_b(b, packed.data());

    const std::size_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
    const int threads = max_threads > 0 ? std::min(max_threads, info_.threads) : info_.threads;
    parallel_for(tasks, threads, [&](std::size_t task) {
      cancel.throw_if_cancelled();
      const std::size_t row0 = task * kRowsPerTask;
      compute_rows(a, packed.data(), cols, c, row0, std::min(kRowsPerTask, rows - row0));
    });
    cancel.throw_if_cancelled();
  }

 private:
  BackendInfo info_;
};

}  // namespace

std::unique_ptr<Backend> create() { return std::make_unique<PortableBackend>(); }

}  // namespace kindred::backend::portable
