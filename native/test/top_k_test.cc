// Top-k retrieval against a naive reference (full sort of every row) on seeded random and
// adversarial inputs, on every available backend.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "harness.h"
#include "kindred/backend/registry.h"
#include "kindred/gemm/pair_scores.h"
#include "kindred/retrieval/top_k.h"

using namespace kindred;

namespace {

struct Result {
  std::vector<std::int32_t> indices;
  std::vector<float> scores;
};

// Naive reference: stable-sort every row by score, descending (stable keeps lower columns first on ties).
Result naive_top_k(const std::vector<float>& scores, std::size_t rows, std::size_t cols, std::size_t k) {
  Result r{std::vector<std::int32_t>(rows * k, -1),
           std::vector<float>(rows * k, -std::numeric_limits<float>::infinity())};
  for (std::size_t i = 0; i < rows; ++i) {
    std::vector<std::int32_t> order(cols);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int32_t a, std::int32_t b) { return scores[i * cols + a] > scores[i * cols + b]; });
    for (std::size_t j = 0; j < std::min(k, cols); ++j) {
      r.indices[i * k + j] = order[j];
      r.scores[i * k + j] = scores[i * cols + order[j]];
    }
  }
  return r;
}

Result run_top_k_rows(const std::vector<float>& scores, std::size_t rows, std::size_t cols, std::size_t k) {
  Result r{std::vector<std::int32_t>(rows * k, 7), std::vector<float>(rows * k, 7.0f)};
  retrieval::top_k_rows(ConstMatrix(scores.data(), rows, cols), k, {r.indices.data(), r.scores.data()}, CancelToken());
  return r;
}

std::vector<float> random_values(std::mt19937& rng, std::size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Double-precision dot products: the reference scores for search_top_k.
std::vector<double> exact_scores(const std::vector<float>& q, const std::vector<float>& items, std::size_t rows,
                                 std::size_t n, std::size_t dim) {
  std::vector<double> s(rows * n);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::size_t d = 0; d < dim; ++d) acc += double(q[i * dim + d]) * double(items[j * dim + d]);
      s[i * n + j] = acc;
    }
  return s;
}

bool same(const Result& a, const Result& b) { return a.indices == b.indices && a.scores == b.scores; }

}  // namespace

TEST(top_k_rows_matches_naive_on_seeded_random) {
  const std::uint32_t seed = 20261123;
  std::mt19937 rng(seed);
  const std::size_t shapes[][3] = {{1, 1, 1}, {3, 10, 4}, {7, 100, 10}, {4, 1000, 37}, {300, 500, 20}, {2, 5000, 5000}};
  for (const auto& s : shapes) {
    const std::size_t rows = s[0], cols = s[1], k = s[2];
    auto scores = random_values(rng, rows * cols, -1.0f, 1.0f);
    // Round to a coarse grid so that many scores tie.
    for (std::size_t i = 0; i < scores.size(); i += 3) scores[i] = std::round(scores[i] * 8.0f) / 8.0f;
    CHECK(same(run_top_k_rows(scores, rows, cols, k), naive_top_k(scores, rows, cols, k)))
        << "seed " << seed << " shape " << rows << "x" << cols << " k " << k;
  }
}

TEST(top_k_rows_breaks_ties_by_lower_column) {
  std::vector<float> scores(2 * 6, 0.5f);
  scores[6 + 4] = 1.0f;
  auto r = run_top_k_rows(scores, 2, 6, 3);
  CHECK((r.indices == std::vector<std::int32_t>{0, 1, 2, 4, 0, 1})) << "ties must keep lower columns first";
  CHECK((r.scores == std::vector<float>{0.5f, 0.5f, 0.5f, 1.0f, 0.5f, 0.5f}));
}

TEST(top_k_rows_pads_when_k_exceeds_columns) {
  std::vector<float> scores = {0.1f, 0.3f, 0.2f};
  auto r = run_top_k_rows(scores, 1, 3, 5);
  CHECK((r.indices == std::vector<std::int32_t>{1, 2, 0, -1, -1}));
  CHECK(r.scores[3] == -std::numeric_limits<float>::infinity() && r.scores[4] == r.scores[3]);
  auto empty = run_top_k_rows({}, 2, 0, 2);
  CHECK((empty.indices == std::vector<std::int32_t>{-1, -1, -1, -1})) << "n = 0 gives only padding";
}

TEST(top_k_rows_with_k_zero_writes_nothing) {
  std::vector<float> scores = {1, 2, 3};
  retrieval::top_k_rows(ConstMatrix(scores.data(), 1, 3), 0, {nullptr, nullptr}, CancelToken());
  CHECK(true);
}

TEST(top_k_rows_orders_infinities) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> scores = {-inf, 1.0f, inf, -2.0f, inf};
  auto r = run_top_k_rows(scores, 1, 5, 5);
  CHECK((r.indices == std::vector<std::int32_t>{2, 4, 1, 3, 0}));
}

TEST(top_k_rows_rejects_nan_with_a_typed_error) {
  std::vector<float> scores = {0.1f, std::nanf(""), 0.2f};
  std::vector<std::int32_t> idx(2);
  std::vector<float> sc(2);
  CHECK_THROWS_CODE(retrieval::top_k_rows(ConstMatrix(scores.data(), 1, 3), 2, {idx.data(), sc.data()}, CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(retrieval::top_k_rows(ConstMatrix(scores.data(), 1, 3), 2, {nullptr, nullptr}, CancelToken()),
                    Code::kInvalidArgument);
}

TEST(search_top_k_matches_exact_scores_on_every_backend) {
  const std::uint32_t seed = 777;
  const std::size_t shapes[][4] = {{1, 1, 1, 1}, {5, 200, 16, 10}, {3, 1000, 33, 50}, {40, 3000, 64, 100}, {2, 50, 8, 80}};
  for (const auto& info : backend::list()) {
    if (!info.available) continue;
    std::mt19937 rng(seed);
    for (const auto& s : shapes) {
      const std::size_t q = s[0], n = s[1], dim = s[2], k = s[3];
      auto queries = random_values(rng, q * dim, -1.0f, 1.0f);
      auto items = random_values(rng, n * dim, -1.0f, 1.0f);
      auto ref = exact_scores(queries, items, q, n, dim);
      for (std::size_t scratch : {std::size_t{7}, std::size_t{1000}, retrieval::kDefaultScratchElements}) {
        Result got{std::vector<std::int32_t>(q * k), std::vector<float>(q * k)};
        retrieval::search_top_k(backend::by_name(info.name), ConstMatrix(queries.data(), q, dim),
                                ConstMatrix(items.data(), n, dim), k, {got.indices.data(), got.scores.data()},
                                CancelToken(), scratch);
        const double tol = 1e-5 * dim;
        for (std::size_t i = 0; i < q; ++i) {
          std::vector<double> row(ref.begin() + i * n, ref.begin() + (i + 1) * n);
          std::sort(row.begin(), row.end(), std::greater<double>());
          const std::size_t kept = std::min(k, n);
          std::vector<bool> seen(n, false);
          for (std::size_t j = 0; j < k; ++j) {
            const std::int32_t at = got.indices[i * k + j];
            if (j >= kept) {
              CHECK(at == -1) << info.name << " pad slot " << j;
              continue;
            }
            bool ok = at >= 0 && std::size_t(at) < n && !seen[at];
            CHECK(ok) << info.name << " seed " << seed << " bad/duplicate index " << at;
            if (!ok) continue;
            seen[at] = true;
            CHECK(std::abs(got.scores[i * k + j] - ref[i * n + at]) <= tol) << info.name << " score mismatch";
            // The j-th result is (within rounding) the j-th best exact score.
            CHECK(std::abs(ref[i * n + at] - row[j]) <= 2 * tol)
                << info.name << " seed " << seed << " q " << q << " n " << n << " rank " << j << " scratch " << scratch;
            if (j > 0) {
              CHECK(got.scores[i * k + j] <= got.scores[i * k + j - 1]) << info.name << " not sorted";
            }
          }
        }
      }
    }
  }
}

TEST(search_top_k_is_independent_of_the_scratch_size_on_portable) {
  std::mt19937 rng(4242);
  const std::size_t q = 9, n = 777, dim = 24, k = 31;
  auto queries = random_values(rng, q * dim, -1.0f, 1.0f);
  auto items = random_values(rng, n * dim, -1.0f, 1.0f);
  // Duplicate items make exact ties, which must resolve to the lower row in every blocking.
  for (std::size_t j = 400; j < 420; ++j) std::copy_n(items.begin() + (j - 400) * dim, dim, items.begin() + j * dim);
  auto run = [&](std::size_t scratch) {
    Result r{std::vector<std::int32_t>(q * k), std::vector<float>(q * k)};
    retrieval::search_top_k(backend::by_name("portable"), ConstMatrix(queries.data(), q, dim),
                            ConstMatrix(items.data(), n, dim), k, {r.indices.data(), r.scores.data()}, CancelToken(),
                            scratch);
    return r;
  };
  auto whole = run(retrieval::kDefaultScratchElements);
  for (std::size_t scratch : {std::size_t{1}, std::size_t{13}, std::size_t{777}, std::size_t{5000}})
    CHECK(same(run(scratch), whole)) << "scratch " << scratch;
  // Full scores + naive top-k on the same backend give the same answer.
  std::vector<float> full(q * n);
  gemm::pair_scores(backend::by_name("portable"), ConstMatrix(queries.data(), q, dim), ConstMatrix(items.data(), n, dim),
                    MutableMatrix(full.data(), q, n), CancelToken());
  CHECK(same(whole, naive_top_k(full, q, n, k))) << "blocked search differs from full scores + naive top-k";
}

TEST(search_top_k_handles_empty_and_degenerate_shapes) {
  auto& be = backend::by_name("portable");
  std::vector<float> q(6, 1.0f), items(9, 1.0f);
  std::vector<std::int32_t> idx(4, 9);
  std::vector<float> sc(4, 9.0f);
  // n = 0: every slot is padding.
  retrieval::search_top_k(be, ConstMatrix(q.data(), 2, 3), ConstMatrix(nullptr, 0, 3), 2, {idx.data(), sc.data()},
                          CancelToken());
  CHECK((idx == std::vector<std::int32_t>{-1, -1, -1, -1}));
  // k > n with identical items: rows 0, 1, 2 in order, then padding.
  std::vector<std::int32_t> idx5(5);
  std::vector<float> sc5(5);
  retrieval::search_top_k(be, ConstMatrix(q.data(), 1, 3), ConstMatrix(items.data(), 3, 3), 5, {idx5.data(), sc5.data()},
                          CancelToken());
  CHECK((idx5 == std::vector<std::int32_t>{0, 1, 2, -1, -1}));
  CHECK(sc5[0] == 3.0f && sc5[2] == 3.0f);
  // k = 0 and q = 0 write nothing and need no output.
  retrieval::search_top_k(be, ConstMatrix(q.data(), 2, 3), ConstMatrix(items.data(), 3, 3), 0, {nullptr, nullptr},
                          CancelToken());
  retrieval::search_top_k(be, ConstMatrix(nullptr, 0, 3), ConstMatrix(items.data(), 3, 3), 4, {nullptr, nullptr},
                          CancelToken());
  // dim = 0: every score is 0, ties resolve by row.
  std::vector<std::int32_t> idx0(2);
  std::vector<float> sc0(2);
  retrieval::search_top_k(be, ConstMatrix(nullptr, 1, 0), ConstMatrix(nullptr, 4, 0), 2, {idx0.data(), sc0.data()},
                          CancelToken());
  CHECK((idx0 == std::vector<std::int32_t>{0, 1}) && sc0[0] == 0.0f);
}

TEST(search_top_k_rejects_bad_arguments_with_typed_errors) {
  auto& be = backend::by_name("portable");
  std::vector<float> q(6, 1.0f), items(8, 1.0f);
  std::vector<std::int32_t> idx(4);
  std::vector<float> sc(4);
  CHECK_THROWS_CODE(retrieval::search_top_k(be, ConstMatrix(q.data(), 2, 3), ConstMatrix(items.data(), 2, 4), 2,
                                            {idx.data(), sc.data()}, CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(retrieval::search_top_k(be, ConstMatrix(q.data(), 2, 3), ConstMatrix(items.data(), 2, 3), 2,
                                            {idx.data(), sc.data()}, CancelToken(), 0),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(retrieval::search_top_k(be, ConstMatrix(q.data(), 2, 3), ConstMatrix(items.data(), 2, 3), 2,
                                            {nullptr, sc.data()}, CancelToken()),
                    Code::kInvalidArgument);
  // Infinity in the inputs: inf · 0 and inf − inf give NaN scores, which are rejected, not ranked.
  std::vector<float> bad = {std::numeric_limits<float>::infinity(), 0.0f, 0.0f, -1.0f, 1.0f, 1.0f};
  std::vector<float> it = {0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  CHECK_THROWS_CODE(retrieval::search_top_k(be, ConstMatrix(bad.data(), 2, 3), ConstMatrix(it.data(), 2, 3), 2,
                                            {idx.data(), sc.data()}, CancelToken()),
                    Code::kInvalidArgument);
  CancelToken cancelled;
  cancelled.cancel();
  CHECK_THROWS_CODE(retrieval::search_top_k(be, ConstMatrix(q.data(), 2, 3), ConstMatrix(items.data(), 2, 3), 2,
                                            {idx.data(), sc.data()}, cancelled),
                    Code::kCancelled);
}

TEST_MAIN()
