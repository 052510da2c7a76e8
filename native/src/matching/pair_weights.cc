#include "kindred/matching/pair_weights.h"

// The x86-64-v3 version works on AVX-sized vectors; GCC warns that returning them changes the ABI
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
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"
#include "filter_tiles.h"

namespace kindred::matching {
namespace {

// Two versions of the kernels, picked by the loader at run time as for the portable GEMM: one for
// AVX2+FMA (x86-64-v3) and a baseline one. They differ in body, not only in flags — the exp is
// computed differently with and without a fused multiply-add — so they are two target("...")
// overloads (GCC function multiversioning) rather than target_clones. The sanitizer build defines
// KINDRED_NO_CLONES: its runtime cannot resolve ifuncs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
#define KINDRED_PW_MULTIVERSION 1
#else
#define KINDRED_PW_MULTIVERSION 0
#endif

// Whether code compiled without a target attribute has a hardware fused multiply-add.
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
constexpr bool kNativeFma = true;
#else
constexpr bool kNativeFma = false;
#endif

#define KINDRED_PW_INLINE __attribute__((always_inline)) inline

// Tiles are kTile × kTile; a task pairs one tile with its mirror, walking them in 8×8 blocks strip
// by strip: a strip of the tile (8 rows × kTile) against a column slab of the mirror (kTile rows ×
// 8), whose cache lines the next strip reuses while they are still in L1.
constexpr std::size_t kTile = 128;
constexpr std::size_t kBlock = 8;  // the register block: one AVX vector of floats per row
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr std::uint32_t kNegInfBits = 0xff800000u;

// Eight floats (an AVX register in the x86-64-v3 version, two SSE registers otherwise) and friends.
// GCC/Clang vector types rather than plain loops: the 8×8 transposes need explicit shuffles.
typedef float V8f __attribute__((vector_size(32)));
typedef std::uint32_t V8u __attribute__((vector_size(32)));
typedef std::int32_t V8i __attribute__((vector_size(32)));
typedef float V4f __attribute__((vector_size(16)));
typedef double V4d __attribute__((vector_size(32)));
typedef std::uint64_t V4q __attribute__((vector_size(32)));

template <typename V, typename T>
KINDRED_PW_INLINE V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename V, typename T>
KINDRED_PW_INLINE void store(T* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// --- exp ----------------------------------------------------------------------------------------
// e^x = 2^k · e^r with k = round(x / ln 2) and |r| <= ln(2)/2, then a polynomial for e^r. The
// argument x = w·s + b is never rounded to float on its own: the double path forms it in double
// (a float product is exact there), the FMA path forms r = w·s + b - k·ln 2 with one rounding at the
// size of r. So the weight's error is the exp's own, not |x| · 2^-24 (or |w·s| · 2^-24).
// Arithmetic, compares and bit moves only: no branch, no table, nothing that stops vectorization.
constexpr double kExpLo = -110.0;  // e^-110 < 2^-158: rounds to 0 in float
constexpr double kExpHi = 90.0;    // e^90 > FLT_MAX: rounds to +inf
constexpr double kLog2e = 1.4426950408889634074;
constexpr double kLn2 = 0.69314718055994530942;
// Chebyshev fit of e^r on [-ln(2)/2, ln(2)/2], degree 6: relative error 2.6e-9 (0.02 ulp of float).
constexpr double kP6 = 0.0013941108433972674, kP5 = 0.008375126398153335, kP4 = 0.04166635289677516,
                 kP3 = 0.16666415514653277, kP2 = 0.5000000047117757, kP1 = 1.000000037716214, kP0 = 1.0;

// The FMA path clamps the scores to [s_lo, s_hi], where w·s + b stays within [kExpLo, kExpHi] (so
// ±inf scores give 0 or +inf even for w = 0); where a bound passes FLT_MAX it is FLT_MAX, |w| being
// then so small that w·FLT_MAX + b is still in range. NaN passes through. It also needs b = b_hi +
// b_lo with b_hi a multiple of 2^-9: `split` says it has them (|b| < 16384, which also keeps the
// rounding of the bounds to float harmless; see exp8_fma).
struct ExpArgs {
  float w, b;
  float s_lo, s_hi;
  float b_hi, b_lo;
  bool split;
};

ExpArgs exp_args(float w, float b) {
  ExpArgs a{w, b, -FLT_MAX, FLT_MAX, b, 0.0f, false};
  if (w != 0.0f) {
    double lo = (kExpLo - b) / w, hi = (kExpHi - b) / w;
    if (w < 0.0f) std::swap(lo, hi);
    a.s_lo = static_cast<float>(std::max(lo, -static_cast<double>(FLT_MAX)));
    a.s_hi = static_cast<float>(std::min(hi, static_cast<double>(FLT_MAX)));
  }
  if (std::fabs(b) < 16384.0f) {
    a.b_hi = static_cast<float>(std::nearbyint(static_cast<double>(b) * 512.0) / 512.0);
    a.b_lo = b - a.b_hi;  // exact: the bits of b below 2^-9
    a.split = true;
  }
  return a;
}

KINDRED_PW_INLINE V8f clamp_scores(const V8f& scores, const ExpArgs& e) {
  const V8f s = scores < e.s_lo ? V8f{} + e.s_lo : scores;  // NaN fails both compares and stays NaN
  return s > e.s_hi ? V8f{} + e.s_hi : s;
}

// Without FMA (and for |b| >= 16384): x = w·s + b, k, r and the polynomial in double, four lanes at a
// time, x clamped to [kExpLo, kExpHi], and p · 2^k rounded to float once, so overflow gives +inf and
// underflow correctly rounded subnormals, then 0. Error: 0.53 ulp, for about twice the work.
constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 · 2^52: adding it rounds to an integer in the low bits

KINDRED_PW_INLINE V4f exp4_double(const V4d& arg) {
  V4d x = arg < kExpLo ? V4d{} + kExpLo : arg;  // NaN fails both compares and stays NaN
  x = x > kExpHi ? V4d{} + kExpHi : x;
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

KINDRED_PW_INLINE V8f exp8_double(const V8f& scores, const ExpArgs& e) {
  // Only ±inf is clamped here (to ±FLT_MAX, so that w = 0 gives exp(b)); x is clamped in double.
  V8f s = scores < -FLT_MAX ? V8f{} - FLT_MAX : scores;
  s = s > FLT_MAX ? V8f{} + FLT_MAX : s;
  // Element by element: GCC 12 lowers a __builtin_convertvector of four floats to two narrow
  // conversions, this to one vcvtps2pd.
  const V4d lo = {static_cast<double>(s[0]), static_cast<double>(s[1]), static_cast<double>(s[2]),
                  static_cast<double>(s[3])};
  const V4d hi = {static_cast<double>(s[4]), static_cast<double>(s[5]), static_cast<double>(s[6]),
                  static_cast<double>(s[7])};
  const double w = e.w, b = e.b;
  return __builtin_shufflevector(exp4_double(lo * w + b), exp4_double(hi * w + b), 0, 1, 2, 3, 4, 5, 6, 7);
}

// With FMA: all in float, eight lanes. k comes from y = fl(w·s + b); then r = w·s + b - k·ln 2 is
// formed without losing w·s + b: k·ln2_hi (9 significant bits) and b_hi (a multiple of 2^-9) are
// multiples of 2^-9, so c = b_hi - k·ln2_hi is exact (for |b| < 16384), and fma(w, s, c) rounds the
// exact w·s + b_hi - k·ln2_hi once, at the size of r. What is left, b_lo - k·ln2_lo, is tiny.
// Error: about 1 ulp. A larger |b| (absurd for a bias) takes the double path instead.
constexpr float kLog2eF = 1.44269504f;
constexpr float kRoundMagicF = 12582912.0f;  // 1.5 · 2^23
constexpr float kLn2HiF = 0.693359375f;      // 355/512: k · kLn2HiF is exact
constexpr float kLn2LoF = -2.12194440e-4f;   // ln 2 - kLn2HiF
constexpr float kP6F = static_cast<float>(kP6), kP5F = static_cast<float>(kP5), kP4F = static_cast<float>(kP4),
                kP3F = static_cast<float>(kP3), kP2F = static_cast<float>(kP2), kP1F = static_cast<float>(kP1);

// a·b + c with one rounding, per lane: GCC turns the eight calls into one vfmadd where the target has
// FMA (only such code calls it).
KINDRED_PW_INLINE V8f fma8(const V8f& a, const V8f& b, const V8f& c) {
  V8f r;
  for (int l = 0; l < 8; ++l) r[l] = __builtin_fmaf(a[l], b[l], c[l]);
  return r;
}

KINDRED_PW_INLINE V8f exp8_fma(const V8f& scores, const ExpArgs& e) {
  const V8f s = clamp_scores(scores, e);
  const V8f w = V8f{} + e.w;
  const V8f y = fma8(s, w, V8f{} + e.b);
  const V8f t = y * kLog2eF + kRoundMagicF;
  const V8f k = t - kRoundMagicF;
  const V8f c = fma8(-k, V8f{} + kLn2HiF, V8f{} + e.b_hi);  // exact
  const V8f r = fma8(s, w, c) + fma8(-k, V8f{} + kLn2LoF, V8f{} + e.b_lo);
  V8f q = r * kP6F + kP5F;
  q = q * r + kP4F;
  q = q * r + kP3F;
  q = q * r + kP2F;
  q = q * r + kP1F;
  q = q * r + 1.0f;
  // k in [-160, 130] does not fit one float exponent: scale by 2^(k/2) twice. The last product
  // rounds once, so subnormal results are correctly rounded from q.
  const V8i ki = reinterpret_cast<V8i>(t) - reinterpret_cast<V8i>(V8f{} + kRoundMagicF);
  const V8i k1 = ki >> 1, k2 = ki - k1;
  return q * reinterpret_cast<V8f>((k1 + 127) << 23) * reinterpret_cast<V8f>((k2 + 127) << 23);
}

template <bool kFma>
KINDRED_PW_INLINE V8f exp8(const V8f& s, const ExpArgs& e) {
  if constexpr (kFma) {
    return exp8_fma(s, e);
  } else {
    return exp8_double(s, e);
  }
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

// Filter arrays copied with kBlock zeros after the end, so a block at the edge of the matrix loads
// eight lanes without reading past the caller's arrays.
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
  // Tiles the mutual and overlap filters forbid outright (null without such filters): their blocks
  // are set to −∞ without reading the scores, which head_scores may not even have written there.
  const FilterTiles* tiles;
  const std::int32_t* names;  // the index an error gives for each row (null: the row's own)

  long long name(std::size_t i) const { return names != nullptr ? names[i] : static_cast<long long>(i); }
};

KINDRED_PW_INLINE void fill_forbidden(float* at, std::size_t stride, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) std::fill_n(at + r * stride, cols, kNegInf);
}

// --- the kernel ----------------------------------------------------------------------------------
// One block pair: rows [bi, bi+8) × columns [bj, bj+8) at `a` (row stride lda) and its mirror at `b`
// (ldb); for a diagonal block (self) a == b. Computes every weight in registers, then either stores
// W and Wᵀ and adds the finite pairs to *count, or — when an allowed weight is not finite — stores
// nothing and returns false. Only `rows` × `cols` of the block are real (the rest is padding).
template <Transform::Kind kKind, bool kFma>
KINDRED_PW_INLINE bool block_pair(const Pass& pass, std::size_t bi, std::size_t bj, std::size_t rows, std::size_t cols,
                                  float* a, std::size_t lda, float* b, std::size_t ldb, bool self, V8u* count) {
  const V8u lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const V8u col_valid = reinterpret_cast<V8u>(lane < static_cast<std::uint32_t>(cols));
  V8f w[kBlock];
  for (std::size_t r = 0; r < kBlock; ++r) w[r] = load<V8f>(b + r * ldb);
  transpose8(w);  // w[r][c] = s(j → i) for i = bi + r, j = bj + c
  V8u bad = {}, counted = {};
  for (std::size_t r = 0; r < kBlock; ++r) {
    // The filters for row i = bi + r against the eight columns; symmetric, so they hold for the
    // mirror too. The column data is reloaded per row from L1 rather than held in registers.
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
      sum = exp8<kFma>(s, pass.exp) + exp8<kFma>(w[r], pass.exp);
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
template <Transform::Kind kKind, bool kFma>
KINDRED_PW_INLINE std::size_t walk_strip(const Pass& pass, std::size_t bi, std::size_t rows, std::size_t bj,
                                         std::size_t c1, std::size_t* finite_pairs) {
  const MutableMatrix s = pass.scores;
  V8u count = {};
  for (; bj < c1; bj += kBlock) {
    const std::size_t cols = std::min(kBlock, c1 - bj);
    const bool self = bi == bj;
    float* a = s.row(bi) + bj;
    float* b = s.row(bj) + bi;
    if (pass.tiles != nullptr && !pass.tiles->may_allow_users(bi, bi + rows, bj, bj + cols)) {
      // What block_pair would store: every lane masked out.
      fill_forbidden(a, s.stride, rows, cols);
      fill_forbidden(b, s.stride, cols, rows);
      continue;
    }
    bool done;
    if (rows == kBlock && cols == kBlock) {
      done = block_pair<kKind, kFma>(pass, bi, bj, rows, cols, a, s.stride, b, s.stride, self, &count);
    } else {
      // The edge of a tile: through zero-padded copies (the padding lanes are masked out).
      float pa[kBlock * kBlock] = {}, pb[kBlock * kBlock] = {};
      for (std::size_t r = 0; r < rows; ++r) std::memcpy(pa + r * kBlock, a + r * s.stride, cols * sizeof(float));
      for (std::size_t r = 0; r < cols; ++r) std::memcpy(pb + r * kBlock, b + r * s.stride, rows * sizeof(float));
      done = block_pair<kKind, kFma>(pass, bi, bj, rows, cols, pa, kBlock, pb, kBlock, self, &count);
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

template <bool kFma>
KINDRED_PW_INLINE std::size_t walk_strip_for(const Pass& pass, std::size_t bi, std::size_t rows, std::size_t bj,
                                             std::size_t c1, std::size_t* finite_pairs) {
  if (pass.transform.kind == Transform::Kind::kIdentity) {
    return walk_strip<Transform::Kind::kIdentity, false>(pass, bi, rows, bj, c1, finite_pairs);
  }
  if (kFma && pass.exp.split) return walk_strip<Transform::Kind::kExp, true>(pass, bi, rows, bj, c1, finite_pairs);
  return walk_strip<Transform::Kind::kExp, false>(pass, bi, rows, bj, c1, finite_pairs);
}

template <bool kFma>
KINDRED_PW_INLINE float exp_one_for(float s, float w, float b) {
  const V8f v = {s, 0, 0, 0, 0, 0, 0, 0};
  const ExpArgs e = exp_args(w, b);
  return (kFma && e.split ? exp8<true>(v, e) : exp8<false>(v, e))[0];
}

// The entry points, one per version. They never throw: an exception leaving a multiversioned
// function is not unwound (GCC 12 treats the call through the ifunc as nothrow, so std::terminate
// runs); the kernel stops at a block it cannot finish and the caller deals with it.
#if KINDRED_PW_MULTIVERSION
__attribute__((target("default"))) std::size_t walk_strip_any(const Pass& pass, std::size_t bi, std::size_t rows,
                                                              std::size_t bj, std::size_t c1, std::size_t* finite) {
  return walk_strip_for<kNativeFma>(pass, bi, rows, bj, c1, finite);
}
__attribute__((target("arch=x86-64-v3"))) std::size_t walk_strip_any(const Pass& pass, std::size_t bi,
                                                                      std::size_t rows, std::size_t bj,
                                                                      std::size_t c1, std::size_t* finite) {
  return walk_strip_for<true>(pass, bi, rows, bj, c1, finite);
}
// exp(w·s + b) for one score, through the same code as the kernel (same version, same result).
__attribute__((target("default"))) float exp_one(float s, float w, float b) {
  return exp_one_for<kNativeFma>(s, w, b);
}
__attribute__((target("arch=x86-64-v3"))) float exp_one(float s, float w, float b) {
  return exp_one_for<true>(s, w, b);
}
#else
std::size_t walk_strip_any(const Pass& pass, std::size_t bi, std::size_t rows, std::size_t bj, std::size_t c1,
                           std::size_t* finite) {
  return walk_strip_for<kNativeFma>(pass, bi, rows, bj, c1, finite);
}
float exp_one(float s, float w, float b) { return exp_one_for<kNativeFma>(s, w, b); }
#endif

// The vector loop of accumulate_for for one exp version and one mode, with nothing decided per
// vector: with the version chosen inside the loop, GCC kept both bodies in it and reloaded their
// constants from the stack on every vector (1.35 ns per value in L1; 0.8 ns this way).
template <bool kFma, bool kAssign>
KINDRED_PW_INLINE std::size_t accumulate_exp(const float* s, float* acc, std::size_t count, const ExpArgs e) {
  std::size_t k = 0;
  for (; k + kBlock <= count; k += kBlock) {
    V8f f = exp8<kFma>(load<V8f>(s + k), e);
    if constexpr (!kAssign) f += load<V8f>(acc + k);
    store(acc + k, f);
  }
  return k;
}

// acc[k] = (assign ? 0 : acc[k]) + f(s[k]) with f the transform; the head's weight is already in
// e (as log weight added to b) or in `scale` (identity). s and acc may be the same array.
template <bool kFma>
KINDRED_PW_INLINE void accumulate_for(const float* s, float* acc, std::size_t count, const Transform& t, float scale,
                                      bool assign) {
  std::size_t k = 0;
  if (t.kind == Transform::Kind::kIdentity) {
    for (; k < count; ++k) acc[k] = (assign ? 0.0f : acc[k]) + scale * s[k];
    return;
  }
  const float b = t.b + std::log(scale);
  const ExpArgs e = exp_args(t.w, b);
  if (kFma && e.split) {
    k = assign ? accumulate_exp<kFma, true>(s, acc, count, e) : accumulate_exp<kFma, false>(s, acc, count, e);
  } else {
    k = assign ? accumulate_exp<false, true>(s, acc, count, e) : accumulate_exp<false, false>(s, acc, count, e);
  }
  for (; k < count; ++k) acc[k] = (assign ? 0.0f : acc[k]) + exp_one_for<kFma>(s[k], t.w, b);
}

#if KINDRED_PW_MULTIVERSION
__attribute__((target("default"))) void accumulate_any(const float* s, float* acc, std::size_t count,
                                                       const Transform& t, float scale, bool assign) {
  accumulate_for<kNativeFma>(s, acc, count, t, scale, assign);
}
__attribute__((target("arch=x86-64-v3"))) void accumulate_any(const float* s, float* acc, std::size_t count,
                                                               const Transform& t, float scale, bool assign) {
  accumulate_for<true>(s, acc, count, t, scale, assign);
}
#else
void accumulate_any(const float* s, float* acc, std::size_t count, const Transform& t, float scale, bool assign) {
  accumulate_for<kNativeFma>(s, acc, count, t, scale, assign);
}
#endif

// --- the rare path -------------------------------------------------------------------------------
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

// A block the kernel would not finish, pair by pair in scalar code (same exp, same sums). A
// non-finite weight on a blocked pair becomes -inf (the pair is forbidden anyway); anywhere else it
// is an error. Returns how many pairs got a finite weight.
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
            KINDRED_THROW(Code::kInvalidArgument, "transform overflows float at pair (", pass.name(second ? j : i), ", ",
                          pass.name(second ? i : j), "): ", why, " is not finite (scores must be finite",
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

// Tile pair (I, J): rows [r0, r1) × columns [c0, c1) and the mirror, strip by strip. Returns how
// many pairs got a finite weight.
std::size_t weigh_tile_pair(const Pass& pass, std::size_t r0, std::size_t r1, std::size_t c0, std::size_t c1) {
  const bool diagonal = r0 == c0;
  std::size_t finite = 0;
  for (std::size_t bi = r0; bi < r1; bi += kBlock) {
    const std::size_t rows = std::min(kBlock, r1 - bi);
    std::size_t bj = diagonal ? bi : c0;
    while ((bj = walk_strip_any(pass, bi, rows, bj, c1, &finite)) < c1) {
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

void accumulate_transformed(const float* scores, float* acc, std::size_t count, const Transform& transform,
                            float weight, bool assign) noexcept {
  accumulate_any(scores, acc, count, transform, weight, assign);
}

PairWeightsStats pair_weights(MutableMatrix scores, const Transform& transform, const HardFilters& filters,
                              const CancelToken& cancel, int threads, const std::int32_t* names) {
  const auto start = std::chrono::steady_clock::now();
  validate(scores, transform, filters);
  cancel.throw_if_cancelled();
  const std::size_t n = scores.rows;
  if (threads <= 0) threads = default_thread_count();

  std::optional<FilterTiles> forbidden_tiles;
  if (has_attribute_filters(filters)) forbidden_tiles.emplace(filters, n, kFilterTile);
  Pass pass{scores, transform, exp_args(transform.w, transform.b), &filters, {}, {},
            BlockedSet(filters.blocked, filters.blocked_pairs), forbidden_tiles ? &*forbidden_tiles : nullptr, names};
  const std::size_t padded = n + kBlock;  // a block may start at any index below n
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

  // Tile boundaries. When every row starts at the same alignment (stride a multiple of 8), a thin
  // first tile of up to 15 indices puts every other block on a 32-byte boundary and every tile on a
  // cache line (a 64-byte one when the stride allows): blocks that straddle cache lines cost about
  // twice as much, tiles that share one make two threads fight over it, and a Float32Array is only
  // 8- or 16-byte aligned.
  std::vector<std::size_t> bounds{0};
  const std::size_t align = scores.stride % 16 == 0 ? 64 : scores.stride % 8 == 0 ? 32 : 0;
  const std::size_t misalign = align ? reinterpret_cast<std::uintptr_t>(scores.data) % align : 0;
  if (align && misalign % sizeof(float) == 0) {
    const std::size_t offset = (align - misalign) % align / sizeof(float);
    if (offset > 0 && offset < n) bounds.push_back(offset);
  }
  while (bounds.back() < n) bounds.push_back(std::min(n, bounds.back() + kTile));
  const std::size_t tiles = bounds.size() - 1;

  // Tasks are the tile pairs (I, J), I <= J, in row-major order of the upper triangle; first[I] is
  // the task number of (I, I).
  std::vector<std::size_t> first(tiles + 1, 0);
  for (std::size_t t = 0; t < tiles; ++t) first[t + 1] = first[t] + (tiles - t);
  std::atomic<std::size_t> allowed_pairs{0};
  parallel_for(first[tiles], threads, [&](std::size_t task) {
    cancel.throw_if_cancelled();
    const std::size_t ti = static_cast<std::size_t>(std::upper_bound(first.begin(), first.end(), task) - first.begin()) - 1;
    const std::size_t tj = ti + (task - first[ti]);
    allowed_pairs.fetch_add(weigh_tile_pair(pass, bounds[ti], bounds[ti + 1], bounds[tj], bounds[tj + 1]),
                            std::memory_order_relaxed);
  });
  cancel.throw_if_cancelled();

  // Blocked pairs last, O(count): duplicates and i == j change nothing.
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
