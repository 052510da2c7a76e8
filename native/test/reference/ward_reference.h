// Naive references for the clustering tests: SciPy's generic O(n³) Lance–Williams Ward linkage
// (scipy/cluster/_hierarchy.pyx `linkage`: global closest pair, x < y, the union kept at y), a
// union-find threshold cut, and brute-force medoids. Slow and obviously right; test use only.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

namespace kindred::test {

inline std::vector<double> reference_ward_linkage(const std::vector<float>& points, std::size_t n, std::size_t dim) {
  std::vector<double> out;
  if (n <= 1) return out;
  std::vector<double> d(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < dim; ++k) {
        const double t = static_cast<double>(points[i * dim + k]) - static_cast<double>(points[j * dim + k]);
        s += t * t;
      }
      d[i * n + j] = std::sqrt(s);
    }
  }
  std::vector<long> id(n);
  std::iota(id.begin(), id.end(), 0L);
  std::vector<double> size(n, 1.0);
  std::vector<bool> live(n, true);
  for (std::size_t k = 0; k + 1 < n; ++k) {
    double best = std::numeric_limits<double>::infinity();
    std::size_t x = 0, y = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!live[i]) continue;
      for (std::size_t j = i + 1; j < n; ++j) {
        if (live[j] && d[i * n + j] < best) {
          best = d[i * n + j];
          x = i;
          y = j;
        }
      }
    }
    const double nx = size[x], ny = size[y];
    out.push_back(static_cast<double>(std::min(id[x], id[y])));
    out.push_back(static_cast<double>(std::max(id[x], id[y])));
    out.push_back(best);
    out.push_back(nx + ny);
    live[x] = false;
    id[y] = static_cast<long>(n + k);
    size[y] = nx + ny;
    for (std::size_t i = 0; i < n; ++i) {
      if (!live[i] || i == y) continue;
      const double ni = size[i], t = 1.0 / (nx + ny + ni);
      const double dxi = d[i * n + x], dyi = d[i * n + y];
      const double v = std::sqrt((ni + nx) * t * dxi * dxi + (ni + ny) * t * dyi * dyi - ni * t * best * best);
      d[i * n + y] = d[y * n + i] = v;
    }
  }
  return out;
}

// Flat clusters at threshold t: points joined by every merge whose subtree's highest merge is <= t.
// Returns a canonical labelling (clusters numbered by their lowest point), for comparing partitions
// up to renaming.
inline std::vector<int> reference_cut(const std::vector<double>& z, std::size_t n, double t) {
  std::vector<std::size_t> parent(2 * n);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  auto find = [&](std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::vector<double> max_h(n > 0 ? n - 1 : 0);
  for (std::size_t r = 0; r + 1 < n; ++r) {
    double h = z[r * 4 + 2];
    for (int c = 0; c < 2; ++c) {
      const auto ch = static_cast<std::size_t>(z[r * 4 + c]);
      if (ch >= n) h = std::max(h, max_h[ch - n]);
    }
    max_h[r] = h;
    if (h <= t) {
      parent[find(static_cast<std::size_t>(z[r * 4]))] = n + r;
      parent[find(static_cast<std::size_t>(z[r * 4 + 1]))] = n + r;
    }
  }
  std::vector<int> label(n);
  std::map<std::size_t, int> name;
  for (std::size_t i = 0; i < n; ++i) {
    auto it = name.emplace(find(i), static_cast<int>(name.size())).first;
    label[i] = it->second;
  }
  return label;
}

// Any labelling → canonical form (clusters numbered in order of first appearance).
template <typename Label>
std::vector<int> canonical(const std::vector<Label>& labels) {
  std::map<Label, int> name;
  std::vector<int> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) out[i] = name.emplace(labels[i], static_cast<int>(name.size())).first->second;
  return out;
}

// Medoid per cluster by the definition (labels 1..k): smallest distance sum, 2-member clusters the
// larger norm, ties the lowest row.
inline std::vector<std::int32_t> reference_medoids(const std::vector<float>& points, std::size_t dim,
                                                   const std::vector<std::int32_t>& labels, std::size_t k) {
  const std::size_t n = labels.size();
  std::vector<std::vector<std::size_t>> members(k);
  for (std::size_t i = 0; i < n; ++i) members[static_cast<std::size_t>(labels[i] - 1)].push_back(i);
  auto dist = [&](std::size_t a, std::size_t b) {
    double s = 0;
    for (std::size_t q = 0; q < dim; ++q) {
      const double t = static_cast<double>(points[a * dim + q]) - static_cast<double>(points[b * dim + q]);
      s += t * t;
    }
    return std::sqrt(s);
  };
  std::vector<std::int32_t> out(k);
  for (std::size_t c = 0; c < k; ++c) {
    const auto& m = members[c];
    std::size_t best = m[0];
    if (m.size() == 2) {
      double n0 = 0, n1 = 0;
      for (std::size_t q = 0; q < dim; ++q) {
        n0 += static_cast<double>(points[m[0] * dim + q]) * points[m[0] * dim + q];
        n1 += static_cast<double>(points[m[1] * dim + q]) * points[m[1] * dim + q];
      }
      best = n1 > n0 ? m[1] : m[0];
    } else if (m.size() > 2) {
      double best_sum = std::numeric_limits<double>::infinity();
      for (std::size_t a : m) {
        double s = 0;
        for (std::size_t b : m) s += a == b ? 0.0 : dist(a, b);
        if (s < best_sum) {
          best_sum = s;
          best = a;
        }
      }
    }
    out[c] = static_cast<std::int32_t>(best);
  }
  return out;
}

}  // namespace kindred::test
