// head_scores against a naive reference: double dot products, double exp, the weighted sum over
// heads, on seeded random pools (several heads, projections of different widths, pool sizes that
// do and do not fill a chunk), plus the argument checks.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "harness.h"
#include "kindred/backend/registry.h"
#include "kindred/core/error.h"
#include "kindred/matching/filter_order.h"
#include "kindred/matching/head_scores.h"
#include "kindred/matching/pair_weights.h"
#include "../src/matching/filter_tiles.h"

using namespace kindred;
using matching::Head;
using matching::Transform;

namespace {

constexpr double kTolerance = 2e-5;  // relative: float GEMM rounding, amplified by |w·s| ≤ ~4 in exp

struct HeadData {
  std::vector<float> user, peer;
  std::size_t dim;
  Transform transform;
  float weight;
};

std::vector<float> random_matrix(std::mt19937& rng, std::size_t rows, std::size_t cols, float scale) {
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> m(rows * cols);
  for (float& x : m) x = g(rng);
  return m;
}

double reference(const std::vector<HeadData>& heads, std::size_t i, std::size_t j) {
  double total = 0;
  for (const HeadData& h : heads) {
    double s = 0;
    for (std::size_t k = 0; k < h.dim; ++k) s += double(h.user[i * h.dim + k]) * double(h.peer[j * h.dim + k]);
    total += h.weight * (h.transform.kind == Transform::Kind::kExp ? std::exp(double(h.transform.w) * s + h.transform.b) : s);
  }
  return total;
}

std::vector<Head> views(const std::vector<HeadData>& heads, std::size_t n) {
  std::vector<Head> out;
  for (const HeadData& h : heads) {
    out.push_back({ConstMatrix(h.user.data(), n, h.dim), ConstMatrix(h.peer.data(), n, h.dim), h.transform, h.weight});
  }
  return out;
}

}  // namespace

TEST(matches_naive_reference_on_random_pools) {
  std::mt19937 rng(7);
  for (std::size_t n : {1u, 2u, 9u, 130u, 1100u}) {
    for (int head_count : {1, 2, 3}) {
      std::vector<HeadData> heads;
      for (int t = 0; t < head_count; ++t) {
        const std::size_t dim = t == 0 ? 64 : 16 + 5 * t;
        HeadData h{random_matrix(rng, n, dim, 0.15f), random_matrix(rng, n, dim, 0.15f), dim, {}, 0.5f + 10.0f * t};
        h.transform = t == 2 ? Transform{Transform::Kind::kIdentity, 1, 0} : Transform{Transform::Kind::kExp, 1.3f, 0.1f * t};
        heads.push_back(std::move(h));
      }
      for (const auto& info : backend::list()) {
        if (!info.available) continue;
        std::vector<float> out(n * n, -1.0f);
        matching::head_scores(backend::by_name(info.name), views(heads, n), MutableMatrix(out.data(), n, n), CancelToken());
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i) {
          for (std::size_t j = 0; j < n; ++j) {
            const double want = reference(heads, i, j);
            worst = std::max(worst, std::fabs(out[i * n + j] - want) / std::max(1.0, std::fabs(want)));
          }
        }
        CHECK(worst < kTolerance) << info.name << " n=" << n << " heads=" << head_count << " worst relative error " << worst;
      }
    }
  }
}

TEST(writes_only_its_columns_of_a_strided_output) {
  std::mt19937 rng(11);
  const std::size_t n = 37, stride = 45;
  std::vector<HeadData> heads{{random_matrix(rng, n, 8, 0.3f), random_matrix(rng, n, 8, 0.3f), 8, {Transform::Kind::kExp, 1, 0}, 2},
                              {random_matrix(rng, n, 4, 0.3f), random_matrix(rng, n, 4, 0.3f), 4, {Transform::Kind::kExp, 2, -1}, 3}};
  std::vector<float> out(n * stride, 42.0f);
  matching::head_scores(backend::best(), views(heads, n), MutableMatrix(out.data(), n, n, stride), CancelToken());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < stride; ++j) {
      if (j >= n) {
        CHECK(out[i * stride + j] == 42.0f) << "padding touched at " << i << "," << j;
      } else {
        const double want = reference(heads, i, j);
        CHECK(std::fabs(out[i * stride + j] - want) <= kTolerance * want) << i << "," << j;
      }
    }
  }
}

// Filters of a pool like MatchPool's: gender 0–2, "wants" a bitmask of genders, 1–2 languages of 6.
struct PoolFilters {
  std::vector<std::uint8_t> gender;
  std::vector<std::uint32_t> wants, languages;
  matching::HardFilters view() const {
    matching::HardFilters f;
    f.mutual.push_back({gender.data(), wants.data()});
    f.overlap.push_back(languages.data());
    return f;
  }
};

PoolFilters random_filters(std::mt19937& rng, std::size_t n, bool ordered) {
  PoolFilters f{std::vector<std::uint8_t>(n), std::vector<std::uint32_t>(n), std::vector<std::uint32_t>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    f.gender[i] = static_cast<std::uint8_t>(rng() % 3);
    // Most want one other gender (as in the bundled world); some want any set.
    f.wants[i] = rng() % 5 != 0 ? 1u << ((f.gender[i] + 1) % 3) : 1u + rng() % 7;
    f.languages[i] = (1u << (rng() % 6)) | (rng() % 3 == 0 ? 1u << (rng() % 6) : 0u);
  }
  if (ordered) {
    // As MatchPool orders a pool: by gender, then wants.
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return f.gender[a] != f.gender[b] ? f.gender[a] < f.gender[b] : f.wants[a] < f.wants[b];
    });
    PoolFilters sorted = f;
    for (std::size_t k = 0; k < n; ++k) {
      sorted.gender[k] = f.gender[order[k]];
      sorted.wants[k] = f.wants[order[k]];
      sorted.languages[k] = f.languages[order[k]];
    }
    return sorted;
  }
  return f;
}

TEST(filter_tiles_never_rule_out_an_allowed_pair) {
  std::mt19937 rng(21);
  for (std::size_t n : {1u, 31u, 33u, 200u, 517u}) {
    for (bool ordered : {false, true}) {
      const PoolFilters f = random_filters(rng, n, ordered);
      const matching::HardFilters view = f.view();
      for (std::size_t tile : {1u, 8u, 32u}) {
        const matching::FilterTiles tiles(view, n, tile);
        std::size_t skipped = 0;
        for (std::size_t a = 0; a < tiles.count(); ++a) {
          for (std::size_t b = 0; b < tiles.count(); ++b) {
            CHECK(tiles.may_allow(a, b) == tiles.may_allow(b, a)) << "not symmetric at " << a << "," << b;
            if (!tiles.may_allow(a, b)) ++skipped;
          }
        }
        for (std::size_t i = 0; i < n; ++i) {
          for (std::size_t j = 0; j < n; ++j) {
            if (matching::allowed(view, i, j)) {
              CHECK(tiles.may_allow(i / tile, j / tile)) << "n " << n << " tile " << tile << ": pair " << i << "," << j << " is allowed";
            } else if (tile == 1) {
              CHECK(!tiles.may_allow(i, j)) << "single-user tiles are exact: " << i << "," << j;
            }
          }
        }
        if (ordered && n >= 200 && tile == 32) {
          CHECK(skipped > 0) << "an ordered pool of " << n << " skipped no tile";
        }
      }
    }
  }
}

// With filters, head_scores skips tiles they forbid; after pair_weights the weights are those of
// the unfiltered path (every allowed entry computed, every forbidden one −∞ whatever was left).
TEST(skipping_forbidden_tiles_gives_the_same_weights) {
  std::mt19937 rng(23);
  for (std::size_t n : {40u, 300u, 1000u}) {
    for (bool ordered : {false, true}) {
      std::vector<HeadData> heads{
          {random_matrix(rng, n, 64, 0.15f), random_matrix(rng, n, 64, 0.15f), 64, {Transform::Kind::kExp, 1.0f, 0.1f}, 1.0f},
          {random_matrix(rng, n, 16, 0.3f), random_matrix(rng, n, 16, 0.3f), 16, {Transform::Kind::kExp, 1.8f, -2.6f}, 20.0f}};
      const PoolFilters f = random_filters(rng, n, ordered);
      const matching::HardFilters view = f.view();
      const Transform identity{Transform::Kind::kIdentity, 1, 0};
      for (const auto& info : backend::list()) {
        if (!info.available) continue;
        backend::Backend& be = backend::by_name(info.name);
        std::vector<float> plain(n * n), skipped(n * n, std::numeric_limits<float>::quiet_NaN());
        matching::head_scores(be, views(heads, n), MutableMatrix(plain.data(), n, n), CancelToken());
        matching::head_scores(be, views(heads, n), MutableMatrix(skipped.data(), n, n), CancelToken(), &view);
        matching::pair_weights(MutableMatrix(plain.data(), n, n), identity, view, CancelToken(), 0);
        matching::pair_weights(MutableMatrix(skipped.data(), n, n), identity, view, CancelToken(), 0);
        double worst = 0;
        for (std::size_t k = 0; k < n * n; ++k) {
          if (std::isinf(plain[k])) {
            CHECK(std::isinf(skipped[k]) && skipped[k] < 0) << info.name << " entry " << k << " should be forbidden";
          } else {
            worst = std::max(worst, std::fabs(double(skipped[k]) - plain[k]) / std::fabs(double(plain[k])));
          }
        }
        CHECK(worst < 1e-6) << info.name << " n=" << n << " worst relative difference " << worst;
      }
    }
  }
}

// FilterOrder against the naive rule: the order groups users by (gender, wants) stably, and the
// reordered filters, blocked ids, rows and mates all say the same thing about the same users.
TEST(filter_order_renames_filters_rows_and_mates_consistently) {
  std::mt19937 rng(29);
  for (std::size_t n : {2u, 37u, 300u}) {
    const PoolFilters f = random_filters(rng, n, false);
    matching::HardFilters view = f.view();
    std::vector<std::int32_t> blocked;
    for (std::size_t p = 0; p < n; ++p) {
      blocked.push_back(static_cast<std::int32_t>(rng() % n));
      blocked.push_back(static_cast<std::int32_t>(rng() % n));
    }
    view.blocked = blocked.data();
    view.blocked_pairs = n;
    matching::FilterOrder order(view, n);
    auto key = [&](std::size_t i) { return f.gender[i] * 256u + f.wants[i]; };
    bool grouped = true;
    for (std::size_t i = 1; i < n; ++i) grouped = grouped && key(i - 1) <= key(i);
    CHECK(order.identity() == grouped) << "n " << n;
    if (order.identity()) continue;
    const auto& o = order.order();
    std::vector<std::int32_t> rank(n, -1);
    for (std::size_t k = 0; k < n; ++k) {
      CHECK(o[k] >= 0 && static_cast<std::size_t>(o[k]) < n && rank[static_cast<std::size_t>(o[k])] < 0) << "not a permutation at " << k;
      rank[static_cast<std::size_t>(o[k])] = static_cast<std::int32_t>(k);
    }
    for (std::size_t k = 1; k < n; ++k) {
      const auto a = static_cast<std::size_t>(o[k - 1]), b = static_cast<std::size_t>(o[k]);
      CHECK(key(a) < key(b) || (key(a) == key(b) && a < b)) << "rows " << k - 1 << "," << k << " out of order";
    }
    const matching::HardFilters& r = order.filters();
    for (std::size_t k = 0; k < n; ++k) {
      for (std::size_t l = 0; l < n; ++l) {
        CHECK(matching::allowed(r, k, l) == matching::allowed(view, static_cast<std::size_t>(o[k]), static_cast<std::size_t>(o[l])))
            << "pair " << k << "," << l;
      }
    }
    CHECK(r.blocked_pairs == n);
    for (std::size_t p = 0; p < 2 * n; ++p) CHECK(r.blocked[p] == rank[static_cast<std::size_t>(blocked[p])]) << "blocked[" << p << "]";
    const std::vector<float> m = random_matrix(rng, n, 3, 1.0f);
    const ConstMatrix rows = order.rows(ConstMatrix(m.data(), n, 3));
    for (std::size_t k = 0; k < n; ++k) {
      for (std::size_t c = 0; c < 3; ++c) CHECK(rows.row(k)[c] == m[static_cast<std::size_t>(o[k]) * 3 + c]) << "row " << k;
    }
    // Rows 0–1, 2–3, … matched in filter order are the same users matched in pool order.
    std::vector<std::int32_t> mate(n, -1);
    for (std::size_t k = 0; k + 1 < n; k += 2) {
      mate[k] = static_cast<std::int32_t>(k + 1);
      mate[k + 1] = static_cast<std::int32_t>(k);
    }
    order.to_pool_order(mate);
    for (std::size_t k = 0; k + 1 < n; k += 2) {
      CHECK(mate[static_cast<std::size_t>(o[k])] == o[k + 1] && mate[static_cast<std::size_t>(o[k + 1])] == o[k]) << "pair " << k;
    }
    if (n % 2 == 1) {
      CHECK(mate[static_cast<std::size_t>(o[n - 1])] == -1);
    }
  }
  // A pool already in filter order is used as it is: no copies.
  const PoolFilters sorted = random_filters(rng, 200, true);
  const matching::HardFilters view = sorted.view();
  matching::FilterOrder same(view, 200);
  CHECK(same.identity());
  CHECK(same.filters().mutual[0].attr == sorted.gender.data() && same.filters().overlap[0] == sorted.languages.data());
  std::vector<float> m(200 * 2, 1.0f);
  CHECK(same.rows(ConstMatrix(m.data(), 200, 2)).data == m.data());
  // A blocked id out of range is refused before anything is read through it.
  const PoolFilters g = random_filters(rng, 50, false);
  matching::HardFilters bad = g.view();
  const std::int32_t ids[] = {3, 50};
  bad.blocked = ids;
  bad.blocked_pairs = 1;
  CHECK_THROWS_CODE(matching::FilterOrder(bad, 50), Code::kInvalidArgument);
}

TEST(rejects_bad_heads) {
  std::vector<float> a(4 * 3, 0.1f), b(4 * 2, 0.1f), out(16);
  auto& be = backend::best();
  const MutableMatrix o(out.data(), 4, 4);
  CHECK_THROWS_CODE(matching::head_scores(be, {}, o, CancelToken()), Code::kInvalidArgument);
  CHECK_THROWS_CODE(matching::head_scores(be, {{ConstMatrix(a.data(), 4, 3), ConstMatrix(b.data(), 4, 2), {}, 1}}, o, CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(matching::head_scores(be, {{ConstMatrix(a.data(), 4, 3), ConstMatrix(a.data(), 4, 3), {}, 0}}, o, CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(matching::head_scores(be, {{ConstMatrix(a.data(), 4, 3), ConstMatrix(a.data(), 4, 3), {}, NAN}}, o, CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(matching::head_scores(be, {{ConstMatrix(a.data(), 3, 3), ConstMatrix(a.data(), 4, 3), {}, 1}}, o, CancelToken()),
                    Code::kInvalidArgument);
  Transform bad{Transform::Kind::kExp, INFINITY, 0};
  CHECK_THROWS_CODE(matching::head_scores(be, {{ConstMatrix(a.data(), 4, 3), ConstMatrix(a.data(), 4, 3), bad, 1}}, o, CancelToken()),
                    Code::kInvalidArgument);
}

TEST(honours_cancel) {
  std::vector<float> a(64 * 4, 0.1f), out(64 * 64);
  std::int32_t flag = 1;
  CHECK_THROWS_CODE(matching::head_scores(backend::best(), {{ConstMatrix(a.data(), 64, 4), ConstMatrix(a.data(), 64, 4), {}, 1}},
                                          MutableMatrix(out.data(), 64, 64), CancelToken(&flag)),
                    Code::kCancelled);
}

TEST_MAIN()
