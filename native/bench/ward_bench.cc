// Ward linkage timing: n = 1,000 / 5,000 / 10,000 points of dim 64 (seeded normal data), plus the
// threshold cut and the medoids. Compare with SciPy on the same machine:
//   /usr/bin/python3 tools/fixtures/ward_bench_scipy.py
// Usage: ward_bench [n ...]   (KINDRED_NUM_THREADS sets the threads)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kindred/clustering/cut_tree.h"
#include "kindred/clustering/medoids.h"
#include "kindred/clustering/ward_linkage.h"
#include "kindred/core/parallel.h"

using namespace kindred;

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoul(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {1000, 5000, 10000};
  const std::size_t dim = 64;
  const int threads = default_thread_count();
  std::printf("ward_bench: dim %zu, %d threads\n", dim, threads);
  for (std::size_t n : sizes) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> x(n * dim);
    for (auto& v : x) v = normal(rng);
    const int reps = n <= 1000 ? 5 : n <= 5000 ? 3 : 2;
    double best = 1e30;
    std::vector<double> z;
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      z = clustering::ward_linkage(ConstMatrix(x.data(), n, dim), CancelToken(), threads);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    // Cut at the height that leaves ~sqrt(n) clusters, then medoids.
    const double t = z[(n - 1 - static_cast<std::size_t>(std::sqrt(double(n)))) * 4 + 2];
    std::vector<std::int32_t> labels(n);
    auto t1 = std::chrono::steady_clock::now();
    const std::size_t k = clustering::cut_tree(z.data(), n, t, labels.data());
    auto t2 = std::chrono::steady_clock::now();
    auto medoids = clustering::cluster_medoids(ConstMatrix(x.data(), n, dim), labels.data(), k, CancelToken(), threads);
    auto t3 = std::chrono::steady_clock::now();
    std::printf("n %6zu  linkage %8.3f s (best of %d, %.0f MB matrix)  cut %.4f s (%zu clusters)  medoids %.4f s\n", n,
                best, reps, double(clustering::ward_linkage_bytes(n, dim)) / 1e6, reps == 0 ? 0.0 : std::chrono::duration<double>(t2 - t1).count(), k,
                std::chrono::duration<double>(t3 - t2).count());
    (void)medoids;
  }
  return 0;
}
