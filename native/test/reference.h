// Naive references and seeded inputs shared by the native tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace kindred::test {

// c = a·bᵀ in double, plus Σ|a_k·b_k| per entry for the error bound.
inline void reference_abt(const std::vector<float>& a, const std::vector<float>& b, std::size_t rows,
                          std::size_t cols, std::size_t dim, std::vector<double>& c, std::vector<double>& magnitude) {
  c.assign(rows * cols, 0.0);
  magnitude.assign(rows * cols, 0.0);
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      double sum = 0, mag = 0;
      for (std::size_t k = 0; k < dim; ++k) {
        double p = static_cast<double>(a[i * dim + k]) * static_cast<double>(b[j * dim + k]);
        sum += p;
        mag += std::fabs(p);
      }
      c[i * cols + j] = sum;
      magnitude[i * cols + j] = mag;
    }
  }
}

inline std::vector<float> random_matrix(std::mt19937& rng, std::size_t rows, std::size_t dim, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> m(rows * dim);
  for (auto& v : m) v = normal(rng);
  return m;
}

}  // namespace kindred::test
