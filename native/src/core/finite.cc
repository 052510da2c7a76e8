#include "kindred/core/finite.h"

#include <cstdint>
#include <cstring>

namespace kindred {
namespace {

// A float is NaN or ±Inf exactly when all its exponent bits are set. Testing bits (not std::isfinite)
// lets the compiler vectorize the block scan, which then runs at memory speed.
constexpr std::uint32_t kExponent = 0x7f800000u;
constexpr std::size_t kBlock = 4096;

inline bool block_has_non_finite(const float* data, std::size_t n) noexcept {
  std::uint32_t any = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    any |= static_cast<std::uint32_t>((bits & kExponent) == kExponent);
  }
  return any != 0;
}

}  // namespace

std::size_t first_non_finite(const float* data, std::size_t n) noexcept {
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t count = n - start < kBlock ? n - start : kBlock;
    if (!block_has_non_finite(data + start, count)) continue;
    for (std::size_t i = start; i < start + count; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, data + i, sizeof bits);
      if ((bits & kExponent) == kExponent) return i;
    }
  }
  return n;
}

}  // namespace kindred
