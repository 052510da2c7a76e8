// The pairwise distances of the Ward linkage (see ward_distances.h). This file is built apart from
// ward_linkage.cc, without -ffp-contract=off: the accumulation t·t + acc may use fused multiply-adds
// where the CPU has them (the x86-64-v3 clone), which halves the additions the distance pass issues.
// Only the distances change by that (in the last bit, and never for integer coordinates, whose
// every step is exact); the Ward update, which must round as SciPy's, stays in ward_linkage.cc.
#include "ward_distances.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "euclidean.h"

namespace kindred::clustering::detail {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

typedef double V4d __attribute__((vector_size(32)));
typedef std::int64_t V4q __attribute__((vector_size(32)));
// An unaligned, aliasing view of four doubles (loads through it are plain vector loads).
typedef double V4du __attribute__((vector_size(32), aligned(8), may_alias));

#define KINDRED_ALWAYS_INLINE inline __attribute__((always_inline))
#define KINDRED_LOAD4(p) (*reinterpret_cast<const V4du*>(p))

// Lane j of `out`: (xj[0] + xj[1]) + (xj[2] + xj[3]). Vectors go by reference: no vector crosses
// a call boundary, whatever the clone's instruction set.
#if defined(__clang__)
#define KINDRED_SHUFFLE(x, y, i0, i1, i2, i3) __builtin_shufflevector(x, y, i0, i1, i2, i3)
#else
#define KINDRED_SHUFFLE(x, y, i0, i1, i2, i3) __builtin_shuffle(x, y, V4q{i0, i1, i2, i3})
#endif
KINDRED_ALWAYS_INLINE void reduce4(const V4d& x0, const V4d& x1, const V4d& x2, const V4d& x3, V4d& out) {
  const V4d s01 = KINDRED_SHUFFLE(x0, x1, 0, 4, 2, 6) + KINDRED_SHUFFLE(x0, x1, 1, 5, 3, 7);
  const V4d s23 = KINDRED_SHUFFLE(x2, x3, 0, 4, 2, 6) + KINDRED_SHUFFLE(x2, x3, 1, 5, 3, 7);
  out = KINDRED_SHUFFLE(s01, s23, 0, 1, 4, 5) + KINDRED_SHUFFLE(s01, s23, 2, 3, 6, 7);
}

// Squared distances from row a to the four rows b0..b3, each summed as detail::squared_distance
// sums it: per pair the same eight partial sums (lanes 0-3 of lj and 4-7 of hj), accumulated in
// the same order, reduced by the same tree ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) —
// here four pairs at once, one per lane, after a transpose — then the same scalar tail. Four pairs
// at once keep eight independent accumulator chains in flight instead of two, and share the loads
// of a.
KINDRED_ALWAYS_INLINE void squared_distance_x4(const double* a, const double* b0, const double* b1, const double* b2,
                                              const double* b3, std::size_t dim, double* out) {
  V4d l0 = {}, l1 = {}, l2 = {}, l3 = {}, h0 = {}, h1 = {}, h2 = {}, h3 = {};
  std::size_t k = 0;
  for (; k + 8 <= dim; k += 8) {
    const V4d alo = KINDRED_LOAD4(a + k), ahi = KINDRED_LOAD4(a + k + 4);
    V4d t;
    t = alo - KINDRED_LOAD4(b0 + k), l0 += t * t;
    t = ahi - KINDRED_LOAD4(b0 + k + 4), h0 += t * t;
    t = alo - KINDRED_LOAD4(b1 + k), l1 += t * t;
    t = ahi - KINDRED_LOAD4(b1 + k + 4), h1 += t * t;
    t = alo - KINDRED_LOAD4(b2 + k), l2 += t * t;
    t = ahi - KINDRED_LOAD4(b2 + k + 4), h2 += t * t;
    t = alo - KINDRED_LOAD4(b3 + k), l3 += t * t;
    t = ahi - KINDRED_LOAD4(b3 + k + 4), h3 += t * t;
  }
  V4d lsum, hsum;
  reduce4(l0, l1, l2, l3, lsum);
  reduce4(h0, h1, h2, h3, hsum);
  const V4d sum = lsum + hsum;
  if (k == dim) {  // dim a multiple of 8, the usual case: no tail
    __builtin_memcpy(out, &sum, sizeof sum);
    return;
  }
  const double* b[4] = {b0, b1, b2, b3};
  for (int j = 0; j < 4; ++j) {
    double s = sum[j];
    for (std::size_t r = k; r < dim; ++r) {
      const double t = a[r] - b[j][r];
      s += t * t;
    }
    out[j] = s;
  }
}

}  // namespace

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void distance_tile(const double* points, std::size_t n, std::size_t dim, std::size_t ti, std::size_t tj, double* d) {
  const std::size_t i0 = ti * kTile, i1 = std::min(n, i0 + kTile);
  const std::size_t j0 = tj * kTile, j1 = std::min(n, j0 + kTile);
  // Columns in blocks of about 16 KB of points, so that the block stays in L1 while every row of
  // the tile is measured against it (from L2, each pair would wait for its 8·dim bytes).
  const std::size_t block = std::max<std::size_t>(4, (std::size_t{16384} / (8 * dim)) & ~std::size_t{3});
  for (std::size_t jb = j0; jb < j1; jb += block) {
    const std::size_t jb_end = std::min(j1, jb + block);
    for (std::size_t i = i0; i < i1; ++i) {
      const double* a = points + i * dim;
      double* row = d + i * n;
      const std::size_t jend = ti == tj ? std::min(i, jb_end) : jb_end;
      std::size_t j = jb;
      for (; j + 4 <= jend; j += 4) {
        const double* b = points + j * dim;
        squared_distance_x4(a, b, b + dim, b + 2 * dim, b + 3 * dim, dim, row + j);
      }
      for (; j < jend; ++j) row[j] = detail::squared_distance(a, points + j * dim, dim);
    }
  }
  for (std::size_t i = i0; i < i1; ++i) {
    double* row = d + i * n;
    const std::size_t jend = ti == tj ? i : j1;
    // A separate pass so that the square roots vectorize (sums of squares are never negative, and
    // the file is built with -fno-math-errno).
    for (std::size_t j = j0; j < jend; ++j) row[j] = std::sqrt(row[j]);
    for (std::size_t j = j0; j < jend; ++j) d[j * n + i] = row[j];
    if (ti == tj) row[i] = kInfinity;
  }
}

}  // namespace kindred::clustering::detail
