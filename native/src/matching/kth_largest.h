// The k-th largest of a short array of floats: the candidate pass's final cut (each row keeps its
// k best of the ~2k values its scan collected) and its starting threshold (a rank of the row's
// sample). Internal to the matcher; a header of its own so that the test can check both versions
// against std::nth_element.
#pragma once

#include <cstddef>

namespace kindred::matching {

// Floats of scratch kth_largest needs for `count` values.
constexpr std::size_t kth_largest_scratch(std::size_t count) noexcept { return 3 * (count + 8); }

// The k-th largest value of values[0..count) (1 ≤ k ≤ count, no NaN; −∞ counts as a value). May
// reorder `values`; `scratch` holds kth_largest_scratch(count) floats. With AVX2, partitions out
// of place eight values at a time; otherwise kth_largest_scalar.
float kth_largest(float* values, std::size_t count, std::size_t k, float* scratch) noexcept;

// The portable version, in place: a quickselect whose partitions move values without branches on
// them (std::nth_element's branch per value mispredicted on about half of them: 1.3 → 0.5 µs for
// the 48th of 100 random floats).
float kth_largest_scalar(float* values, std::size_t count, std::size_t k) noexcept;

// Whether kth_largest uses the AVX2 version on this CPU (tests report it).
bool kth_largest_is_vectorized() noexcept;

}  // namespace kindred::matching
