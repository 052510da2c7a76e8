// The end of each row's candidate scan: of the values the scan collected, keep the k best. Internal
// to the matcher; a header of its own so that the test can check it against a full sort.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kth_largest.h"

namespace kindred::matching {

// A reduced weight and its column, ordered best first; ties keep the lower column first, so the
// lists (and the whole matcher) are deterministic.
struct Candidate {
  float value;
  std::int32_t column;
  float weight;
  bool operator<(const Candidate& other) const {
    return value > other.value || (value == other.value && column < other.column);
  }
};

// The k best of candidates[0..count) (k < count, no NaN) in Candidate's order, as a set in no
// particular order (bids scan whole lists), written to picked[0..k); picked needs room for `count`
// and scratch for best_candidates_scratch(count) floats. The k-th value comes from a selection on
// the bare values (a third of the bytes to move); then every candidate above it and, of those equal
// to it, the lowest columns. They are gathered apart from `candidates`: compacting in place
// overwrote the k-th value's own entry whenever it came before the last larger one (about half the
// rows), and the list got a stale k-th entry instead. (The AVX2 candidate scan cuts its own
// value/column arrays the same way: PackedScan::cut_to.)
constexpr std::size_t best_candidates_scratch(std::size_t count) noexcept { return count + kth_largest_scratch(count); }

inline void best_candidates(const Candidate* candidates, std::size_t count, std::size_t k, Candidate* picked,
                            float* scratch) {
  float* values = scratch;
  for (std::size_t t = 0; t < count; ++t) values[t] = candidates[t].value;
  const float cut = kth_largest(values, count, k, scratch + count);
  std::size_t kept = 0;
  // Branch-free: about half the values beat the cut, in no order (fewer than k do).
  for (std::size_t t = 0; t < count; ++t) {
    picked[kept] = candidates[t];
    kept += candidates[t].value > cut;
  }
  if (kept == k) return;
  const std::size_t ties_from = kept;
  for (std::size_t t = 0; t < count; ++t) {
    if (candidates[t].value == cut) picked[kept++] = candidates[t];
  }
  std::partial_sort(picked + ties_from, picked + k, picked + kept);
}

}  // namespace kindred::matching
