#include "best_two.h"

// The AVX2 helpers pass vectors by value; they are inlined into best_two_avx2, and nothing outside
// the AVX2 code calls them, so GCC's ABI note about AVX vector arguments does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#include <algorithm>
#include <limits>

#include "cpu_avx2.h"

#ifdef KINDRED_MATCHING_AVX2
#include <immintrin.h>
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

#ifdef KINDRED_MATCHING_AVX2
namespace {

// Horizontal max of eight floats, in every lane.
__attribute__((target("avx2"))) inline __m256 all_max(__m256 x) noexcept {
  x = _mm256_max_ps(x, _mm256_permute2f128_ps(x, x, 1));
  x = _mm256_max_ps(x, _mm256_shuffle_ps(x, x, 0x4e));
  return _mm256_max_ps(x, _mm256_shuffle_ps(x, x, 0xb1));
}

// Horizontal min of eight ints, in every lane.
__attribute__((target("avx2"))) inline __m256i all_min(__m256i x) noexcept {
  x = _mm256_min_epi32(x, _mm256_permute2x128_si256(x, x, 1));
  x = _mm256_min_epi32(x, _mm256_shuffle_epi32(x, 0x4e));
  return _mm256_min_epi32(x, _mm256_shuffle_epi32(x, 0xb1));
}

// Each lane's best two values so far and the index of its first best.
struct LaneBests {
  __m256 best8, second8;
  __m256i at8, index8;  // index8: the edge index each lane sees next

  __attribute__((target("avx2"))) void add(__m256 v, int step = 8) noexcept {
    const __m256 above = _mm256_cmp_ps(v, best8, _CMP_GT_OQ);
    // The loser of (v, best) competes for second place.
    second8 = _mm256_max_ps(second8, _mm256_min_ps(v, best8));
    best8 = _mm256_blendv_ps(best8, v, above);
    at8 = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at8), _mm256_castsi256_ps(index8), above));
    index8 = _mm256_add_epi32(index8, _mm256_set1_epi32(step));
  }
  // Folds another lane set in (its indices never equal this one's).
  __attribute__((target("avx2"))) void merge(const LaneBests& o) noexcept {
    const __m256 gt = _mm256_cmp_ps(o.best8, best8, _CMP_GT_OQ);
    const __m256 eq = _mm256_and_ps(_mm256_cmp_ps(o.best8, best8, _CMP_EQ_OQ),
                                    _mm256_castsi256_ps(_mm256_and_si256(_mm256_cmpgt_epi32(o.at8, _mm256_set1_epi32(-1)),
                                                                         _mm256_cmpgt_epi32(at8, o.at8))));
    const __m256 take = _mm256_or_ps(gt, eq);
    second8 = _mm256_max_ps(_mm256_max_ps(second8, o.second8), _mm256_min_ps(best8, o.best8));
    best8 = _mm256_max_ps(best8, o.best8);
    at8 = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at8), _mm256_castsi256_ps(o.at8), take));
  }
};

// Each lane keeps its own best two and the first index of its best; the lanes are merged so that
// the answer equals the scalar loop's (lowest index among equal bests). Two lane sets take
// alternate groups of eight and are folded together after the last pair: with one, every gather
// waited on the previous group's compares (auction on the bundled world at N = 2,000: 5.4–5.7 →
// 5.1–5.2 ms, four alternating runs). The last partial group goes
// through masked loads, and the merge is branch-free: the scalar tail and a merge with a branch per
// lane mispredicted on most bids (the auction is one bid after another on one core). Called only
// after a CPU check, never through an ifunc, so the sanitizer build can run it too.
__attribute__((target("avx2"))) BestTwo best_two_avx2(const std::int32_t* adjacency, const float* weight,
                                                       std::size_t count, const float* price) noexcept {
  const float inf = std::numeric_limits<float>::infinity();
  const __m256 minus_inf = _mm256_set1_ps(-inf);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  LaneBests l{minus_inf, minus_inf, _mm256_set1_epi32(-1), lanes};
  std::size_t t = 0;
  if (count >= 16) {
    LaneBests m{minus_inf, minus_inf, _mm256_set1_epi32(-1), _mm256_add_epi32(lanes, _mm256_set1_epi32(8))};
    for (; t + 16 <= count; t += 16) {
      const __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(adjacency + t));
      const __m256i c1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(adjacency + t + 8));
      const __m256 p0 = _mm256_i32gather_ps(price, c0, 4);
      const __m256 p1 = _mm256_i32gather_ps(price, c1, 4);
      l.add(_mm256_sub_ps(_mm256_loadu_ps(weight + t), p0), 16);
      m.add(_mm256_sub_ps(_mm256_loadu_ps(weight + t + 8), p1), 16);
    }
    l.merge(m);
    l.index8 = _mm256_add_epi32(lanes, _mm256_set1_epi32(static_cast<int>(t)));
  }
  for (; t + 8 <= count; t += 8) {
    const __m256i columns = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(adjacency + t));
    l.add(_mm256_sub_ps(_mm256_loadu_ps(weight + t), _mm256_i32gather_ps(price, columns, 4)));
  }
  if (t < count) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count - t)), lanes);
    const __m256i columns = _mm256_maskload_epi32(adjacency + t, mask);
    const __m256 prices = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), price, columns, _mm256_castsi256_ps(mask), 4);
    const __m256 v = _mm256_sub_ps(_mm256_maskload_ps(weight + t, mask), prices);
    l.add(_mm256_blendv_ps(minus_inf, v, _mm256_castsi256_ps(mask)));
  }
  // The best over lanes that saw an edge, its lowest index, and the second: every lane's second and
  // every other lane's best.
  const __m256i seen = _mm256_cmpgt_epi32(l.at8, _mm256_set1_epi32(-1));
  const __m256 best = all_max(_mm256_blendv_ps(minus_inf, l.best8, _mm256_castsi256_ps(seen)));
  const __m256i is_best = _mm256_and_si256(seen, _mm256_castps_si256(_mm256_cmp_ps(l.best8, best, _CMP_EQ_OQ)));
  const __m256i at = all_min(_mm256_blendv_epi8(_mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()), l.at8, is_best));
  const __m256i chosen = _mm256_cmpeq_epi32(l.at8, at);
  const __m256 others = _mm256_blendv_ps(l.best8, minus_inf, _mm256_castsi256_ps(_mm256_or_si256(chosen, _mm256_xor_si256(seen, _mm256_set1_epi32(-1)))));
  const __m256 second = all_max(_mm256_max_ps(l.second8, others));
  const int first = _mm256_cvtsi256_si32(at);
  return {_mm256_cvtss_f32(best), _mm256_cvtss_f32(second),
          first == std::numeric_limits<std::int32_t>::max() ? count : static_cast<std::size_t>(first)};
}

}  // namespace
#endif

BestTwo best_two(const std::int32_t* adjacency, const float* weight, std::size_t count, const float* price) noexcept {
#ifdef KINDRED_MATCHING_AVX2
  if (cpu_has_avx2()) return best_two_avx2(adjacency, weight, count, price);
#endif
  const float inf = std::numeric_limits<float>::infinity();
  return best_two_scalar(adjacency, weight, count, price, {-inf, -inf, count});
}

bool best_two_is_vectorized() noexcept {
#ifdef KINDRED_MATCHING_AVX2
  return cpu_has_avx2();
#else
  return false;
#endif
}

}  // namespace kindred::matching
