// Flat clusters from a linkage cut at a distance threshold, as scipy.cluster.hierarchy.fcluster(Z,
// t, criterion='distance') forms them: two points share a cluster when the highest merge on the path
// between them (including every merge below it) is <= t. Labels are 1..k in SciPy's order (a
// depth-first walk from the root, left child first).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kindred::clustering {

// Checks that `linkage` ((n − 1) × 4, row-major) is a valid SciPy linkage of n points: ids are
// integers, each row merges two distinct clusters formed earlier and not merged yet, heights are
// not NaN, sizes add up. Throws Error(kInvalidArgument) naming the first bad row.
void check_linkage(const double* linkage, std::size_t n);

// Writes labels[i] ∈ 1..k for every point and returns k (0 when n = 0). Validates like
// check_linkage; `threshold` must not be NaN.
std::size_t cut_tree(const double* linkage, std::size_t n, double threshold, std::int32_t* labels);

}  // namespace kindred::clustering
