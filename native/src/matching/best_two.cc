#include "best_two.h"

#include <algorithm>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define KINDRED_BID_AVX2 1
#endif

namespace kindred::matching {

BestTwo best_two_scalar(const std::int32_t* adjacency, const float* weight, std::size_t count, const float* price,
                        BestTwo start) noexcept {
  BestTwo r = start;
  for (std::size_t t = 0; t < count; ++t) {
    const float v = weight[t] - price[adjacency[t]];
    if (v > r.best) {
      r.second = r.best;
      r.best = v;
      r.at = t;
    } else if (v > r.second) {
      r.second = v;
    }
  }
  return r;
}

#ifdef KINDRED_BID_AVX2
namespace {

// Each lane keeps its own best two and the first index of its best; the lanes are merged so that
// the answer equals the scalar loop's (lowest index among equal bests). Called only after a CPU
// check, never through an ifunc, so the sanitizer build can run it too.
__attribute__((target("avx2"))) BestTwo best_two_avx2(const std::int32_t* adjacency, const float* weight,
                                                       std::size_t count, const float* price) noexcept {
  const float inf = std::numeric_limits<float>::infinity();
  __m256 best8 = _mm256_set1_ps(-inf), second8 = best8;
  __m256i at8 = _mm256_set1_epi32(-1), index8 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i eight = _mm256_set1_epi32(8);
  std::size_t t = 0;
  for (; t + 8 <= count; t += 8) {
    const __m256i columns = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(adjacency + t));
    const __m256 v = _mm256_sub_ps(_mm256_loadu_ps(weight + t), _mm256_i32gather_ps(price, columns, 4));
    const __m256 above = _mm256_cmp_ps(v, best8, _CMP_GT_OQ);
    // The loser of (v, best) competes for second place.
    second8 = _mm256_max_ps(second8, _mm256_min_ps(v, best8));
    best8 = _mm256_blendv_ps(best8, v, above);
    at8 = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at8), _mm256_castsi256_ps(index8), above));
    index8 = _mm256_add_epi32(index8, eight);
  }
  alignas(32) float best[8], second[8];
  alignas(32) std::int32_t at[8];
  _mm256_store_ps(best, best8);
  _mm256_store_ps(second, second8);
  _mm256_store_si256(reinterpret_cast<__m256i*>(at), at8);
  BestTwo r{-inf, -inf, count};
  int lane = -1;
  for (int l = 0; l < 8; ++l) {
    if (at[l] < 0) continue;
    if (best[l] > r.best || (best[l] == r.best && static_cast<std::size_t>(at[l]) < r.at)) {
      r.best = best[l];
      r.at = static_cast<std::size_t>(at[l]);
      lane = l;
    }
  }
  for (int l = 0; l < 8; ++l) {
    r.second = std::max(r.second, second[l]);
    if (l != lane && at[l] >= 0) r.second = std::max(r.second, best[l]);
  }
  // The edges after the last full group: later edges win only when strictly better, as in the
  // scalar loop.
  const BestTwo tail = best_two_scalar(adjacency + t, weight + t, count - t, price, {r.best, r.second, count - t});
  return {tail.best, tail.second, tail.at != count - t ? t + tail.at : r.at};
}

bool has_avx2() noexcept {
  // __builtin_cpu_init first: this may run before libgcc's own constructor has.
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
}

}  // namespace
#endif

BestTwo best_two(const std::int32_t* adjacency, const float* weight, std::size_t count, const float* price) noexcept {
#ifdef KINDRED_BID_AVX2
  if (has_avx2()) return best_two_avx2(adjacency, weight, count, price);
#endif
  const float inf = std::numeric_limits<float>::infinity();
  return best_two_scalar(adjacency, weight, count, price, {-inf, -inf, count});
}

bool best_two_is_vectorized() noexcept {
#ifdef KINDRED_BID_AVX2
  return has_avx2();
#else
  return false;
#endif
}

}  // namespace kindred::matching
