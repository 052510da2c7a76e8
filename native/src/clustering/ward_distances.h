// The pairwise Euclidean distances of the Ward linkage, tile by tile (internal to the clustering).
#pragma once

#include <cstddef>

namespace kindred::clustering::detail {

// Rows per side of a distance tile (the unit of work handed to a thread).
constexpr std::size_t kTile = 64;

// Points per panel: the kernel measures 4 rows against one panel of 8 points at a time.
constexpr std::size_t kPanel = 8;

// Doubles that pack_panels writes for n points of `dim` dimensions (n rounded up to a whole panel).
inline std::size_t panel_doubles(std::size_t n, std::size_t dim) noexcept {
  return (n + kPanel - 1) / kPanel * kPanel * dim;
}

// Copies the n points (row-major, `dim` doubles each) into panels of kPanel points, dimension-major
// within a panel (panel p holds, for k = 0..dim-1, coordinate k of points 8p..8p+7), padding the
// last panel with zeros. The kernel then reads one contiguous vector of 8 points per dimension.
void pack_panels(const double* points, std::size_t n, std::size_t dim, double* panels) noexcept;

// Distances of tile (ti, tj), tj <= ti, of the n points (row-major, plus their panels) into the
// n × n matrix d (row stride n) and its mirror; +inf on the diagonal. Each tile pair writes only
// its own two blocks, so tiles can run on different threads.
void distance_tile(const double* points, const double* panels, std::size_t n, std::size_t dim, std::size_t ti,
                   std::size_t tj, double* d) noexcept;

}  // namespace kindred::clustering::detail
