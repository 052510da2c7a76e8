// The pairwise distances of the Ward linkage (see ward_distances.h), exact (a − b)² sums in float64.
//
// The kernel is an outer product, as in a GEMM micro-kernel: 4 rows × 8 points (one panel) at a
// time, eight vector accumulators that stay in registers for the whole of `dim`, so there is no
// horizontal reduction per pair. Per dimension it issues 8 subtractions and 8 multiply-adds. On
// cores with separate add and FMA pipes (AMD Zen) that is as fast as the ‖a‖² + ‖b‖² − 2a·b
// expansion, and elsewhere at most twice as slow, without the expansion's cancellation: no pair
// needs a second, exact pass, and near-duplicates keep their tiny distances to full precision.
//
// Each pair's sum runs over k = 0, 1, ..., dim−1 in order — SciPy's pdist order — one vector lane
// per pair, so every pair is summed by the same operations wherever it falls in a tile, whichever
// thread runs it, and d(i, j) == d(j, i) bit for bit ((a − b)² == (b − a)²). This file is built
// without -ffp-contract=off: in the x86-64-v3 clone each t·t + acc is one fused multiply-add (one
// rounding instead of SciPy's two), which for integer coordinates is still exact at every step, so
// exact ties stay exact; the default clone rounds as pdist does. The Ward update, which must round
// as SciPy's, stays in ward_linkage.cc.
#include "ward_distances.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace kindred::clustering::detail {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr std::size_t kRows = 4;  // rows per kernel call

typedef double V4d __attribute__((vector_size(32)));
// An unaligned, aliasing view of four doubles (loads and stores through it are plain vector ones).
typedef double V4du __attribute__((vector_size(32), aligned(8), may_alias));

#define KINDRED_ALWAYS_INLINE inline __attribute__((always_inline))

typedef std::int64_t V4q __attribute__((vector_size(32)));
#if defined(__clang__)
#define KINDRED_SHUFFLE(x, y, i0, i1, i2, i3) __builtin_shufflevector(x, y, i0, i1, i2, i3)
#else
#define KINDRED_SHUFFLE(x, y, i0, i1, i2, i3) __builtin_shuffle(x, y, V4q{i0, i1, i2, i3})
#endif

// The 4 × 8 distances of one kernel call: row r's points 0-3 in lo[r], 4-7 in hi[r].
struct Block {
  V4d lo[kRows], hi[kRows];
};

// Squared distances of the 4 rows a_r to the 8 points of one panel: Σ_k (panel[k][c] − a_r[k])².
KINDRED_ALWAYS_INLINE void squared_distances_4x8(const double* a0, const double* a1, const double* a2,
                                                 const double* a3, const double* panel, std::size_t dim,
                                                 Block& out) {
  V4d s00 = {}, s01 = {}, s10 = {}, s11 = {}, s20 = {}, s21 = {}, s30 = {}, s31 = {};
#pragma GCC unroll 2
  for (std::size_t k = 0; k < dim; ++k, panel += kPanel) {
    const V4d b0 = *reinterpret_cast<const V4du*>(panel), b1 = *reinterpret_cast<const V4du*>(panel + 4);
    V4d t;
    const double x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
    t = b0 - x0, s00 += t * t;
    t = b1 - x0, s01 += t * t;
    t = b0 - x1, s10 += t * t;
    t = b1 - x1, s11 += t * t;
    t = b0 - x2, s20 += t * t;
    t = b1 - x2, s21 += t * t;
    t = b0 - x3, s30 += t * t;
    t = b1 - x3, s31 += t * t;
  }
  out.lo[0] = s00, out.hi[0] = s01, out.lo[1] = s10, out.hi[1] = s11;
  out.lo[2] = s20, out.hi[2] = s21, out.lo[3] = s30, out.hi[3] = s31;
}

// Lane-wise square roots (sqrtpd rounds as sqrt does; sums of squares are never negative).
KINDRED_ALWAYS_INLINE void sqrt4(V4d& v) {
  for (int l = 0; l < 4; ++l) v[l] = __builtin_sqrt(v[l]);
}

// Stores the four columns of the 4 × 4 block (rows r0..r3) as rows: out + c·n gets column c.
KINDRED_ALWAYS_INLINE void store_transposed(const V4d& r0, const V4d& r1, const V4d& r2, const V4d& r3, double* out,
                                            std::size_t n) {
  const V4d t0 = KINDRED_SHUFFLE(r0, r1, 0, 4, 2, 6), t1 = KINDRED_SHUFFLE(r0, r1, 1, 5, 3, 7);
  const V4d t2 = KINDRED_SHUFFLE(r2, r3, 0, 4, 2, 6), t3 = KINDRED_SHUFFLE(r2, r3, 1, 5, 3, 7);
  *reinterpret_cast<V4du*>(out) = KINDRED_SHUFFLE(t0, t2, 0, 1, 4, 5);
  *reinterpret_cast<V4du*>(out + n) = KINDRED_SHUFFLE(t1, t3, 0, 1, 4, 5);
  *reinterpret_cast<V4du*>(out + 2 * n) = KINDRED_SHUFFLE(t0, t2, 2, 3, 6, 7);
  *reinterpret_cast<V4du*>(out + 3 * n) = KINDRED_SHUFFLE(t1, t3, 2, 3, 6, 7);
}

}  // namespace

void pack_panels(const double* points, std::size_t n, std::size_t dim, double* panels) noexcept {
  const std::size_t count = (n + kPanel - 1) / kPanel;
  for (std::size_t p = 0; p < count; ++p) {
    double* out = panels + p * kPanel * dim;
    for (std::size_t l = 0; l < kPanel; ++l) {
      const std::size_t j = p * kPanel + l;
      if (j < n) {
        for (std::size_t k = 0; k < dim; ++k) out[k * kPanel + l] = points[j * dim + k];
      } else {
        for (std::size_t k = 0; k < dim; ++k) out[k * kPanel + l] = 0.0;
      }
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void distance_tile(const double* points, const double* panels, std::size_t n, std::size_t dim, std::size_t ti,
                   std::size_t tj, double* d) noexcept {
  const std::size_t i0 = ti * kTile, i1 = std::min(n, i0 + kTile);
  const std::size_t j0 = tj * kTile, j1 = std::min(n, j0 + kTile);  // j0 is a multiple of kPanel
  const bool diagonal = ti == tj;
  Block block;
  for (std::size_t jp = j0; jp < j1; jp += kPanel) {
    const double* panel = panels + jp * dim;
    const std::size_t jp_end = std::min(j1, jp + kPanel);
    // On a diagonal tile only pairs j < i are measured: row groups from the panel's start.
    for (std::size_t i = diagonal ? std::max(i0, jp) : i0; i < i1; i += kRows) {
      // Rows past the tile's end repeat its last row; their sums are computed and dropped.
      const double* a[kRows];
      for (std::size_t r = 0; r < kRows; ++r) a[r] = points + std::min(i + r, i1 - 1) * dim;
      squared_distances_4x8(a[0], a[1], a[2], a[3], panel, dim, block);
      for (std::size_t r = 0; r < kRows; ++r) sqrt4(block.lo[r]), sqrt4(block.hi[r]);
      if (i + kRows <= i1 && jp + kPanel <= jp_end && jp + kPanel <= i) {
        // A whole block below the diagonal: its rows and, transposed, its mirror in vector stores.
        for (std::size_t r = 0; r < kRows; ++r) {
          *reinterpret_cast<V4du*>(d + (i + r) * n + jp) = block.lo[r];
          *reinterpret_cast<V4du*>(d + (i + r) * n + jp + 4) = block.hi[r];
        }
        store_transposed(block.lo[0], block.lo[1], block.lo[2], block.lo[3], d + jp * n + i, n);
        store_transposed(block.hi[0], block.hi[1], block.hi[2], block.hi[3], d + (jp + 4) * n + i, n);
        continue;
      }
      const std::size_t rows = std::min(kRows, i1 - i);
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t row = i + r;
        const std::size_t end = diagonal ? std::min(jp_end, row) : jp_end;
        double* out = d + row * n;
        for (std::size_t j = jp; j < end; ++j) {
          const double v = j - jp < 4 ? block.lo[r][j - jp] : block.hi[r][j - jp - 4];
          out[j] = v;
          d[j * n + row] = v;
        }
      }
    }
  }
  if (diagonal) {
    for (std::size_t i = i0; i < i1; ++i) d[i * n + i] = kInfinity;
  }
}

}  // namespace kindred::clustering::detail
