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

// Users per filter tile, for every pass that skips forbidden tiles (head_scores, pair_weights, the
// matcher's dense passes), so that what one skipped the next skips too. On the bundled world's
// pools ordered by gender and wants (as MatchPool orders them), 32 leaves 48% of the matrix to
// compute, while a 32-row GEMM still runs near full speed (ordered by language too, 64-user tiles
// left 51% and 32-user tiles 39%).
constexpr std::size_t kFilterTile = 32;

// Columns [begin, end) of the pair matrix.
struct ColumnRun {
  std::size_t begin, end;
};

class FilterTiles {
 public:
  FilterTiles(const HardFilters& filters, std::size_t n, std::size_t tile);

  std::size_t tile() const noexcept { return tile_; }
  std::size_t count() const noexcept { return tiles_; }
  // Symmetric: may_allow(a, b) == may_allow(b, a).
  bool may_allow(std::size_t a, std::size_t b) const noexcept;
  // Whether the users [i0, i1) × [j0, j1) (non-empty ranges, in users, not tiles) may hold an
  // allowed pair: may_allow for some tile pair they touch.
  bool may_allow_users(std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) const noexcept;
  // The columns row tile `a` may allow, as runs of whole tiles (adjacent ones merged) within [0, n).
  std::vector<ColumnRun> column_runs(std::size_t a, std::size_t n) const;

 private:
  std::size_t tile_, tiles_, mutual_, overlap_;
  // Per tile, per mutual filter: OR of (1 << attr) and OR of accepts; per overlap filter: OR of bits.
  std::vector<std::uint32_t> attr_bits_, accepts_, overlap_bits_;
};

}  // namespace kindred::matching
