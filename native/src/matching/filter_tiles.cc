#include "filter_tiles.h"

#include <algorithm>

namespace kindred::matching {

FilterTiles::FilterTiles(const HardFilters& filters, std::size_t n, std::size_t tile)
    : tile_(std::max<std::size_t>(tile, 1)),
      tiles_((n + tile_ - 1) / tile_),
      mutual_(filters.mutual.size()),
      overlap_(filters.overlap.size()),
      attr_bits_(tiles_ * mutual_, 0),
      accepts_(tiles_ * mutual_, 0),
      overlap_bits_(tiles_ * overlap_, 0) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t t = i / tile_;
    for (std::size_t f = 0; f < mutual_; ++f) {
      const unsigned attr = filters.mutual[f].attr[i];
      // An attr ≥ 32 accepts nothing and is accepted by nobody (hard_filters.h): it adds no bit.
      if (attr < 32) attr_bits_[t * mutual_ + f] |= 1u << attr;
      accepts_[t * mutual_ + f] |= filters.mutual[f].accepts[i];
    }
    for (std::size_t f = 0; f < overlap_; ++f) overlap_bits_[t * overlap_ + f] |= filters.overlap[f][i];
  }
}

bool FilterTiles::may_allow(std::size_t a, std::size_t b) const noexcept {
  for (std::size_t f = 0; f < mutual_; ++f) {
    if ((accepts_[a * mutual_ + f] & attr_bits_[b * mutual_ + f]) == 0) return false;
    if ((accepts_[b * mutual_ + f] & attr_bits_[a * mutual_ + f]) == 0) return false;
  }
  for (std::size_t f = 0; f < overlap_; ++f) {
    if ((overlap_bits_[a * overlap_ + f] & overlap_bits_[b * overlap_ + f]) == 0) return false;
  }
  return true;
}

std::vector<ColumnRun> FilterTiles::column_runs(std::size_t a, std::size_t n) const {
  std::vector<ColumnRun> runs;
  for (std::size_t b = 0; b < tiles_; ++b) {
    if (!may_allow(a, b)) continue;
    const std::size_t begin = b * tile_, end = std::min(n, begin + tile_);
    if (!runs.empty() && runs.back().end == begin) {
      runs.back().end = end;
    } else {
      runs.push_back({begin, end});
    }
  }
  return runs;
}

bool FilterTiles::may_allow_users(std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) const noexcept {
  for (std::size_t a = i0 / tile_; a <= (i1 - 1) / tile_; ++a) {
    for (std::size_t b = j0 / tile_; b <= (j1 - 1) / tile_; ++b) {
      if (may_allow(a, b)) return true;
    }
  }
  return false;
}

}  // namespace kindred::matching
