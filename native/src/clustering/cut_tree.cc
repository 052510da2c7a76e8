#include "kindred/clustering/cut_tree.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kindred/clustering/ward_linkage.h"
#include "kindred/core/check.h"

namespace kindred::clustering {

void check_linkage(const double* linkage, std::size_t n) {
  KINDRED_CHECK(n <= kMaxWardPoints, "linkage: n = ", n, " exceeds the limit of ", kMaxWardPoints);
  if (n <= 1) return;
  KINDRED_CHECK(linkage != nullptr, "linkage must not be null");
  std::vector<char> used(2 * n - 1, 0);
  std::vector<double> size(2 * n - 1, 1.0);
  for (std::size_t r = 0; r + 1 < n; ++r) {
    const double* row = linkage + r * kLinkageColumns;
    const double limit = static_cast<double>(n + r);
    for (int c = 0; c < 2; ++c) {
      const double id = row[c];
      KINDRED_CHECK(id >= 0 && id < limit && std::floor(id) == id, "linkage row ", r, ": cluster id ", id,
                    " is not an integer in [0, ", n + r, ")");
      KINDRED_CHECK(!used[static_cast<std::size_t>(id)], "linkage row ", r, ": cluster ", id, " was already merged");
      used[static_cast<std::size_t>(id)] = 1;
    }
    KINDRED_CHECK(!std::isnan(row[2]), "linkage row ", r, ": the height is NaN");
    const double expected = size[static_cast<std::size_t>(row[0])] + size[static_cast<std::size_t>(row[1])];
    KINDRED_CHECK(row[3] == expected, "linkage row ", r, ": size ", row[3], " should be ", expected);
    size[n + r] = expected;
  }
}

std::size_t cut_tree(const double* linkage, std::size_t n, double threshold, std::int32_t* labels) {
  KINDRED_CHECK(!std::isnan(threshold), "threshold must not be NaN");
  check_linkage(linkage, n);
  if (n == 0) return 0;
  if (n == 1) {
    labels[0] = 1;
    return 1;
  }
  auto child = [&](std::size_t row, int c) { return static_cast<std::size_t>(linkage[row * kLinkageColumns + c]); };
  // The highest merge in each cluster's subtree (heights need not be monotone in a foreign linkage).
  std::vector<double> max_height(n - 1);
  for (std::size_t r = 0; r + 1 < n; ++r) {
    double h = linkage[r * kLinkageColumns + 2];
    for (int c = 0; c < 2; ++c) {
      const std::size_t id = child(r, c);
      if (id >= n) h = std::max(h, max_height[id - n]);
    }
    max_height[r] = h;
  }
  // Depth-first from the root, left child first. The first node on the way down whose subtree stays
  // within the threshold leads a cluster; every point below it gets that cluster's number, and a
  // point hanging directly off a higher node is a cluster of its own.
  std::vector<std::size_t> stack;
  stack.reserve(n);
  std::vector<char> visited(2 * n - 1, 0);
  stack.push_back(2 * n - 2);
  std::ptrdiff_t leader = -1;
  std::int32_t clusters = 0;
  while (!stack.empty()) {
    const std::size_t root = stack.back() - n;
    const std::size_t left = child(root, 0), right = child(root, 1);
    if (leader == -1 && max_height[root] <= threshold) {
      leader = static_cast<std::ptrdiff_t>(root);
      ++clusters;
    }
    if (left >= n && !visited[left]) {
      visited[left] = 1;
      stack.push_back(left);
      continue;
    }
    if (right >= n && !visited[right]) {
      visited[right] = 1;
      stack.push_back(right);
      continue;
    }
    for (const std::size_t leaf : {left, right}) {
      if (leaf >= n) continue;
      if (leader == -1) ++clusters;
      labels[leaf] = clusters;
    }
    if (leader == static_cast<std::ptrdiff_t>(root)) leader = -1;
    stack.pop_back();
  }
  return static_cast<std::size_t>(clusters);
}

}  // namespace kindred::clustering
