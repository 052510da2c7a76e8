// The PinnerSage clustering core against naive references: the Ward linkage (nearest-neighbour
// chain) against SciPy's generic O(n³) Lance–Williams algorithm, the threshold cut against a
// union-find cut, medoids against brute force; seeded random data and adversarial inputs.
// Tolerance: heights agree to a relative 1e-9 (the two differ only in how the distance sums round).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "harness.h"
#include "kindred/clustering/cut_tree.h"
#include "kindred/clustering/importance.h"
#include "kindred/clustering/medoids.h"
#include "kindred/clustering/ward_linkage.h"
#include "kindred/core/error.h"
#include "reference.h"
#include "reference/ward_reference.h"

using namespace kindred;
using kindred::test::canonical;

namespace {

constexpr double kHeightTolerance = 1e-9;

std::vector<double> ward(const std::vector<float>& x, std::size_t n, std::size_t dim, int threads = 2) {
  return clustering::ward_linkage(ConstMatrix(x.data(), n, dim), CancelToken(), threads);
}

bool close(double a, double b) { return std::fabs(a - b) <= kHeightTolerance * std::max(1.0, std::fabs(b)); }

// Same merges (ids and sizes exactly) and heights within the tolerance.
void check_same_linkage(const std::vector<double>& z, const std::vector<double>& ref, const char* what) {
  CHECK(z.size() == ref.size()) << what << ": " << z.size() << " vs " << ref.size();
  if (z.size() != ref.size()) return;
  int reported = 0;
  for (std::size_t r = 0; r * 4 < z.size(); ++r) {
    const bool same = z[r * 4] == ref[r * 4] && z[r * 4 + 1] == ref[r * 4 + 1] && z[r * 4 + 3] == ref[r * 4 + 3] &&
                      close(z[r * 4 + 2], ref[r * 4 + 2]);
    if (!same && reported++ < 3) {
      CHECK(same) << what << " row " << r << ": (" << z[r * 4] << ", " << z[r * 4 + 1] << ", " << z[r * 4 + 2] << ", "
                  << z[r * 4 + 3] << ") vs reference (" << ref[r * 4] << ", " << ref[r * 4 + 1] << ", "
                  << ref[r * 4 + 2] << ", " << ref[r * 4 + 3] << ")";
    }
  }
}

// For inputs with tied distances the merge order among equal heights may legitimately differ from
// the global-minimum reference; the sorted heights may not.
void check_same_heights(const std::vector<double>& z, const std::vector<double>& ref, const char* what) {
  CHECK(z.size() == ref.size()) << what;
  if (z.size() != ref.size()) return;
  std::vector<double> a, b;
  for (std::size_t r = 0; r * 4 < z.size(); ++r) {
    a.push_back(z[r * 4 + 2]);
    b.push_back(ref[r * 4 + 2]);
  }
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(close(a[i], b[i])) << what << " height " << i << ": " << a[i] << " vs " << b[i];
}

std::vector<std::int32_t> cut(const std::vector<double>& z, std::size_t n, double t, std::size_t* k = nullptr) {
  std::vector<std::int32_t> labels(n);
  const std::size_t clusters = clustering::cut_tree(z.data(), n, t, labels.data());
  if (k) *k = clusters;
  return labels;
}

// Heights are non-decreasing (Ward is monotone) and the linkage is structurally valid.
void check_well_formed(const std::vector<double>& z, std::size_t n, const char* what) {
  bool valid = true;
  try {
    clustering::check_linkage(z.data(), n);
  } catch (const Error& e) {
    valid = false;
    CHECK(valid) << what << ": " << e.what();
  }
  for (std::size_t r = 1; r * 4 < z.size(); ++r) CHECK(z[r * 4 + 2] >= z[(r - 1) * 4 + 2]) << what << " row " << r;
}

}  // namespace

TEST(empty_and_single_point_give_an_empty_linkage) {
  std::vector<float> none, one = {1.0f, 2.0f};
  CHECK(ward(none, 0, 2).empty());
  CHECK(ward(one, 1, 2).empty());
  std::vector<std::int32_t> label(1, 0);
  CHECK(clustering::cut_tree(nullptr, 1, 0.0, label.data()) == 1);
  CHECK(label[0] == 1);
  CHECK(clustering::cut_tree(nullptr, 0, 0.0, nullptr) == 0);
}

TEST(two_and_three_points_match_by_hand) {
  // Two points 3-4-5 apart: one merge at height 5.
  std::vector<float> two = {0, 0, 3, 4};
  auto z = ward(two, 2, 2);
  CHECK(z.size() == 4);
  CHECK(z[0] == 0 && z[1] == 1 && z[2] == 5.0 && z[3] == 2);
  // 0 and 2 are closest; then {0,2} (id 3) meets 1 at sqrt((2·1 + 2·... ) — the reference says.
  std::vector<float> three = {0, 10, 1};
  z = ward(three, 3, 1);
  auto ref = test::reference_ward_linkage(three, 3, 1);
  check_same_linkage(z, ref, "three points");
  CHECK(z[0] == 0 && z[1] == 2 && z[2] == 1.0) << z[0] << " " << z[1] << " " << z[2];
  CHECK(z[4] == 1 && z[5] == 3) << z[4] << " " << z[5];
  // Ward: sqrt(2·|c − m|²·(1·2)/(1+2)) with c = 10, m = 0.5 → sqrt(4/3)·9.5.
  CHECK(close(z[6], std::sqrt(4.0 / 3.0) * 9.5)) << z[6];
}

TEST(random_points_match_the_naive_reference_exactly) {
  std::mt19937 rng(20240601);
  const std::size_t sizes[] = {2, 3, 4, 5, 9, 17, 64, 150, 301};
  const std::size_t dims[] = {1, 2, 16, 64};
  for (std::size_t n : sizes) {
    for (std::size_t dim : dims) {
      auto x = test::random_matrix(rng, n, dim);
      auto z = ward(x, n, dim);
      auto ref = test::reference_ward_linkage(x, n, dim);
      check_same_linkage(z, ref, "random");
      check_well_formed(z, n, "random");
    }
  }
}

// The distance kernel measures 4 rows against 8 points at a time, in 64 × 64 tiles: sizes around
// the tile and block edges and odd dimensions exercise every partial block.
TEST(tile_and_block_edges_match_the_reference) {
  std::mt19937 rng(37);
  const std::size_t sizes[] = {7, 8, 9, 63, 64, 65, 71, 129};
  const std::size_t dims[] = {3, 7, 33};
  for (std::size_t n : sizes) {
    for (std::size_t dim : dims) {
      auto x = test::random_matrix(rng, n, dim);
      check_same_linkage(ward(x, n, dim, 1), test::reference_ward_linkage(x, n, dim), "edges");
    }
  }
}

TEST(thread_count_does_not_change_the_result) {
  std::mt19937 rng(7);
  auto x = test::random_matrix(rng, 500, 24);
  auto one = ward(x, 500, 24, 1), two = ward(x, 500, 24, 2), many = ward(x, 500, 24, 7);
  CHECK(one == two);
  CHECK(one == many);
}

// The distance matrix is kept between calls (up to 64 MB) and handed to one call at a time: calls of
// growing and shrinking sizes, and calls on several threads at once, give what a lone call gives.
TEST(repeated_and_concurrent_calls_give_the_same_result) {
  std::mt19937 rng(29);
  const std::size_t sizes[] = {300, 700, 65, 300};
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<double>> alone;
  for (std::size_t n : sizes) {
    inputs.push_back(test::random_matrix(rng, n, 20));
    alone.push_back(ward(inputs.back(), n, 20, 1));
  }
  for (std::size_t i = 0; i < 4; ++i) CHECK(ward(inputs[i], sizes[i], 20, 1) == alone[i]) << "repeat " << i;
  std::vector<std::vector<double>> together(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < 3; ++r) together[i] = ward(inputs[i], sizes[i], 20, 1);
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < 4; ++i) CHECK(together[i] == alone[i]) << "concurrent " << i;
}

// Clusters of near-duplicates far from the origin: distances within a cluster are ~1e-6 of the
// coordinates, where an ‖a‖² + ‖b‖² − 2a·b expansion would cancel to noise. The exact (a − b)² sums
// give the reference's merges.
TEST(near_duplicates_far_from_the_origin) {
  std::mt19937 rng(31);
  const std::size_t dim = 16, groups = 12, copies = 4, n = groups * copies;
  std::normal_distribution<float> normal;
  std::vector<float> x(n * dim);
  for (std::size_t g = 0; g < groups; ++g) {
    std::vector<float> base(dim);
    for (auto& v : base) v = 1e4f + 100.0f * normal(rng);
    for (std::size_t c = 0; c < copies; ++c) {
      for (std::size_t k = 0; k < dim; ++k) x[(g * copies + c) * dim + k] = base[k] + 0.01f * normal(rng);
    }
  }
  auto z = ward(x, n, dim);
  check_same_linkage(z, test::reference_ward_linkage(x, n, dim), "near duplicates");
  // The first groups·(copies − 1) merges stay within the groups (all below the gaps between them).
  for (std::size_t r = 0; r < groups * (copies - 1); ++r) {
    CHECK(z[r * 4 + 2] < 1.0) << "row " << r << ": " << z[r * 4 + 2];
  }
}

TEST(wide_points_dim_1024) {
  std::mt19937 rng(11);
  auto x = test::random_matrix(rng, 80, 1024);
  check_same_linkage(ward(x, 80, 1024), test::reference_ward_linkage(x, 80, 1024), "dim 1024");
}

TEST(all_points_identical) {
  const std::size_t n = 40, dim = 8;
  std::vector<float> x(n * dim, 0.25f);
  auto z = ward(x, n, dim);
  check_well_formed(z, n, "identical");
  for (std::size_t r = 0; r + 1 < n; ++r) CHECK(z[r * 4 + 2] == 0.0) << "row " << r << ": " << z[r * 4 + 2];
  CHECK(z[(n - 2) * 4 + 3] == static_cast<double>(n));
  std::size_t k = 0;
  auto labels = cut(z, n, 0.0, &k);
  CHECK(k == 1);
  for (auto l : labels) CHECK(l == 1);
  // SciPy's scan: the chain from point 0 meets point 1 first; every later merge is at height 0.
  CHECK(z[0] == 0 && z[1] == 1);
}

TEST(exact_duplicates_share_a_cluster_at_threshold_zero) {
  std::mt19937 rng(3);
  const std::size_t base = 30, dim = 5;
  auto x = test::random_matrix(rng, base, dim);
  // Rows 30..44 repeat rows 0, 2, 4, ..., 28 (the same item engaged twice).
  for (std::size_t i = 0; i < base; i += 2) x.insert(x.end(), x.begin() + i * dim, x.begin() + (i + 1) * dim);
  const std::size_t n = x.size() / dim;
  auto z = ward(x, n, dim);
  auto ref = test::reference_ward_linkage(x, n, dim);
  check_well_formed(z, n, "duplicates");
  check_same_heights(z, ref, "duplicates");
  std::size_t zeros = 0;
  for (std::size_t r = 0; r + 1 < n; ++r) zeros += z[r * 4 + 2] == 0.0;
  CHECK(zeros == base / 2) << zeros;
  auto labels = cut(z, n, 0.0);
  for (std::size_t i = 0; i < base; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const bool duplicate = j >= base && (j - base) * 2 == i;
      if (j != i) {
        CHECK((labels[i] == labels[j]) == duplicate) << i << " vs " << j;
      }
    }
  }
  // The same input gives the same linkage every time.
  CHECK(ward(x, n, dim) == z);
}

TEST(collinear_points) {
  // Points on a line in 3-D with distinct gaps (no ties) — merges must match exactly.
  std::vector<float> x;
  const std::size_t n = 60;
  for (std::size_t i = 0; i < n; ++i) {
    const float p = static_cast<float>(i * i % 97) + 0.01f * static_cast<float>(i);
    x.insert(x.end(), {p, 2 * p, -p});
  }
  check_same_linkage(ward(x, n, 3), test::reference_ward_linkage(x, n, 3), "collinear");
  // Evenly spaced integers: many exact ties; heights still agree as a multiset.
  std::vector<float> grid;
  for (std::size_t i = 0; i < n; ++i) grid.push_back(static_cast<float>(i));
  auto z = ward(grid, n, 1);
  check_well_formed(z, n, "grid");
  check_same_heights(z, test::reference_ward_linkage(grid, n, 1), "grid");
}

TEST(cut_matches_the_union_find_cut_at_every_threshold) {
  std::mt19937 rng(99);
  for (std::size_t n : {2u, 3u, 10u, 120u}) {
    auto x = test::random_matrix(rng, n, 6);
    auto z = ward(x, n, 6);
    std::vector<double> thresholds = {0.0, 1e300};
    for (std::size_t r = 0; r + 1 < n; ++r) {
      thresholds.push_back(z[r * 4 + 2]);  // exactly at a height: <= keeps that merge
      thresholds.push_back(std::nextafter(z[r * 4 + 2], 0.0));
    }
    for (double t : thresholds) {
      std::size_t k = 0;
      auto labels = cut(z, n, t, &k);
      CHECK(canonical(labels) == test::reference_cut(z, n, t)) << "n " << n << " t " << t;
      std::int32_t top = *std::max_element(labels.begin(), labels.end());
      CHECK(static_cast<std::size_t>(top) == k);
    }
    std::size_t k = 0;
    cut(z, n, 1e300, &k);
    CHECK(k == 1);
    cut(z, n, -1.0, &k);
    CHECK(k == n);
  }
}

TEST(cut_labels_follow_scipy_order) {
  // fcluster numbers clusters in a depth-first walk from the root, subtrees before the points
  // hanging off a node. Points 0,1 close, 2 far: Z = [[0,1,h,2],[2,3,H,3]]; SciPy gives [1, 1, 2].
  std::vector<float> x = {0, 0.1f, 10};
  auto z = ward(x, 3, 1);
  CHECK(z[4] == 2 && z[5] == 3);
  auto labels = cut(z, 3, 1.0);
  CHECK(labels[0] == 1 && labels[1] == 1 && labels[2] == 2) << labels[0] << labels[1] << labels[2];
}

TEST(cut_rejects_malformed_linkages) {
  std::vector<std::int32_t> labels(3);
  std::vector<double> reused = {0, 1, 1, 2, 0, 3, 2, 3};  // point 0 merged twice
  CHECK_THROWS_CODE(clustering::cut_tree(reused.data(), 3, 1.0, labels.data()), Code::kInvalidArgument);
  std::vector<double> future = {0, 4, 1, 2, 1, 2, 2, 3};  // id 4 does not exist yet
  CHECK_THROWS_CODE(clustering::cut_tree(future.data(), 3, 1.0, labels.data()), Code::kInvalidArgument);
  std::vector<double> bad_size = {0, 1, 1, 3, 2, 3, 2, 3};
  CHECK_THROWS_CODE(clustering::cut_tree(bad_size.data(), 3, 1.0, labels.data()), Code::kInvalidArgument);
  std::vector<double> nan_height = {0, 1, NAN, 2, 2, 3, 2, 3};
  CHECK_THROWS_CODE(clustering::cut_tree(nan_height.data(), 3, 1.0, labels.data()), Code::kInvalidArgument);
  std::vector<double> ok = {0, 1, 1, 2, 2, 3, 2, 3};
  CHECK_THROWS_CODE(clustering::cut_tree(ok.data(), 3, NAN, labels.data()), Code::kInvalidArgument);
  CHECK(clustering::cut_tree(ok.data(), 3, 1.5, labels.data()) == 2);
}

TEST(medoids_match_brute_force) {
  std::mt19937 rng(5);
  for (std::size_t n : {1u, 2u, 7u, 90u, 400u}) {
    const std::size_t dim = 12;
    auto x = test::random_matrix(rng, n, dim);
    auto z = ward(x, n, dim);
    for (double t : {0.0, 1.0, 3.0, 1e9}) {
      std::size_t k = 0;
      auto labels = cut(z, n, t, &k);
      auto got = clustering::cluster_medoids(ConstMatrix(x.data(), n, dim), labels.data(), k, CancelToken(), 2);
      CHECK(got == test::reference_medoids(x, dim, labels, k)) << "n " << n << " t " << t;
      for (std::size_t c = 0; c < k; ++c) CHECK(labels[static_cast<std::size_t>(got[c])] == static_cast<int>(c + 1));
    }
  }
}

TEST(medoid_rules_for_pairs_and_ties) {
  // Cluster 1 = rows {0, 2}: row 2 has the larger norm. Cluster 2 = rows {1, 3, 4}: rows 3 and 4
  // are the same point, both at the smallest sum → the lower row, 3.
  std::vector<float> x = {1, 0, 5, 5, 3, 0, 6, 6, 6, 6};
  std::vector<std::int32_t> labels = {1, 2, 1, 2, 2};
  auto m = clustering::cluster_medoids(ConstMatrix(x.data(), 5, 2), labels.data(), 2, CancelToken(), 2);
  CHECK(m[0] == 2 && m[1] == 3) << m[0] << " " << m[1];
  // Equal norms in a pair: the lower row.
  std::vector<float> y = {3, 4, 4, 3};
  std::vector<std::int32_t> pair = {1, 1};
  CHECK(clustering::cluster_medoids(ConstMatrix(y.data(), 2, 2), pair.data(), 1, CancelToken(), 2)[0] == 0);
  // Bad labels are rejected.
  std::vector<std::int32_t> gap = {1, 3};
  CHECK_THROWS_CODE(clustering::cluster_medoids(ConstMatrix(y.data(), 2, 2), gap.data(), 3, CancelToken(), 2),
                    Code::kInvalidArgument);
  std::vector<std::int32_t> zero = {0, 1};
  CHECK_THROWS_CODE(clustering::cluster_medoids(ConstMatrix(y.data(), 2, 2), zero.data(), 1, CancelToken(), 2),
                    Code::kInvalidArgument);
}

TEST(importance_and_anchor_order) {
  std::vector<std::int32_t> labels = {1, 2, 2, 3, 1, 3};
  std::vector<double> age = {0, 10, 20, 0, 100, 0};
  auto imp = clustering::cluster_importance(labels.data(), age.data(), 6, 3, 0.01);
  CHECK(std::fabs(imp[0] - (1 + std::exp(-1.0))) < 1e-15);
  CHECK(std::fabs(imp[1] - (std::exp(-0.1) + std::exp(-0.2))) < 1e-15);
  CHECK(imp[2] == 2.0);
  std::vector<std::int32_t> medoids = {4, 2, 5};
  auto top = clustering::top_anchors(imp, medoids, 2);
  CHECK(top.size() == 2 && top[0] == 2 && top[1] == 1) << top[0] << " " << top[1];
  // Equal importance: the lower medoid row first.
  auto tied = clustering::top_anchors({1.0, 1.0, 1.0}, {9, 3, 5}, 3);
  CHECK(tied == std::vector<std::int32_t>({1, 2, 0}));
  CHECK(clustering::top_anchors({}, {}, 3).empty());
  CHECK_THROWS_CODE(clustering::cluster_importance(labels.data(), age.data(), 6, 3, -1), Code::kInvalidArgument);
  age[1] = -1;
  CHECK_THROWS_CODE(clustering::cluster_importance(labels.data(), age.data(), 6, 3, 0.01), Code::kInvalidArgument);
}

TEST(cancellation_stops_the_linkage) {
  std::mt19937 rng(1);
  auto x = test::random_matrix(rng, 300, 4);
  CancelToken token;
  token.cancel();
  CHECK_THROWS_CODE(clustering::ward_linkage(ConstMatrix(x.data(), 300, 4), token, 2), Code::kCancelled);
  CHECK_THROWS_CODE(
      clustering::cluster_medoids(ConstMatrix(x.data(), 300, 4), std::vector<std::int32_t>(300, 1).data(), 1, token, 2),
      Code::kCancelled);
}

TEST(memory_estimate_and_overflow) {
  // The square matrix plus the points in float64 twice (row-major and in panels of 8 points).
  CHECK(clustering::ward_linkage_bytes(10000, 64) == 10000ull * 10000 * 8 + 2 * 10000ull * 64 * 8);
  CHECK(clustering::ward_linkage_bytes(10001, 64) == 10001ull * 10001 * 8 + 2 * 10008ull * 64 * 8);
  CHECK(clustering::ward_linkage_bytes(std::size_t{1} << 40, 8) == 0);
  std::vector<float> x(2, 0.0f);
  CHECK_THROWS_CODE(clustering::ward_linkage(ConstMatrix(x.data(), clustering::kMaxWardPoints + 1, 0), CancelToken(), 1),
                    Code::kInvalidArgument);
}

TEST_MAIN()
