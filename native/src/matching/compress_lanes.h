// Packing the selected lanes of an AVX2 vector to its front, for the matcher's hand-written AVX2
// kernels (kth_largest, the candidate scan). AVX2 has no compress instruction: a table gives, for
// each 8-bit lane mask, the permutation that packs those lanes in order. Internal to the matcher.
#pragma once

#include <cstdint>

#include "cpu_avx2.h"

#ifdef KINDRED_MATCHING_AVX2
#include <immintrin.h>

namespace kindred::matching {

struct CompressLanes {
  alignas(64) std::uint8_t lanes[256][8];
  constexpr CompressLanes() : lanes{} {
    for (int mask = 0; mask < 256; ++mask) {
      int packed = 0;
      for (int bit = 0; bit < 8; ++bit) {
        if (mask & (1 << bit)) lanes[mask][packed++] = static_cast<std::uint8_t>(bit);
      }
    }
  }
};
inline constexpr CompressLanes kCompressLanes{};

// The permutation (for _mm256_permutevar8x32_ps / _epi32) that packs the lanes set in `mask`.
__attribute__((target("avx2,popcnt"))) inline __m256i compress_lanes(unsigned mask) noexcept {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(kCompressLanes.lanes[mask])));
}

}  // namespace kindred::matching
#endif
