#include "kindred/matching/pair_weights.h"

// The x86-64-v3 clone works on AVX-sized vectors; GCC warns that passing them changes the ABI
// without AVX. They never cross a non-inlined call, so the warning does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <limits>
#include <mutex>
#include <sstream>
#include <vector>

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"

namespace kindred::matching {
namespace {

// Compiled for AVX2+FMA and for baseline x86-64; the loader picks at run time (as the portable
// GEMM kernel does). The sanitizer build defines KINDRED_NO_CLONES: its runtime cannot resolve ifuncs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
#define KINDRED_PW_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KINDRED_PW_CLONES
#endif

// Tiles are kTile × kTile; a task handles one tile and its mirror (two 16 KiB blocks at 64, both
// stay in L1 while their 8×8 blocks are paired up).
#ifndef KINDRED_PW_TILE
#define KINDRED_PW_TILE 64
#endif
constexpr std::size_t kTile = KINDRED_PW_TILE;
#ifndef KINDRED_PW_AHEAD
#define KINDRED_PW_AHEAD 2
#endif
constexpr std::size_t kAhead = KINDRED_PW_AHEAD;  // strips prefetched ahead
constexpr std::size_t kBlock = 8;  // the register block: one AVX vector of floats per row
static_assert(kTile % kBlock == 0, "tiles hold whole blocks");
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr std::uint32_t kNegInfBits = 0xff800000u;

// Eight floats (an AVX register in the x86-64-v3 clone, two SSE registers otherwise) and friends.
// GCC/Clang vector types rather than plain loops: the 8×8 transposes need explicit shuffles.
typedef float V8f __attribute__((vector_size(32)));
typedef std::uint32_t V8u __attribute__((vector_size(32)));
typedef std::int32_t V8i __attribute__((vector_size(32)));
typedef float V4f __attribute__((vector_size(16)));
typedef double V4d __attribute__((vector_size(32)));
typedef std::uint64_t V4q __attribute__((vector_size(32)));

#define KINDRED_PW_INLINE __attribute__((always_inline)) inline

template <typename V, typename T>
KINDRED_PW_INLINE V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename V, typename T>
KINDRED_PW_INLINE void store(T* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

// --- exp ----------------------------------------------------------------------------------------
// e^x = 2^k · e^r with k = round(x / ln 2), |r| <= ln(2)/2, done in double: the argument w·s + b is
// formed exactly enough (a float product is exact in double), r carries no cancellation error worth
// naming, the polynomial is within 2.6e-9 relative of e^r, and p · 2^k is rounded to float once — so
// overflow gives +inf and underflow correctly rounded subnormals, then 0, as the IEEE conversion
// does. Arithmetic, compares and bit moves only: no branch, no table lookup.
constexpr double kExpLo = -110.0;  // e^-110 < 2^-158: rounds to 0 in float
constexpr double kExpHi = 90.0;    // e^90 > FLT_MAX: rounds to +inf
constexpr double kLog2e = 1.4426950408889634074;
constexpr double kLn2 = 0.69314718055994530942;
constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 · 2^52: adding it rounds to an integer in the low bits
// Chebyshev fit of e^r on [-ln(2)/2, ln(2)/2], degree 6 (max relative error 2.6e-9 = 0.02 ulp of float).
constexpr double kP6 = 0.0013941108433972674, kP5 = 0.008375126398153335, kP4 = 0.04166635289677516,
                 kP3 = 0.16666415514653277, kP2 = 0.5000000047117757, kP1 = 1.000000037716214, kP0 = 1.0;

// x must already lie in about [kExpLo, kExpHi] (or be NaN): exp8 clamps the scores, not x.
KINDRED_PW_INLINE V4f exp4(V4d x) {
  const V4d t = x * kLog2e + kRoundMagic;
  const V4d k = t - kRoundMagic;
  const V4d r = x - k * kLn2;
  V4d p = r * kP6 + kP5;
  p = p * r + kP4;
  p = p * r + kP3;
  p = p * r + kP2;
  p = p * r + kP1;
  p = p * r + kP0;
  // The low bits of t hold k (two's complement); shifted into the exponent field they give 2^k.
  const V4d scale = reinterpret_cast<V4d>((reinterpret_cast<V4q>(t) + 1023u) << 52);
  return __builtin_convertvector(p * scale, V4f);
}

// The scores for which w·s + b stays within [kExpLo, kExpHi]: clamping s to them (in float, eight
// lanes at a time) keeps x in range for the exponent trick. Where a bound passes FLT_MAX it is
// FLT_MAX: |w| is then so small that w·FLT_MAX + b is still in range. NaN passes through.
struct ExpArgs {
  double w, b;
  float s_lo, s_hi;
};

ExpArgs exp_args(float w, float b) {
  ExpArgs a{w, b, -FLT_MAX, FLT_MAX};
  if (w != 0.0f) {
    double lo = (kExpLo - b) / w, hi = (kExpHi - b) / w;
    if (w < 0.0f) std::swap(lo, hi);
    a.s_lo = static_cast<float>(std::max(lo, -static_cast<double>(FLT_MAX)));
    a.s_hi = static_cast<float>(std::min(hi, static_cast<double>(FLT_MAX)));
  }
  return a;
}

// Halves of eight floats as doubles, and back. Written element by element: GCC 12 lowers a
// __builtin_convertvector of four floats to two narrow conversions, this to one vcvtps2pd; and
// gluing halves through memory would stall store forwarding.
KINDRED_PW_INLINE V4d lower_half(V8f v) {
  return V4d{static_cast<double>(v[0]), static_cast<double>(v[1]), static_cast<double>(v[2]), static_cast<double>(v[3])};
}

KINDRED_PW_INLINE V4d upper_half(V8f v) {
  return V4d{static_cast<double>(v[4]), static_cast<double>(v[5]), static_cast<double>(v[6]), static_cast<double>(v[7])};
}

KINDRED_PW_INLINE V8f concat(V4f lo, V4f hi) { return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7); }

// exp(w·s + b) for eight scores.
KINDRED_PW_INLINE V8f exp8(V8f s, const ExpArgs& e) {
  s = s < e.s_lo ? V8f{} + e.s_lo : s;  // NaN fails both compares and stays NaN
  s = s > e.s_hi ? V8f{} + e.s_hi : s;
  return concat(exp4(lower_half(s) * e.w + e.b), exp4(upper_half(s) * e.w + e.b));
}

// --- 8×8 transpose (unpack, shuffle, swap 128-bit halves: 24 shuffles for 64 floats) -------------
KINDRED_PW_INLINE void transpose8(V8f m[8]) {
  const V8i lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
  const V8f t0 = __builtin_shuffle(m[0], m[1], lo), t1 = __builtin_shuffle(m[0], m[1], hi);
  const V8f t2 = __builtin_shuffle(m[2], m[3], lo), t3 = __builtin_shuffle(m[2], m[3], hi);
  const V8f t4 = __builtin_shuffle(m[4], m[5], lo), t5 = __builtin_shuffle(m[4], m[5], hi);
  const V8f t6 = __builtin_shuffle(m[6], m[7], lo), t7 = __builtin_shuffle(m[6], m[7], hi);
  const V8i pair_lo = {0, 1, 8, 9, 4, 5, 12, 13}, pair_hi = {2, 3, 10, 11, 6, 7, 14, 15};
  const V8f u0 = __builtin_shuffle(t0, t2, pair_lo), u1 = __builtin_shuffle(t0, t2, pair_hi);
  const V8f u2 = __builtin_shuffle(t1, t3, pair_lo), u3 = __builtin_shuffle(t1, t3, pair_hi);
  const V8f u4 = __builtin_shuffle(t4, t6, pair_lo), u5 = __builtin_shuffle(t4, t6, pair_hi);
  const V8f u6 = __builtin_shuffle(t5, t7, pair_lo), u7 = __builtin_shuffle(t5, t7, pair_hi);
  const V8i half_lo = {0, 1, 2, 3, 8, 9, 10, 11}, half_hi = {4, 5, 6, 7, 12, 13, 14, 15};
  m[0] = __builtin_shuffle(u0, u4, half_lo);
  m[1] = __builtin_shuffle(u1, u5, half_lo);
  m[2] = __builtin_shuffle(u2, u6, half_lo);
  m[3] = __builtin_shuffle(u3, u7, half_lo);
  m[4] = __builtin_shuffle(u0, u4, half_hi);
  m[5] = __builtin_shuffle(u1, u5, half_hi);
  m[6] = __builtin_shuffle(u2, u6, half_hi);
  m[7] = __builtin_shuffle(u3, u7, half_hi);
}

// --- blocked pairs, looked up only on the rare path ----------------------------------------------
class BlockedSet {
 public:
  BlockedSet(const std::int32_t* pairs, std::size_t count) : pairs_(pairs), count_(count) {}

  bool contains(std::size_t i, std::size_t j) const {
    if (count_ == 0) return false;
    std::call_once(once_, [this] {
      keys_.reserve(count_);
      for (std::size_t p = 0; p < count_; ++p) keys_.push_back(key(pairs_[2 * p], pairs_[2 * p + 1]));
      std::sort(keys_.begin(), keys_.end());
    });
    return std::binary_search(keys_.begin(), keys_.end(), key(i, j));
  }

 private:
  static std::uint64_t key(std::size_t i, std::size_t j) {
    if (i > j) std::swap(i, j);
    return (static_cast<std::uint64_t>(i) << 32) | static_cast<std::uint64_t>(j);
  }

  const std::int32_t* pairs_;
  std::size_t count_;
  mutable std::once_flag once_;
  mutable std::vector<std::uint64_t> keys_;
};

// Filter arrays copied with zero padding to a whole number of blocks, so a block at the edge of
// the matrix loads eight lanes without reading past the caller's arrays.
struct PaddedMutual {
  std::vector<std::uint32_t> attr;  // widened: GCC 12 converts eight bytes to eight lanes one by one
  std::vector<std::uint32_t> accepts;
};

struct Pass {
  MutableMatrix scores;
  Transform transform;
  ExpArgs exp;
  const HardFilters* filters;
  std::vector<PaddedMutual> mutual;
  std::vector<std::vector<std::uint32_t>> overlap;
  BlockedSet blocked;
};

// One block pair: rows [bi, bi+8) × columns [bj, bj+8) at `a` (row stride lda) and its mirror at `b`
// (ldb); for a diagonal block (self) a == b. Computes every weight in registers, then either stores
// W and Wᵀ and adds the finite pairs to *count, or — when an allowed weight is not finite — stores
// nothing and returns false.
template <Transform::Kind kKind>
KINDRED_PW_INLINE bool block_pair(const Pass& pass, std::size_t bi, std::size_t bj, std::size_t rows, std::size_t cols,
                                  float* a, std::size_t lda, float* b, std::size_t ldb, bool self, V8u* count) {
  const V8u lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const V8u col_valid = reinterpret_cast<V8u>(lane < static_cast<std::uint32_t>(cols));
  V8f w[kBlock];
  for (std::size_t r = 0; r < kBlock; ++r) w[r] = load<V8f>(b + r * ldb);
  transpose8(w);  // w[r][c] = s(j → i) for i = bi + r, j = bj + c
  const ExpArgs& e = pass.exp;
  V8u bad = {}, counted = {};
  for (std::size_t r = 0; r < kBlock; ++r) {
    // The filters for row i = bi + r against the eight columns (symmetric, so they hold for the
    // mirror too); the column data is reloaded per row from L1 rather than kept in registers.
    V8u mask = r < rows ? col_valid : V8u{};
    if (self) mask &= reinterpret_cast<V8u>(lane != static_cast<std::uint32_t>(r));
    for (const PaddedMutual& m : pass.mutual) {
      const V8u attr_col = load<V8u>(m.attr.data() + bj);
      const V8u accepts_col = load<V8u>(m.accepts.data() + bj);
      const std::uint32_t accepts_row = m.accepts[bi + r];
      const std::uint32_t attr_row = m.attr[bi + r];
      mask &= 0u - ((accepts_row >> attr_col) & (accepts_col >> attr_row) & 1u);
    }
    for (const auto& o : pass.overlap) {
      mask &= reinterpret_cast<V8u>((load<V8u>(o.data() + bj) & o[bi + r]) != 0u);
    }
    const V8f s = load<V8f>(a + r * lda);
    V8f sum;
    if constexpr (kKind == Transform::Kind::kExp) {
      sum = exp8(s, e) + exp8(w[r], e);
    } else {
      sum = s + w[r];
    }
    // Not finite: exponent bits all ones (±inf, NaN), which also catches a non-finite term.
    const V8u bits = reinterpret_cast<V8u>(sum);
    bad |= mask & reinterpret_cast<V8u>((bits & 0x7f800000u) == 0x7f800000u);
    counted += mask & (self ? reinterpret_cast<V8u>(lane > static_cast<std::uint32_t>(r)) & 1u : V8u{} + 1u);
    w[r] = reinterpret_cast<V8f>((bits & mask) | (kNegInfBits & ~mask));
  }
  std::uint32_t any_bad = 0;
  for (std::size_t l = 0; l < kBlock; ++l) any_bad |= bad[l];
  if (__builtin_expect(any_bad != 0, 0)) return false;

  *count += counted;
  if (rows == kBlock && cols == kBlock) {
    for (std::size_t r = 0; r < kBlock; ++r) store(a + r * lda, w[r]);
    transpose8(w);
    for (std::size_t r = 0; r < kBlock; ++r) store(b + r * ldb, w[r]);
  } else {
    for (std::size_t r = 0; r < rows; ++r) std::memcpy(a + r * lda, &w[r], cols * sizeof(float));
    transpose8(w);
    for (std::size_t r = 0; r < cols; ++r) std::memcpy(b + r * ldb, &w[r], rows * sizeof(float));
  }
  return true;
}

// One strip: block row [bi, bi + rows) against the block columns [bj, c1), each paired with its
// mirror. Returns c1 when done, or the column of a block it could not finish (left untouched).
// Never throws: an exception leaving a target_clones function is not unwound (GCC 12 treats the
// call through the ifunc as nothrow and std::terminate runs), so the caller deals with the stop.
template <Transform::Kind kKind>
KINDRED_PW_INLINE std::size_t walk_strip(const Pass& pass, std::size_t bi, std::size_t rows, std::size_t bj,
                                         std::size_t c1, std::size_t* finite_pairs) {
  const MutableMatrix s = pass.scores;
  V8u count = {};
  for (; bj < c1; bj += kBlock) {
    const std::size_t cols = std::min(kBlock, c1 - bj);
    const bool self = bi == bj;
    float* a = s.row(bi) + bj;
    float* b = s.row(bj) + bi;
    bool done;
    if (rows == kBlock && cols == kBlock) {
      done = block_pair<kKind>(pass, bi, bj, rows, cols, a, s.stride, b, s.stride, self, &count);
    } else {
      // The edge of the matrix: through zero-padded copies (the padding lanes are masked out).
      float pa[kBlock * kBlock] = {}, pb[kBlock * kBlock] = {};
      for (std::size_t r = 0; r < rows; ++r) std::memcpy(pa + r * kBlock, a + r * s.stride, cols * sizeof(float));
      for (std::size_t r = 0; r < cols; ++r) std::memcpy(pb + r * kBlock, b + r * s.stride, rows * sizeof(float));
      done = block_pair<kKind>(pass, bi, bj, rows, cols, pa, kBlock, pb, kBlock, self, &count);
      if (done) {
        // On a diagonal block a and b are the same memory and W is symmetric: either copy will do.
        for (std::size_t r = 0; r < rows; ++r) std::memcpy(a + r * s.stride, pa + r * kBlock, cols * sizeof(float));
        for (std::size_t r = 0; r < cols; ++r) std::memcpy(b + r * s.stride, pb + r * kBlock, rows * sizeof(float));
      }
    }
    if (!done) break;
  }
  std::size_t total = 0;
  for (std::size_t l = 0; l < kBlock; ++l) total += count[l];
  *finite_pairs += total;
  return bj;
}

KINDRED_PW_CLONES
std::size_t walk_strip_exp(const Pass& pass, std::size_t bi, std::size_t rows, std::size_t bj, std::size_t c1,
                           std::size_t* finite_pairs) {
  return walk_strip<Transform::Kind::kExp>(pass, bi, rows, bj, c1, finite_pairs);
}

KINDRED_PW_CLONES
std::size_t walk_strip_identity(const Pass& pass, std::size_t bi, std::size_t rows, std::size_t bj, std::size_t c1,
                                std::size_t* finite_pairs) {
  return walk_strip<Transform::Kind::kIdentity>(pass, bi, rows, bj, c1, finite_pairs);
}

// exp(w·s + b) for one score, through the same vector code as the kernel (same clone, same result).
KINDRED_PW_CLONES
float exp_one(float s, float w, float b) {
  const ExpArgs e = exp_args(w, b);
  const V8f v = {s, 0, 0, 0, 0, 0, 0, 0};
  return exp8(v, e)[0];
}

float transform_one(const Transform& t, float s) {
  return t.kind == Transform::Kind::kIdentity ? s : exp_one(s, t.w, t.b);
}

std::string describe(const Transform& t, float s, float f) {
  std::ostringstream out;
  out << std::setprecision(9);
  if (t.kind == Transform::Kind::kExp) {
    out << "exp(" << t.w << " * " << s << " + " << t.b << ") = " << f;
  } else {
    out << "the score " << s;
  }
  return out.str();
}

// The rare path for a block the kernel would not finish: pair by pair, in scalar code. A non-finite
// weight on a blocked pair becomes -inf (the pair is forbidden anyway); anywhere else it is an error.
// Returns how many pairs got a finite weight.
[[gnu::cold, gnu::noinline]] std::size_t resolve_block(const Pass& pass, std::size_t bi, std::size_t bj,
                                                       std::size_t r1, std::size_t c1) {
  const MutableMatrix s = pass.scores;
  const Transform& t = pass.transform;
  std::size_t finite = 0;
  for (std::size_t i = bi; i < std::min(bi + kBlock, r1); ++i) {
    for (std::size_t j = std::max(bj, i + 1); j < std::min(bj + kBlock, c1); ++j) {
      float& a = s.row(i)[j];
      float& b = s.row(j)[i];
      float w = kNegInf;
      if (allowed(*pass.filters, i, j)) {
        const float fa = transform_one(t, a), fb = transform_one(t, b);
        w = fa + fb;
        if (!std::isfinite(w)) {
          if (!pass.blocked.contains(i, j)) {
            // Name the score that overflowed, in its own direction (s[j][i] is pair (j, i)).
            const bool second = std::isfinite(fa) && !std::isfinite(fb);
            std::string why;
            if (!std::isfinite(fa) || second) {
              why = second ? describe(t, b, fb) : describe(t, a, fa);
            } else {
              std::ostringstream out;
              out << std::setprecision(9) << "f(s[i][j]) + f(s[j][i]) = " << fa << " + " << fb;
              why = out.str();
            }
            KINDRED_THROW(Code::kInvalidArgument, "transform overflows float at pair (", second ? j : i, ", ",
                          second ? i : j, "): ", why, " is not finite (scores must be finite",
                          t.kind == Transform::Kind::kExp ? " and w*s + b at most about 88.7" : "", ")");
          }
          w = kNegInf;
        } else {
          ++finite;
        }
      }
      a = b = w;
    }
  }
  for (std::size_t i = bi; i < std::min(bi + kBlock, r1); ++i) {
    if (i >= bj && i < bj + kBlock) s.row(i)[i] = kNegInf;  // a diagonal block's diagonal
  }
  return finite;
}

// Asks for strip [bi, bi + 8) × [bj, c1) and its mirror column slab ahead of use, with intent to
// write: the slab is one cache line in each of up to kTile rows, which no hardware prefetcher
// predicts.
void prefetch_strip(MutableMatrix s, std::size_t bi, std::size_t r1, std::size_t bj, std::size_t c1) {
  constexpr std::size_t kLine = 64 / sizeof(float);
  for (std::size_t i = bi; i < std::min(bi + kBlock, r1); ++i) {
    for (std::size_t j = bj; j < c1; j += kLine) __builtin_prefetch(s.row(i) + j, 1, 3);
  }
  for (std::size_t j = bj; j < c1; ++j) __builtin_prefetch(s.row(j) + bi, 1, 3);
}

// Tile pair (I, J): rows [r0, r1) × columns [c0, c1) and the mirror, strip by strip. Returns how
// many pairs got a finite weight.
std::size_t weigh_tile_pair(const Pass& pass, std::size_t r0, std::size_t r1, std::size_t c0, std::size_t c1) {
  const bool exp = pass.transform.kind == Transform::Kind::kExp;
  const bool diagonal = r0 == c0;
  std::size_t finite = 0;
  for (std::size_t bi = r0; bi < std::min(r1, r0 + kAhead * kBlock); bi += kBlock) {
    prefetch_strip(pass.scores, bi, r1, diagonal ? bi : c0, c1);
  }
  for (std::size_t bi = r0; bi < r1; bi += kBlock) {
    const std::size_t ahead = bi + kAhead * kBlock;
    if (ahead < r1) prefetch_strip(pass.scores, ahead, r1, diagonal ? ahead : c0, c1);
    const std::size_t rows = std::min(kBlock, r1 - bi);
    std::size_t bj = diagonal ? bi : c0;
    for (;;) {
      bj = exp ? walk_strip_exp(pass, bi, rows, bj, c1, &finite) : walk_strip_identity(pass, bi, rows, bj, c1, &finite);
      if (bj >= c1) break;
      finite += resolve_block(pass, bi, bj, r1, c1);
      bj += kBlock;
    }
  }
  return finite;
}

void validate(MutableMatrix scores, const Transform& transform, const HardFilters& filters) {
  KINDRED_CHECK(scores.rows == scores.cols, "pair_weights: scores must be square but are ", scores.rows, " x ",
                scores.cols);
  KINDRED_CHECK(scores.stride >= scores.cols, "pair_weights: the row stride ", scores.stride,
                " is shorter than a row of ", scores.cols);
  const std::size_t n = scores.rows;
  KINDRED_CHECK(scores.data || n == 0, "pair_weights: a non-empty matrix has no data");
  KINDRED_CHECK(transform.kind == Transform::Kind::kIdentity || transform.kind == Transform::Kind::kExp,
                "pair_weights: unknown transform kind ", static_cast<int>(transform.kind));
  if (transform.kind == Transform::Kind::kExp) {
    KINDRED_CHECK(std::isfinite(transform.w) && std::isfinite(transform.b),
                  "pair_weights: the exp transform needs finite w and b, got w = ", transform.w, ", b = ", transform.b);
  }
  KINDRED_CHECK(n <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                "pair_weights: ", n, " users is more than pair ids can name");
  for (std::size_t f = 0; f < filters.mutual.size(); ++f) {
    const MutualFilter& m = filters.mutual[f];
    KINDRED_CHECK(n == 0 || (m.attr && m.accepts), "pair_weights: mutual filter ", f, " has a null array");
    for (std::size_t i = 0; i < n; ++i) {
      KINDRED_CHECK(m.attr[i] < 32, "pair_weights: mutual filter ", f, " attr[", i, "] = ",
                    static_cast<unsigned>(m.attr[i]), " is out of range (must be < 32)");
    }
  }
  for (std::size_t f = 0; f < filters.overlap.size(); ++f) {
    KINDRED_CHECK(n == 0 || filters.overlap[f], "pair_weights: overlap filter ", f, " is null");
  }
  if (filters.blocked_pairs > 0) {
    KINDRED_CHECK(filters.blocked, "pair_weights: ", filters.blocked_pairs, " blocked pairs but no array");
    const std::size_t ids = mul_or_throw(filters.blocked_pairs, 2, "pair_weights: blocked ids");
    for (std::size_t k = 0; k < ids; ++k) {
      const std::int32_t id = filters.blocked[k];
      KINDRED_CHECK(id >= 0 && static_cast<std::size_t>(id) < n, "pair_weights: blocked[", k, "] = ", id,
                    " is out of range [0, ", n, ")");
    }
  }
}

}  // namespace

float fast_expf(float x) noexcept { return exp_one(x, 1.0f, 0.0f); }

PairWeightsStats pair_weights(MutableMatrix scores, const Transform& transform, const HardFilters& filters,
                              const CancelToken& cancel, int threads) {
  const auto start = std::chrono::steady_clock::now();
  validate(scores, transform, filters);
  cancel.throw_if_cancelled();
  const std::size_t n = scores.rows;
  if (threads <= 0) threads = default_thread_count();

  Pass pass{scores, transform, exp_args(transform.w, transform.b), &filters, {}, {}, BlockedSet(filters.blocked, filters.blocked_pairs)};
  const std::size_t padded = (n + kBlock - 1) / kBlock * kBlock;
  for (const MutualFilter& m : filters.mutual) {
    PaddedMutual p;
    p.attr.assign(padded, 0);
    p.accepts.assign(padded, 0);
    std::copy_n(m.attr, n, p.attr.begin());
    std::copy_n(m.accepts, n, p.accepts.begin());
    pass.mutual.push_back(std::move(p));
  }
  for (const std::uint32_t* o : filters.overlap) {
    std::vector<std::uint32_t> p(padded, 0);
    std::copy_n(o, n, p.begin());
    pass.overlap.push_back(std::move(p));
  }

  // Tasks are the tile pairs (I, J), I <= J, in row-major order of the upper triangle; first[I] is
  // the task number of (I, I).
  const std::size_t tiles = (n + kTile - 1) / kTile;
  std::vector<std::size_t> first(tiles + 1, 0);
  for (std::size_t t = 0; t < tiles; ++t) first[t + 1] = first[t] + (tiles - t);
  std::atomic<std::size_t> allowed_pairs{0};
  parallel_for(first[tiles], threads, [&](std::size_t task) {
    cancel.throw_if_cancelled();
    const std::size_t ti = static_cast<std::size_t>(std::upper_bound(first.begin(), first.end(), task) - first.begin()) - 1;
    const std::size_t tj = ti + (task - first[ti]);
    const std::size_t r0 = ti * kTile, c0 = tj * kTile;
    allowed_pairs.fetch_add(weigh_tile_pair(pass, r0, std::min(n, r0 + kTile), c0, std::min(n, c0 + kTile)),
                            std::memory_order_relaxed);
  });
  cancel.throw_if_cancelled();

  PairWeightsStats stats;
  stats.allowed_pairs = allowed_pairs.load();
  for (std::size_t p = 0; p < filters.blocked_pairs; ++p) {
    const std::size_t i = static_cast<std::size_t>(filters.blocked[2 * p]);
    const std::size_t j = static_cast<std::size_t>(filters.blocked[2 * p + 1]);
    if (i == j) continue;
    float& w = scores.row(i)[j];
    if (w > kNegInf) {
      w = kNegInf;
      scores.row(j)[i] = kNegInf;
      --stats.allowed_pairs;
    }
  }
  stats.seconds_filters = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace kindred::matching
