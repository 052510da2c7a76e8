#include "kindred/clustering/importance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kindred/core/check.h"

namespace kindred::clustering {

std::vector<double> cluster_importance(const std::int32_t* labels, const double* age_days, std::size_t n,
                                       std::size_t clusters, double lambda_per_day) {
  KINDRED_CHECK(std::isfinite(lambda_per_day) && lambda_per_day >= 0, "lambdaPerDay must be finite and >= 0, got ",
                lambda_per_day);
  std::vector<double> importance(clusters, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    KINDRED_CHECK(std::isfinite(age_days[i]) && age_days[i] >= 0, "age_days[", i, "] = ", age_days[i],
                  " must be finite and >= 0");
    KINDRED_CHECK(labels[i] >= 1 && static_cast<std::size_t>(labels[i]) <= clusters, "labels[", i, "] = ", labels[i],
                  " is not in 1..", clusters);
    importance[static_cast<std::size_t>(labels[i]) - 1] += std::exp(-lambda_per_day * age_days[i]);
  }
  return importance;
}

std::vector<std::int32_t> top_anchors(const std::vector<double>& importance, const std::vector<std::int32_t>& medoids,
                                      std::size_t max_anchors) {
  KINDRED_CHECK(importance.size() == medoids.size(), "importance and medoids must have the same length");
  std::vector<std::int32_t> order(importance.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int32_t x, std::int32_t y) {
    const double ix = importance[static_cast<std::size_t>(x)], iy = importance[static_cast<std::size_t>(y)];
    if (ix != iy) return ix > iy;
    return medoids[static_cast<std::size_t>(x)] < medoids[static_cast<std::size_t>(y)];
  });
  order.resize(std::min(max_anchors, order.size()));
  return order;
}

}  // namespace kindred::clustering
