// The exact matching references cross-checked: Edmonds' blossom algorithm against the subset DP on
// many small seeded instances, and on larger ones against its own dual certificate and greedy.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "reference/exact_matching.h"

using namespace kindred::test;

namespace {

constexpr float kForbidden = -INFINITY;

bool close(double a, double b, double rel = 1e-9) {
  if (a == b) return true;
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b));
}

// Symmetric matrix from a per-pair generator; the diagonal gets `diag` (must be ignored).
template <typename F>
std::vector<float> symmetric(int n, F&& pair_weight, float diag = kForbidden) {
  std::vector<float> w(static_cast<std::size_t>(n) * n, diag);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) w[i * n + j] = w[j * n + i] = pair_weight(i, j);
  return w;
}

void forbid_fraction(std::vector<float>& w, int n, double fraction, std::mt19937& rng) {
  std::bernoulli_distribution drop(fraction);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (drop(rng)) w[i * n + j] = w[j * n + i] = kForbidden;
}

const char* const kKinds[] = {
    "uniform",        "int_ties",         "exp_tailed",     "forbid25",    "forbid75",
    "all_forbidden",  "one_pair",         "negative_mixed", "all_negative", "star",
    "duplicate_rows", "zeros_and_ties",   "wide_range",     "garbage_diagonal",
};
constexpr int kNumKinds = sizeof(kKinds) / sizeof(kKinds[0]);

std::vector<float> make_instance(int kind, int n, std::mt19937& rng) {
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> small_int(0, 3);
  std::vector<float> w;
  switch (kind) {
    case 0: w = symmetric(n, [&](int, int) { return uni(rng); }); break;
    case 1: w = symmetric(n, [&](int, int) { return static_cast<float>(small_int(rng)); }); break;
    case 2: w = symmetric(n, [&](int, int) { return static_cast<float>(std::exp(3.0 * normal(rng))); }); break;
    case 3:
      w = symmetric(n, [&](int, int) { return uni(rng); });
      forbid_fraction(w, n, 0.25, rng);
      break;
    case 4:
      w = symmetric(n, [&](int, int) { return static_cast<float>(1 + small_int(rng)); });
      forbid_fraction(w, n, 0.75, rng);
      break;
    case 5: w = symmetric(n, [&](int, int) { return kForbidden; }); break;
    case 6: {
      w = symmetric(n, [&](int, int) { return kForbidden; });
      if (n >= 2) {
        std::uniform_int_distribution<int> pick(0, n - 1);
        int a = pick(rng), b = pick(rng);
        while (b == a) b = pick(rng);
        const float x = static_cast<float>(normal(rng));  // may be negative: then best is empty
        w[a * n + b] = w[b * n + a] = x;
      }
      break;
    }
    case 7: w = symmetric(n, [&](int, int) { return static_cast<float>(normal(rng)); }); break;
    case 8: w = symmetric(n, [&](int, int) { return -uni(rng) - 0.01f; }); break;
    case 9: {
      std::uniform_int_distribution<int> pick(0, n - 1);
      const int hub = n > 0 ? pick(rng) : 0;
      w = symmetric(n, [&](int i, int j) { return (i == hub || j == hub) ? 1e6f * (1 + uni(rng)) : uni(rng); });
      break;
    }
    case 10: {
      // Vertices copied from others (identical rows/columns): many equal-weight optima.
      w = symmetric(n, [&](int, int) { return static_cast<float>(small_int(rng)) + 0.5f * uni(rng); });
      std::uniform_int_distribution<int> pick(0, n - 1);
      for (int c = 0; c < n / 2; ++c) {
        const int src = pick(rng), dst = pick(rng);
        if (src == dst) continue;
        for (int x = 0; x < n; ++x)
          if (x != src && x != dst) w[dst * n + x] = w[x * n + dst] = w[src * n + x];
      }
      break;
    }
    case 11: w = symmetric(n, [&](int, int) { return small_int(rng) == 0 ? 1.0f : 0.0f; }); break;
    case 12:
      w = symmetric(n, [&](int, int) {
        std::uniform_real_distribution<double> e(-30, 30);
        return static_cast<float>(std::pow(10.0, e(rng)) * (small_int(rng) == 0 ? -1 : 1));
      });
      break;
    default: {
      // Uniform weights with NaN / +inf / huge values on the diagonal and some NaN / +inf pairs.
      const float diag_values[] = {NAN, INFINITY, 1e30f, -5.0f};
      w = symmetric(n, [&](int, int) { return uni(rng); }, diag_values[small_int(rng)]);
      std::bernoulli_distribution odd(0.15);
      for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j)
          if (odd(rng)) w[i * n + j] = w[j * n + i] = (small_int(rng) & 1) ? NAN : INFINITY;
      break;
    }
  }
  return w;
}

std::string describe(const char* kind, int n, std::uint32_t seed) {
  std::ostringstream s;
  s << "kind=" << kind << " n=" << n << " seed=" << seed;
  return s.str();
}

// Blossom vs brute force on one instance; returns false (after reporting) on a mismatch.
bool cross_check(const std::vector<float>& w, int n, const std::string& what) {
  const ExactMatching bf = brute_force_matching(w.data(), n);
  const ExactMatching bl = blossom_matching(w.data(), n);
  const double bf_w = matching_weight(w.data(), n, bf.mate);
  const double bl_w = matching_weight(w.data(), n, bl.mate);
  const bool bf_ok = !std::isnan(bf_w) && bf_w == bf.weight;
  const bool bl_ok = !std::isnan(bl_w) && bl_w == bl.weight;
  const bool same = close(bf.weight, bl.weight);
  CHECK(bf_ok) << what << " brute force invalid or misreported: " << bf_w << " vs " << bf.weight;
  CHECK(bl_ok) << what << " blossom invalid or misreported: " << bl_w << " vs " << bl.weight;
  CHECK(same) << what << " brute force " << bf.weight << " != blossom " << bl.weight;
  const bool ok = bf_ok && bl_ok && same;
  return ok;
}

}  // namespace

TEST(matching_weight_rejects_invalid_matchings) {
  const int n = 4;
  std::vector<float> w = symmetric(n, [](int i, int j) { return static_cast<float>(i + j); });
  w[0 * n + 3] = w[3 * n + 0] = kForbidden;
  CHECK(matching_weight(w.data(), n, {1, 0, 3, 2}) == 1.0 + 5.0);
  CHECK(matching_weight(w.data(), n, {-1, -1, -1, -1}) == 0.0);
  CHECK(std::isnan(matching_weight(w.data(), n, {1, 2, -1, -1})));  // not symmetric
  CHECK(std::isnan(matching_weight(w.data(), n, {3, -1, -1, 0})));   // forbidden pair
  CHECK(std::isnan(matching_weight(w.data(), n, {0, -1, -1, -1})));  // self
  CHECK(std::isnan(matching_weight(w.data(), n, {4, -1, -1, -1})));  // out of range
  CHECK(std::isnan(matching_weight(w.data(), n, {1, 0, -1})));       // wrong size
}

TEST(tiny_graphs) {
  for (int n = 0; n <= 1; ++n) {
    std::vector<float> w(static_cast<std::size_t>(n) * n, 7.0f);  // a diagonal, ignored
    for (const auto& r : {brute_force_matching(w.data(), n), blossom_matching(w.data(), n)}) {
      CHECK(r.mate.size() == static_cast<std::size_t>(n)) << "n=" << n;
      CHECK(r.weight == 0.0) << "n=" << n;
      if (n == 1) {
        CHECK(r.mate[0] == -1);
      }
    }
  }
  // n=2: a positive pair is taken, a zero/negative/forbidden one adds nothing.
  for (float x : {2.5f, 0.0f, -1.0f, kForbidden, NAN}) {
    std::vector<float> w = {0, x, x, 0};
    const ExactMatching bl = blossom_matching(w.data(), 2);
    const double expect = x > 0 ? x : 0.0;
    CHECK(bl.weight == expect) << "x=" << x << " weight " << bl.weight;
    CHECK(brute_force_matching(w.data(), 2).weight == expect) << "x=" << x;
    if (x > 0) {
      CHECK(bl.mate[0] == 1 && bl.mate[1] == 0) << "x=" << x;
    }
  }
  // n=3, a triangle: the heaviest edge.
  std::vector<float> w = symmetric(3, [](int i, int j) { return static_cast<float>(i * 3 + j); });
  CHECK(blossom_matching(w.data(), 3).weight == 5.0);
  // Exhaustive small-integer weights (ties, zeros, negatives, forbidden) on all n=3 graphs.
  const float values[] = {kForbidden, -1.0f, 0.0f, 1.0f, 2.0f};
  int failures = 0;
  for (int a = 0; a < 5; ++a)
    for (int b = 0; b < 5; ++b)
      for (int c = 0; c < 5; ++c) {
        std::vector<float> t = {0, values[a], values[b], values[a], 0, values[c], values[b], values[c], 0};
        std::ostringstream what;
        what << "n=3 values " << a << b << c;
        if (!cross_check(t, 3, what.str()) && ++failures > 5) return;
      }
}

TEST(hand_made_odd_cycles) {
  struct Edge {
    int i, j;
    float w;
  };
  auto graph = [](int n, std::initializer_list<Edge> edges) {
    std::vector<float> w(static_cast<std::size_t>(n) * n, kForbidden);
    for (const Edge& e : edges) w[e.i * n + e.j] = w[e.j * n + e.i] = e.w;
    return w;
  };
  // A triangle with a pendant: the optimum leaves the triangle's heaviest edge (needs a blossom).
  const auto g1 = graph(4, {{0, 1, 8}, {0, 2, 9}, {1, 2, 10}, {2, 3, 7}});
  CHECK(blossom_matching(g1.data(), 4).weight == 15.0) << blossom_matching(g1.data(), 4).weight;
  // The same with pendants on two triangle vertices: the blossom is used for an augmentation.
  const auto g2 = graph(6, {{0, 1, 8}, {0, 2, 9}, {1, 2, 10}, {2, 3, 7}, {0, 5, 5}, {3, 4, 6}});
  CHECK(blossom_matching(g2.data(), 6).weight == 21.0) << blossom_matching(g2.data(), 6).weight;
  // Odd cycles inside odd cycles, pendants, and a 5-cycle whose best matching uses two of its edges.
  const auto g3 = graph(8, {{0, 1, 19}, {0, 2, 20}, {1, 2, 25}, {1, 3, 18}, {2, 4, 18}, {3, 4, 13},
                            {3, 5, 7}, {4, 6, 7}, {5, 7, 4}, {6, 7, 3}});
  const auto g4 = graph(10, {{0, 1, 10}, {1, 2, 10}, {2, 3, 10}, {3, 4, 10}, {4, 0, 10}, {0, 5, 9},
                             {2, 6, 9}, {5, 7, 8}, {6, 8, 8}, {7, 9, 12}, {8, 9, 12}, {3, 9, 1}});
  cross_check(g1, 4, "g1");
  cross_check(g2, 6, "g2");
  cross_check(g3, 8, "g3");
  cross_check(g4, 10, "g4");
}

TEST(blossom_matches_brute_force_on_small_random_graphs) {
  int instances = 0, failures = 0;
  for (int n = 2; n <= 14; ++n)
    for (int kind = 0; kind < kNumKinds; ++kind)
      for (int rep = 0; rep < 12; ++rep) {
        const std::uint32_t seed = 1000003u * n + 7919u * kind + rep;
        std::mt19937 rng(seed);
        const std::vector<float> w = make_instance(kind, n, rng);
        ++instances;
        if (!cross_check(w, n, describe(kKinds[kind], n, seed)) && ++failures >= 10) {
          CHECK(false) << "stopping after 10 failing instances";
          return;
        }
      }
  std::printf("     %d instances\n", instances);
}

TEST(blossom_matches_brute_force_up_to_20) {
  for (int n = 15; n <= 20; ++n)
    for (int kind : {0, 1, 2, 4, 7, 10}) {
      const std::uint32_t seed = 77u * n + kind;
      std::mt19937 rng(seed);
      cross_check(make_instance(kind, n, rng), n, describe(kKinds[kind], n, seed));
    }
  // Over the limit, the brute force declines.
  std::vector<float> w(21 * 21, 1.0f);
  const ExactMatching r = brute_force_matching(w.data(), 21);
  CHECK(r.mate.empty() && std::isnan(r.weight));
}

// On graphs too big for the brute force, blossom's duals must prove its matching optimal:
// feasible (slack >= 0, duals >= 0) and dual objective == matching weight.
void check_certificate(const std::vector<float>& w, int n, const std::string& what) {
  detail::WeightedBlossom solver(w.data(), n);
  solver.solve();
  const std::vector<int> mate = solver.mate_vertices();
  const double weight = matching_weight(w.data(), n, mate);
  const auto cert = solver.certificate();
  double scale = 0;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (std::isfinite(w[i * n + j])) scale = std::max(scale, static_cast<double>(w[i * n + j]));
  const double tol = 1e-12 * std::max(scale, 1e-300) * std::max(n, 1);
  CHECK(!std::isnan(weight)) << what << " invalid matching";
  CHECK(cert.min_slack >= -tol) << what << " dual infeasible, slack " << cert.min_slack;
  CHECK(cert.min_dual >= -tol) << what << " negative dual " << cert.min_dual;
  CHECK(close(cert.dual_objective, weight, 1e-10) || std::fabs(cert.dual_objective - weight) <= tol)
      << what << " duality gap: dual " << cert.dual_objective << " primal " << weight;
}

TEST(blossom_certificate_holds_on_medium_random_graphs) {
  for (int n : {5, 21, 40, 77, 150})
    for (int kind = 0; kind < kNumKinds; ++kind)
      for (int rep = 0; rep < 3; ++rep) {
        const std::uint32_t seed = 31u * n + 1009u * kind + rep;
        std::mt19937 rng(seed);
        check_certificate(make_instance(kind, n, rng), n, describe(kKinds[kind], n, seed));
      }
}

TEST(blossom_n300_beats_greedy) {
  const int n = 300;
  const std::uint32_t seed = 20240601u;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  const std::vector<float> w = symmetric(n, [&](int, int) { return uni(rng); });

  const auto t0 = std::chrono::steady_clock::now();
  const ExactMatching bl = blossom_matching(w.data(), n);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("     blossom n=%d: %.1f ms\n", n, ms);

  // Greedy: pairs by weight descending, each taken if both ends are still single.
  std::vector<std::pair<float, int>> pairs;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) pairs.push_back({w[i * n + j], i * n + j});
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int> greedy(n, -1);
  for (const auto& [x, k] : pairs) {
    const int i = k / n, j = k % n;
    if (x > 0 && greedy[i] == -1 && greedy[j] == -1) greedy[i] = j, greedy[j] = i;
  }
  const double greedy_w = matching_weight(w.data(), n, greedy);
  CHECK(!std::isnan(bl.weight) && bl.weight == matching_weight(w.data(), n, bl.mate)) << "seed=" << seed;
  CHECK(bl.weight >= greedy_w) << "seed=" << seed << " blossom " << bl.weight << " < greedy " << greedy_w;
  check_certificate(w, n, describe("uniform", n, seed));
}

TEST_MAIN()
