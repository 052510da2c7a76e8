// Finding NaN and ±Infinity in float buffers, fast enough to run before every op (the addon rejects
// non-finite inputs; the core's own ops follow IEEE-754).
#pragma once

#include <cstddef>

namespace kindred {

// Index of the first NaN or ±Infinity in data[0, n), or n when every value is finite.
std::size_t first_non_finite(const float* data, std::size_t n) noexcept;

}  // namespace kindred
