// PinnerSage's cluster importance and retrieval anchors.
//
// importance(C) = Σ over members i of exp(−λ · age_days[i]): frequency × recency. The same item
// engaged twice is two history rows, so it counts twice (its rows are identical points, which the
// Ward linkage always merges at height 0, so they share a cluster at any threshold >= 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kindred::clustering {

// The default decay: 0.01 per day (PinnerSage).
constexpr double kDefaultLambdaPerDay = 0.01;

// Importance of clusters 1..clusters (at index c − 1), summed in ascending row order. Ages must be
// finite and >= 0, lambda finite and >= 0; labels in 1..clusters. Throws Error(kInvalidArgument).
std::vector<double> cluster_importance(const std::int32_t* labels, const double* age_days, std::size_t n,
                                       std::size_t clusters, double lambda_per_day);

// The indices (0-based) of the `max_anchors` most important clusters, most important first. Ties go
// to the cluster whose medoid has the lower row index (medoids are distinct rows, so this is total).
std::vector<std::int32_t> top_anchors(const std::vector<double>& importance, const std::vector<std::int32_t>& medoids,
                                      std::size_t max_anchors);

}  // namespace kindred::clustering
