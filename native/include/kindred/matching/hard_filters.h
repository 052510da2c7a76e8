// Hard filters for reciprocal matching: rules that forbid a pair outright, whatever its score. All
// filters are symmetric (allowed(i, j) == allowed(j, i)) and combine with AND. The arrays are
// borrowed: each has one entry per user of the pool and must outlive the call that reads them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kindred::matching {

// "Each accepts the other": i and j may be paired only if bit attr[j] of accepts[i] is set AND bit
// attr[i] of accepts[j] is set (e.g. attr = a category, accepts = the categories one wants).
// attr values must be < 32.
struct MutualFilter {
  const std::uint8_t* attr;
  const std::uint32_t* accepts;
};

struct HardFilters {
  std::vector<MutualFilter> mutual;
  // Bitsets that must share at least one bit: allowed only if (o[i] & o[j]) != 0.
  std::vector<const std::uint32_t*> overlap;
  // Forbidden pairs, flat [i0, j0, i1, j1, ...]: both orders are forbidden. Ids are in [0, n);
  // duplicates and i == j are allowed and harmless.
  const std::int32_t* blocked = nullptr;
  std::size_t blocked_pairs = 0;
};

// Whether the filters rule on users' attributes (mutual or overlap filters): those can forbid whole
// tiles of a pool ordered by them, which the scores, pair weights and matcher then skip. `blocked`
// pairs are single pairs and forbid no tile.
inline bool has_attribute_filters(const HardFilters& filters) { return !filters.mutual.empty() || !filters.overlap.empty(); }

// The naive rule for one pair: mutual and overlap filters only (not `blocked`, and the diagonal
// i == j is the caller's business). An attr value >= 32 accepts nothing. The reference for the
// tests and for callers that need one pair; pair_weights() evaluates the same rule vectorized.
inline bool allowed(const HardFilters& filters, std::size_t i, std::size_t j) {
  for (const MutualFilter& m : filters.mutual) {
    const unsigned ai = m.attr[i], aj = m.attr[j];
    if (ai >= 32 || aj >= 32) return false;
    if (((m.accepts[i] >> aj) & 1u) == 0 || ((m.accepts[j] >> ai) & 1u) == 0) return false;
  }
  for (const std::uint32_t* o : filters.overlap) {
    if ((o[i] & o[j]) == 0) return false;
  }
  return true;
}

}  // namespace kindred::matching
