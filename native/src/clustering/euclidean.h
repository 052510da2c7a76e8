// Euclidean distances in float64 between rows of float64 matrices, shared by the Ward linkage and
// the medoids. The sum runs over eight interleaved partial sums (so it vectorizes); for integer
// coordinates every step is exact, so exact ties stay exact.
#pragma once

#include <cmath>
#include <cstddef>

namespace kindred::clustering::detail {

inline double squared_distance(const double* a, const double* b, std::size_t dim) noexcept {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t k = 0;
  for (; k + 8 <= dim; k += 8) {
    for (std::size_t l = 0; l < 8; ++l) {
      const double t = a[k + l] - b[k + l];
      acc[l] += t * t;
    }
  }
  double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < dim; ++k) {
    const double t = a[k] - b[k];
    sum += t * t;
  }
  return sum;
}

inline double distance(const double* a, const double* b, std::size_t dim) noexcept {
  return std::sqrt(squared_distance(a, b, dim));
}

}  // namespace kindred::clustering::detail
