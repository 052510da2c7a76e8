// Which tiles of a pool's pair matrix the hard filters may allow. Each tile of `tile` consecutive
// users keeps the OR of its users' filter attributes; a pair of tiles is marked "may allow" when
// those summaries pass the filter rule. Conservative: a tile pair marked false holds no allowed
// pair; one marked true may hold none. It pays when users are ordered by their filter attributes
// (as MatchPool orders them), so that most tiles are homogeneous.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kindred/matching/hard_filters.h"

namespace kindred::matching {

class FilterTiles {
 public:
  FilterTiles(const HardFilters& filters, std::size_t n, std::size_t tile);

  std::size_t tile() const noexcept { return tile_; }
  std::size_t count() const noexcept { return tiles_; }
  // Symmetric: may_allow(a, b) == may_allow(b, a).
  bool may_allow(std::size_t a, std::size_t b) const noexcept;

 private:
  std::size_t tile_, tiles_, mutual_, overlap_;
  // Per tile, per mutual filter: OR of (1 << attr) and OR of accepts; per overlap filter: OR of bits.
  std::vector<std::uint32_t> attr_bits_, accepts_, overlap_bits_;
};

}  // namespace kindred::matching
