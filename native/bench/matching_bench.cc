// Native matching benchmark (no Node needed): for pool-like instances of size N, the time of each
// stage (scores GEMM, pair weights + filters, matching) with ratios against the GEMM, the quality
// against the exact optimum (our blossom solver from the test tree, where it finishes) and against the
// certified upper bound, and a greedy baseline (sort all allowed pairs, take greedily) in the same run.
//
//   matching_bench [--rounds R] [--candidates K] [--no-greedy] [N ...]
//                                 default 1000 2000 5000 10000; exact optimum for N <= 2000
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../test/reference/exact_matching.h"
#include "kindred/backend/registry.h"
#include "kindred/core/error.h"
#include "kindred/gemm/pair_scores.h"
#include "kindred/matching/max_weight.h"
#include "kindred/matching/pair_weights.h"

using namespace kindred;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kDim = 64;
constexpr int kExactMax = 2000;

double ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Users in taste clusters, a popularity channel every chooser likes, gender/"wants" and languages.
struct Pool {
  std::vector<float> user, peer;
  std::vector<std::uint8_t> gender;
  std::vector<std::uint32_t> wants, languages;
};

Pool make_pool(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::uniform_real_distribution<float> u(0, 1);
  const int clusters = 16;
  std::vector<float> centre(clusters * kDim);
  for (auto& x : centre) x = g(rng);
  Pool p;
  p.user.resize(std::size_t(n) * kDim);
  p.peer.resize(std::size_t(n) * kDim);
  const float scale = 1.0f / std::sqrt(float(kDim));
  for (int i = 0; i < n; ++i) {
    const int c = int(rng() % clusters);
    const float popularity = 0.6f * g(rng);
    for (int k = 0; k < kDim; ++k) {
      p.user[std::size_t(i) * kDim + k] = (centre[c * kDim + k] + g(rng)) * scale;
      p.peer[std::size_t(i) * kDim + k] = (centre[c * kDim + k] + g(rng)) * scale;
    }
    // The last dimension is the popularity channel: every user vector weighs it positively.
    p.user[std::size_t(i) * kDim + kDim - 1] = 1.0f;
    p.peer[std::size_t(i) * kDim + kDim - 1] = popularity;
    p.gender.push_back(u(rng) < 0.5f ? 0 : 1);
    const float r = u(rng);
    p.wants.push_back(r < 0.8f ? (1u << (1 - p.gender.back())) | (r < 0.3f ? 3u : 0u) : 3u);
    p.languages.push_back(u(rng) < 0.85f ? 1u | (u(rng) < 0.3f ? 2u : 0u) : 2u | 4u);
  }
  return p;
}

double greedy(const std::vector<float>& w, int n, double* seconds) {
  const auto t0 = Clock::now();
  std::vector<std::pair<float, std::uint64_t>> edges;
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      const float x = w[std::size_t(i) * n + j];
      if (x > 0 && std::isfinite(x)) edges.push_back({x, (std::uint64_t(i) << 32) | std::uint32_t(j)});
    }
  }
  std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<char> used(n, 0);
  double total = 0;
  for (const auto& [x, key] : edges) {
    const int i = int(key >> 32), j = int(key & 0xffffffffu);
    if (used[i] || used[j]) continue;
    used[i] = used[j] = 1;
    total += x;
  }
  *seconds = ms(t0) / 1e3;
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  matching::MaxWeightOptions options;
  bool run_greedy = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      options.rounds = std::atoi(argv[++i]);
    } else if (arg == "--candidates" && i + 1 < argc) {
      options.candidates = std::atoi(argv[++i]);
    } else if (arg == "--no-greedy") {
      run_greedy = false;
    } else {
      sizes.push_back(std::atoi(argv[i]));
    }
  }
  if (sizes.empty()) sizes = {1000, 2000, 5000, 10000};
  backend::Backend& be = backend::best();
  std::printf("matching benchmark: %u hardware threads, scores on %s (%s)\n", std::thread::hardware_concurrency(),
              be.info().name.c_str(), be.info().device.c_str());
  std::printf("%6s %9s %9s %9s %8s %9s | %9s %9s %9s | %9s %9s\n", "N", "gemm ms", "filter ms", "match ms", "total/", "forbidden",
              "vs exact", "vs bound", "greedy/ex", "greedy ms", "exact ms");
  std::printf("%6s %9s %9s %9s %8s %9s | %9s %9s %9s | %9s %9s\n", "", "", "", "", "gemm", "", "", "", "", "", "");
  try {
    for (int n : sizes) {
      Pool pool = make_pool(n, 1234 + n);
      std::vector<float> w(std::size_t(n) * n);
      auto t0 = Clock::now();
      // Warm-up run of the GEMM so thread pools and pages are in place, as in a service.
      gemm::pair_scores(be, ConstMatrix(pool.user.data(), n, kDim), ConstMatrix(pool.peer.data(), n, kDim),
                        MutableMatrix(w.data(), n, n), CancelToken());
      t0 = Clock::now();
      gemm::pair_scores(be, ConstMatrix(pool.user.data(), n, kDim), ConstMatrix(pool.peer.data(), n, kDim),
                        MutableMatrix(w.data(), n, n), CancelToken());
      const double gemm_ms = ms(t0);
      matching::HardFilters filters;
      filters.mutual.push_back({pool.gender.data(), pool.wants.data()});
      filters.overlap.push_back(pool.languages.data());
      matching::Transform transform{matching::Transform::Kind::kExp, 0.8f, 0.0f};
      t0 = Clock::now();
      const auto stats = matching::pair_weights(MutableMatrix(w.data(), n, n), transform, filters, CancelToken(), 0);
      const double filter_ms = ms(t0);
      t0 = Clock::now();
      const auto result = matching::max_weight_matching(ConstMatrix(w.data(), n, n), options, CancelToken());
      const double match_ms = ms(t0);
      double greedy_s = NAN;
      const double greedy_total = run_greedy ? greedy(w, n, &greedy_s) : NAN;
      double exact = NAN, exact_ms = NAN;
      if (n <= kExactMax) {
        t0 = Clock::now();
        exact = test::blossom_matching(w.data(), n).weight;
        exact_ms = ms(t0);
      }
      const double pairs_total = double(n) * (n - 1) / 2;
      std::printf("%6d %9.1f %9.1f %9.1f %7.2fx %8.1f%% | %8.3f%% %8.3f%% %8.3f%% | %9.1f %9.0f\n", n, gemm_ms, filter_ms,
                  match_ms, (gemm_ms + filter_ms + match_ms) / gemm_ms, 100.0 * (1 - stats.allowed_pairs / pairs_total),
                  100.0 * result.total_weight / exact, 100.0 * result.total_weight / result.upper_bound,
                  100.0 * greedy_total / exact, greedy_s * 1e3, exact_ms);
      std::printf("         matching: dense passes %.1f ms (%d tightening), graph %.1f ms, auction %.1f ms (%d auctions, %d candidates), repair %.1f ms\n",
                  result.seconds_candidates * 1e3, result.tightening_passes, result.seconds_graph * 1e3, result.seconds_auction * 1e3,
                  result.auctions, result.candidates, result.seconds_repair * 1e3);
      std::fflush(stdout);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error %s: %s\n", code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
