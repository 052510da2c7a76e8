#include "kindred/clustering/medoids.h"

#include <limits>

#include "euclidean.h"
#include "kindred/core/check.h"
#include "kindred/core/parallel.h"

namespace kindred::clustering {

std::vector<std::int32_t> cluster_medoids(ConstMatrix points, const std::int32_t* labels, std::size_t clusters,
                                          const CancelToken& cancel, int threads) {
  const std::size_t n = points.rows, dim = points.cols;
  KINDRED_CHECK(clusters <= n, "clusters (", clusters, ") must not exceed the number of points (", n, ")");
  KINDRED_CHECK(n < std::size_t{1} << 31, "medoids: n = ", n, " exceeds 2^31 - 1");
  if (n == 0) return {};
  // Members of each cluster in ascending row order (a counting sort by label).
  std::vector<std::size_t> start(clusters + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t label = labels[i];
    KINDRED_CHECK(label >= 1 && static_cast<std::size_t>(label) <= clusters, "labels[", i, "] = ", label,
                  " is not in 1..", clusters);
    ++start[static_cast<std::size_t>(label)];
  }
  for (std::size_t c = 0; c < clusters; ++c) {
    KINDRED_CHECK(start[c + 1] > 0, "label ", c + 1, " has no members (labels must be 1..k with no gaps)");
    start[c + 1] += start[c];
  }
  std::vector<std::size_t> members(n), fill(start.begin(), start.end() - 1);
  std::vector<std::size_t> cluster_of(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = static_cast<std::size_t>(labels[i]) - 1;
    cluster_of[i] = c;
    members[fill[c]++] = i;
  }

  std::vector<double> xd(mul_or_throw(n, dim, "n x dim"));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < dim; ++k) xd[i * dim + k] = static_cast<double>(points.row(i)[k]);
  }

  // score[i]: the sum of distances to the other members (clusters of 3+), or minus the squared norm
  // (clusters of 2), so that in both cases the smallest score wins.
  std::vector<double> score(n, 0.0);
  // Below about a million multiply-adds a second thread costs more to start than it saves.
  double work = 0;
  for (std::size_t c = 0; c < clusters; ++c) {
    const double size = static_cast<double>(start[c + 1] - start[c]);
    work += size * size * static_cast<double>(dim);
  }
  parallel_for(n, work < 1e6 ? 1 : threads, [&](std::size_t i) {
    if (cancel.cancelled()) cancel.throw_if_cancelled();
    const std::size_t c = cluster_of[i];
    const std::size_t size = start[c + 1] - start[c];
    const double* a = xd.data() + i * dim;
    if (size == 2) {
      double norm = 0;
      for (std::size_t k = 0; k < dim; ++k) norm += a[k] * a[k];
      score[i] = -norm;
    } else if (size > 2) {
      double sum = 0;  // summed in ascending row order: the same on every run
      for (std::size_t m = start[c]; m < start[c + 1]; ++m) {
        const std::size_t j = members[m];
        if (j != i) sum += detail::distance(a, xd.data() + j * dim, dim);
      }
      score[i] = sum;
    }
  });

  std::vector<std::int32_t> medoid(clusters);
  for (std::size_t c = 0; c < clusters; ++c) {
    std::size_t best = members[start[c]];
    for (std::size_t m = start[c] + 1; m < start[c + 1]; ++m) {
      if (score[members[m]] < score[best]) best = members[m];  // strict: the lowest row keeps a tie
    }
    medoid[c] = static_cast<std::int32_t>(best);
  }
  return medoid;
}

}  // namespace kindred::clustering
