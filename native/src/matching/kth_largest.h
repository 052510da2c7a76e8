// The k-th largest of a short array of floats, for the candidate pass's final cut (each row keeps
// its k best of the ~2k values its scan collected). Internal to the matcher; a header of its own
// so that the test can check it against std::nth_element.
#pragma once

#include <cstddef>

namespace kindred::matching {

// The k-th largest value of values[0..count) (1 ≤ k ≤ count, no NaN), reordering the array. A
// quickselect whose partitions move values without branches on them: std::nth_element's branch
// per value mispredicted on about half of them (the values are in no order): 1.3 → 0.5 µs for the
// 48th of 100 random floats.
inline float kth_largest(float* values, std::size_t count, std::size_t k) noexcept {
  std::size_t lo = 0, hi = count;  // the k-th largest lies in [lo, hi); everything before lo is larger
  const std::size_t want = k - 1;   // its index in descending order
  while (hi - lo > 16) {
    float a = values[lo], b = values[lo + (hi - lo) / 2], c = values[hi - 1];
    // The median of three as the pivot: it is one of the values, so each round makes progress.
    if (a > b) {
      const float t = a;
      a = b;
      b = t;
    }
    if (b > c) b = c;
    const float pivot = a > b ? a : b;
    // [lo, above) > pivot; only when the k-th is not among those, [above, equal) == pivot.
    std::size_t above = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      const float x = values[i];
      values[i] = values[above];
      values[above] = x;
      above += x > pivot;
    }
    if (want < above) {
      hi = above;
      continue;
    }
    std::size_t equal = above;
    for (std::size_t i = above; i < hi; ++i) {
      const float x = values[i];
      values[i] = values[equal];
      values[equal] = x;
      equal += x == pivot;
    }
    if (want < equal) return pivot;
    lo = equal;
  }
  // A few left: insertion sort, largest first.
  for (std::size_t i = lo + 1; i < hi; ++i) {
    const float x = values[i];
    std::size_t j = i;
    for (; j > lo && values[j - 1] < x; --j) values[j] = values[j - 1];
    values[j] = x;
  }
  return values[want];
}

}  // namespace kindred::matching
