// Native benchmark of pair_weights (scores → symmetric weights in place) against a same-run
// baseline: one parallel pass that reads and writes every score once (what any in-place transform
// must at least pay in memory traffic). Median over repetitions; the scores are restored (untimed)
// before each run.
//
//   pair_weights_bench [reps=5] [n ...]      default n = 2000 10000
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "kindred/core/error.h"
#include "kindred/core/parallel.h"
#include "kindred/matching/filter_order.h"
#include "kindred/matching/pair_weights.h"

using namespace kindred;

namespace {

volatile float g_scale = 1.0f;  // opaque to the compiler, so the baseline pass is not elided

// The baseline: scores[k] *= 1 over the whole matrix, row blocks in parallel, same thread count.
void read_write_pass(std::vector<float>& m, std::size_t n, int threads) {
  const float scale = g_scale;
  constexpr std::size_t kRowsPerTask = 64;
  parallel_for((n + kRowsPerTask - 1) / kRowsPerTask, threads, [&](std::size_t task) {
    float* p = m.data() + task * kRowsPerTask * n;
    const std::size_t count = std::min(kRowsPerTask, n - task * kRowsPerTask) * n;
    for (std::size_t k = 0; k < count; ++k) p[k] *= scale;
  });
}

template <typename Fn>
double median_ms(int reps, std::vector<float>& work, const std::vector<float>& pristine, Fn fn) {
  std::vector<double> times;
  for (int r = 0; r < reps + 1; ++r) {  // the first run warms up
    std::memcpy(work.data(), pristine.data(), pristine.size() * sizeof(float));
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const auto t1 = std::chrono::steady_clock::now();
    if (r > 0) times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  std::vector<std::size_t> sizes;
  for (int i = 2; i < argc; ++i) sizes.push_back(static_cast<std::size_t>(std::strtoull(argv[i], nullptr, 10)));
  if (sizes.empty()) sizes = {2000, 10000};
  const int threads = default_thread_count();
  std::printf("machine: %u hardware threads, %d used\n", std::thread::hardware_concurrency(), threads);

  try {
    for (std::size_t n : sizes) {
      std::mt19937 rng(42);
      std::normal_distribution<float> normal(0.0f, 3.0f);
      std::vector<float> pristine(n * n), work(n * n);
      for (auto& v : pristine) v = normal(rng);
      std::vector<std::uint8_t> attr(n);
      std::vector<std::uint32_t> accepts(n), overlap(n);
      for (auto& a : attr) a = static_cast<std::uint8_t>(rng() % 4);
      for (auto& a : accepts) a = static_cast<std::uint32_t>(rng()) & 0xfu;
      for (auto& o : overlap) o = static_cast<std::uint32_t>(rng()) & 0xfu;

      matching::HardFilters filters;
      filters.mutual.push_back({attr.data(), accepts.data()});
      filters.overlap.push_back(overlap.data());
      // The same users in filter order (by attr, then accepts), as matchEmbeddings orders a pool:
      // whole 32-user tiles the mutual filter forbids are set to −∞ without reading their scores.
      const matching::FilterOrder ordered(filters, n);
      const matching::HardFilters& sorted = ordered.filters();
      matching::HardFilters none;
      matching::Transform exp_t;  // exp(s)
      matching::Transform identity;
      identity.kind = matching::Transform::Kind::kIdentity;
      MutableMatrix m(work.data(), n, n);

      std::printf("\nn = %zu (matrix %.0f MB, in place)\n", n, n * n * 4 / 1e6);
      const double base = median_ms(reps, work, pristine, [&] { read_write_pass(work, n, threads); });
      std::printf("  %-40s median %9.2f ms  %6.2f GB/s (read+write)\n", "baseline: read+write every score once", base,
                  2.0 * n * n * 4 / (base / 1e3) / 1e9);
      std::size_t pairs = 0;
      struct Variant {
        const char* name;
        const matching::Transform* t;
        const matching::HardFilters* f;
      };
      for (const Variant& v : {Variant{"exp + 1 mutual + 1 overlap", &exp_t, &filters},
                               Variant{"  the same, users in filter order", &exp_t, &sorted},
                               Variant{"exp, no filter", &exp_t, &none},
                               Variant{"identity, no filter", &identity, &none}}) {
        const double ms = median_ms(reps, work, pristine, [&] {
          pairs = matching::pair_weights(m, *v.t, *v.f, CancelToken(), threads).allowed_pairs;
        });
        std::printf("  %-40s median %9.2f ms  %.2fx baseline  (%zu allowed pairs)\n", v.name, ms, ms / base, pairs);
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error %s: %s\n", code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
