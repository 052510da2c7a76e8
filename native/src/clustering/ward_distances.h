// The pairwise Euclidean distances of the Ward linkage, tile by tile (internal to the clustering).
#pragma once

#include <cstddef>

namespace kindred::clustering::detail {

// Rows per side of a distance tile: 2 × 64 rows of doubles stay in L2.
constexpr std::size_t kTile = 64;

// Distances of tile (ti, tj), tj <= ti, of the n points (row-major, `dim` doubles each) into the
// n × n matrix d (row stride n) and its mirror; +inf on the diagonal. Each tile pair writes only
// its own two blocks, so tiles can run on different threads.
void distance_tile(const double* points, std::size_t n, std::size_t dim, std::size_t ti, std::size_t tj, double* d);

}  // namespace kindred::clustering::detail
