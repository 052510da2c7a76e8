// Ward agglomerative clustering of points in Euclidean space, returning SciPy's linkage matrix.
//
// The result equals scipy.cluster.hierarchy.linkage(X, 'ward') for the same points: the same merges
// in the same order, the same labels (a < b) and sizes, and heights in SciPy's units (the
// Lance–Williams Ward distance, which for two singletons is their Euclidean distance). It runs the
// nearest-neighbour chain as SciPy's nn_chain does, with SciPy's tie-breaking (the previous chain
// element first, then the lowest index), in float64 from float32 input, and with SciPy's update
// formula evaluated in SciPy's order, so exact ties resolve as SciPy resolves them.
//
// Cost: O(n² · dim / threads) for the pairwise distances plus O(n²) for the chain.
// Memory: one n × n float64 matrix (8·n² bytes: 8 MB at n = 1,000, 200 MB at 5,000, 800 MB at
// 10,000) plus 2 · n × dim float64 (the points in double, row-major and packed for the distance
// kernel) and O(n) bookkeeping. A square matrix rather than SciPy's condensed n(n−1)/2 one keeps
// every distance the chain reads in one contiguous row. The process keeps the last matrix of up to
// 64 MB (n ≤ 2,832 at dim 64) for the next call, which then skips the kernel's page faults and
// zeroing.
#pragma once

#include <cstddef>
#include <vector>

#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"

namespace kindred::clustering {

// Columns of a linkage row, as in SciPy: the two merged clusters (a < b; ids below n are points,
// id n + k is the cluster formed by row k), the merge height and the new cluster's size.
constexpr std::size_t kLinkageColumns = 4;

// The largest n accepted (cluster ids must stay exact int32 values, as in SciPy).
constexpr std::size_t kMaxWardPoints = 1u << 30;

// Bytes the clustering of n points of `dim` dimensions allocates, or 0 when that overflows.
std::size_t ward_linkage_bytes(std::size_t n, std::size_t dim) noexcept;

// Writes the (n − 1) × 4 linkage of `points` (n rows) into `out`, row-major. n ≤ 1 writes nothing.
// Points must be finite (the addon checks). Throws Error: kInvalidArgument (n too large, overflow),
// kCancelled when `cancel` fires (polled between merges and distance tiles); std::bad_alloc when
// the matrix cannot be allocated.
void ward_linkage(ConstMatrix points, double* out, const CancelToken& cancel, int threads);

// The same, returning the linkage as a vector of (n − 1) · 4 doubles.
std::vector<double> ward_linkage(ConstMatrix points, const CancelToken& cancel, int threads);

}  // namespace kindred::clustering
