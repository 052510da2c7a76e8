// A pool reordered by its mutual filters: users the filters treat alike (same attr and accepts, e.g.
// gender and "wants") are made neighbours, so that whole tiles of the pair matrix are forbidden
// outright and the scores, the pair weights and the matcher's passes skip them (head_scores,
// pair_weights, max_weight_matching). On a pool where each user wants the other gender or both,
// about 3/8 of the matrix is such tiles; MatchPool already orders its pools this way.
//
// The order is stable (ties keep the pool's order), so a pool that is already in filter order
// comes back as the identity and nothing is copied. Overlap filters (e.g. languages) are not
// ordered by: the matcher samples a few stretches of every row, and stretches of one language
// group told it little about a row (a wider gap after the first auction).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "kindred/core/matrix_view.h"
#include "kindred/core/scratch_pool.h"
#include "kindred/matching/hard_filters.h"

namespace kindred::matching {

class FilterOrder {
 public:
  // Reads the filters (n users each; attr values checked by the caller). Throws kInvalidArgument for
  // a blocked id outside [0, n).
  FilterOrder(const HardFilters& filters, std::size_t n);

  // True when the pool is already in filter order: use the caller's arrays as they are.
  bool identity() const noexcept { return order_.empty(); }
  // order()[k] = the pool index of the k-th user in filter order (empty for the identity).
  const std::vector<std::int32_t>& order() const noexcept { return order_; }
  // The filters in filter order: copies of every array (blocked ids renamed), or the caller's own
  // filters for the identity. Valid while this object lives.
  const HardFilters& filters() const noexcept { return filters_; }
  // The rows of `m` (n × cols) in filter order: a copy this object owns, or `m` itself for the identity.
  ConstMatrix rows(ConstMatrix m);
  // A mate array in filter order (mate[k] = partner of the k-th user, or −1) → in pool order, in place.
  void to_pool_order(std::vector<std::int32_t>& mate) const;

 private:
  std::vector<std::int32_t> order_;
  HardFilters filters_;
  std::deque<std::vector<std::uint8_t>> attr_;
  std::deque<std::vector<std::uint32_t>> words_;
  std::vector<std::int32_t> blocked_;
  // Scratch-pool blocks: a fresh half-megabyte array per call (N = 2,000 × 64 floats) was faulted
  // in page by page, and the two copies took 0.7 ms instead of 0.1.
  std::deque<ScratchVector<float>> matrices_;
};

}  // namespace kindred::matching
