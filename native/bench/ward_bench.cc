// Ward linkage timing: n = 1,000 / 5,000 / 10,000 points of dim 64 (seeded normal data), plus the
// threshold cut and the medoids. Compare with SciPy on the same machine:
//   /usr/bin/python3 tools/fixtures/ward_bench_scipy.py
// Usage: ward_bench [--dim D] [--reps R] [n ...]   (KINDRED_NUM_THREADS sets the threads)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <time.h>
#include <vector>

#include "kindred/clustering/cut_tree.h"
#include "kindred/clustering/medoids.h"
#include "kindred/clustering/ward_linkage.h"
#include "kindred/core/parallel.h"

using namespace kindred;

// CPU time of the calling thread (with one thread the whole linkage runs on it): unlike the wall
// clock, it does not count the time this shared VM gives to other processes.
static double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  std::size_t dim = 64;
  int fixed_reps = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dim" && i + 1 < argc) {
      dim = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--reps" && i + 1 < argc) {
      fixed_reps = std::atoi(argv[++i]);
    } else {
      sizes.push_back(std::strtoul(argv[i], nullptr, 10));
    }
  }
  if (sizes.empty()) sizes = {1000, 5000, 10000};
  const int threads = default_thread_count();
  std::printf("ward_bench: dim %zu, %d threads\n", dim, threads);
  for (std::size_t n : sizes) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> x(n * dim);
    for (auto& v : x) v = normal(rng);
    const int reps = fixed_reps > 0 ? fixed_reps : n <= 1000 ? 5 : n <= 5000 ? 3 : 2;
    std::vector<double> times, cpu;
    std::vector<double> z;
    for (int r = 0; r < reps; ++r) {
      const double c0 = thread_cpu_ms();
      auto t0 = std::chrono::steady_clock::now();
      z = clustering::ward_linkage(ConstMatrix(x.data(), n, dim), CancelToken(), threads);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      cpu.push_back(thread_cpu_ms() - c0);
    }
    std::sort(times.begin(), times.end());
    std::sort(cpu.begin(), cpu.end());
    const double best = times.front(), median = times[times.size() / 2];
    // Cut at the height that leaves ~sqrt(n) clusters, then medoids.
    const double t = z[(n - 1 - static_cast<std::size_t>(std::sqrt(double(n)))) * 4 + 2];
    std::vector<std::int32_t> labels(n);
    auto t1 = std::chrono::steady_clock::now();
    const std::size_t k = clustering::cut_tree(z.data(), n, t, labels.data());
    auto t2 = std::chrono::steady_clock::now();
    auto medoids = clustering::cluster_medoids(ConstMatrix(x.data(), n, dim), labels.data(), k, CancelToken(), threads);
    auto t3 = std::chrono::steady_clock::now();
    std::printf("n %6zu  linkage %9.2f ms best, %9.2f ms median of %d (this thread's CPU: %.2f ms median; %.0f MB)  "
                "cut %.4f s (%zu clusters)  medoids %.4f s\n",
                n, best, median, reps, cpu[cpu.size() / 2], double(clustering::ward_linkage_bytes(n, dim)) / 1e6,
                std::chrono::duration<double>(t2 - t1).count(), k, std::chrono::duration<double>(t3 - t2).count());
    (void)medoids;
  }
  return 0;
}
