// pair_weights against a naive reference (double exp, the naive filter rule, a plain loop over
// pairs) on seeded random pools, plus its fast exp against double exp over the float range.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "kindred/core/error.h"
#include "kindred/matching/hard_filters.h"
#include "kindred/matching/pair_weights.h"

using namespace kindred;
using matching::HardFilters;
using matching::Transform;

namespace {

constexpr double kTolerance = 1e-6;  // relative, on every weight

// kTolerance, or one step of the subnormal grid for weights that small (each term is rounded to it).
double tolerance(double weight) { return std::max(kTolerance * std::fabs(weight), std::ldexp(1.0, -149)); }
constexpr float kInf = std::numeric_limits<float>::infinity();

// A random pool: scores plus the arrays the filters borrow.
struct Pool {
  std::size_t n = 0;
  std::size_t stride = 0;
  std::vector<float> scores;
  std::vector<std::vector<std::uint8_t>> attrs;
  std::vector<std::vector<std::uint32_t>> accepts;
  std::vector<std::vector<std::uint32_t>> overlaps;
  std::vector<std::int32_t> blocked;
  HardFilters filters;

  MutableMatrix matrix() { return MutableMatrix(scores.data(), n, n, stride); }
  float& at(std::size_t i, std::size_t j) { return scores[i * stride + j]; }
};

struct Config {
  const char* name;
  int mutual, overlap;
  bool blocked;
};

const Config kConfigs[] = {
    {"none", 0, 0, false},   {"mutual", 1, 0, false}, {"overlap", 0, 1, false},
    {"blocked", 0, 0, true}, {"all", 2, 2, true},
};

Pool make_pool(std::size_t n, const Config& config, std::uint32_t seed, std::size_t pad = 0) {
  std::mt19937 rng(seed);
  Pool p;
  p.n = n;
  p.stride = n + pad;
  std::normal_distribution<float> normal(0.0f, 1.5f);
  p.scores.assign(n * p.stride, std::numeric_limits<float>::quiet_NaN());  // padding stays NaN, must be untouched
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) p.at(i, j) = normal(rng);
  for (int m = 0; m < config.mutual; ++m) {
    std::vector<std::uint8_t> attr(n);
    std::vector<std::uint32_t> acc(n);
    // attr values spread over all 32 bits for the second filter, over 3 for the first (denser).
    const unsigned range = m == 0 ? 3 : 32;
    for (auto& a : attr) a = static_cast<std::uint8_t>(rng() % range);
    for (auto& a : acc) a = static_cast<std::uint32_t>(rng()) | (m == 0 ? 0u : 0x55555555u);
    p.attrs.push_back(std::move(attr));
    p.accepts.push_back(std::move(acc));
  }
  for (int o = 0; o < config.overlap; ++o) {
    std::vector<std::uint32_t> bits(n);
    for (auto& b : bits) b = static_cast<std::uint32_t>(rng()) & (o == 0 ? 0x7u : 0xf0u);
    p.overlaps.push_back(std::move(bits));
  }
  if (config.blocked && n > 0) {
    std::uniform_int_distribution<std::int32_t> id(0, static_cast<std::int32_t>(n) - 1);
    const std::size_t count = n * 2 + 3;
    for (std::size_t k = 0; k < count; ++k) {
      const std::int32_t i = id(rng), j = k % 7 == 0 ? i : id(rng);  // some i == j
      p.blocked.push_back(i);
      p.blocked.push_back(j);
      if (k % 5 == 0) {  // duplicates, in the other order
        p.blocked.push_back(j);
        p.blocked.push_back(i);
      }
    }
  }
  for (std::size_t m = 0; m < p.attrs.size(); ++m) p.filters.mutual.push_back({p.attrs[m].data(), p.accepts[m].data()});
  for (const auto& o : p.overlaps) p.filters.overlap.push_back(o.data());
  p.filters.blocked = p.blocked.empty() ? nullptr : p.blocked.data();
  p.filters.blocked_pairs = p.blocked.size() / 2;
  return p;
}

double reference_f(const Transform& t, float s) {
  if (t.kind == Transform::Kind::kIdentity) return s;
  return std::exp(static_cast<double>(t.w) * static_cast<double>(s) + static_cast<double>(t.b));
}

// The naive reference: W over all pairs (row-major, n × n), -inf where forbidden, and the count.
std::vector<double> reference_weights(Pool& p, const Transform& t, std::size_t* allowed_pairs) {
  const std::size_t n = p.n;
  std::set<std::pair<std::size_t, std::size_t>> blocked;
  for (std::size_t k = 0; k + 1 < p.blocked.size(); k += 2) {
    std::size_t i = p.blocked[k], j = p.blocked[k + 1];
    blocked.insert({std::min(i, j), std::max(i, j)});
  }
  std::vector<double> w(n * n, -HUGE_VAL);
  *allowed_pairs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (!matching::allowed(p.filters, i, j) || blocked.count({i, j})) continue;
      w[i * n + j] = w[j * n + i] = reference_f(t, p.at(i, j)) + reference_f(t, p.at(j, i));
      ++*allowed_pairs;
    }
  }
  return w;
}

void check_against_reference(std::size_t n, const Config& config, const Transform& t, std::uint32_t seed,
                             int threads, std::size_t pad = 0) {
  Pool p = make_pool(n, config, seed, pad);
  std::size_t want_pairs = 0;
  const std::vector<double> want = reference_weights(p, t, &want_pairs);
  const auto stats = matching::pair_weights(p.matrix(), t, p.filters, CancelToken(), threads);
  const std::string where = "n " + std::to_string(n) + " filters " + config.name + " transform " +
                            (t.kind == Transform::Kind::kExp ? "exp" : "identity") + " seed " + std::to_string(seed) +
                            " threads " + std::to_string(threads) + " pad " + std::to_string(pad);
  CHECK(stats.allowed_pairs == want_pairs) << where << ": allowed_pairs " << stats.allowed_pairs << ", want " << want_pairs;
  int bad = 0;
  for (std::size_t i = 0; i < n && bad < 3; ++i) {
    for (std::size_t j = 0; j < n && bad < 3; ++j) {
      const float got = p.at(i, j);
      const double ref = want[i * n + j];
      const bool ok = std::isinf(ref) ? got == -kInf : std::fabs(got - ref) <= tolerance(ref);
      if (!ok) {
        ++bad;
        CHECK(false) << where << ": W[" << i << "][" << j << "] = " << got << ", want " << ref;
      }
      if (std::memcmp(&got, &p.at(j, i), sizeof got) != 0) {
        ++bad;
        CHECK(false) << where << ": not symmetric at (" << i << ", " << j << "): " << got << " vs " << p.at(j, i);
      }
    }
    for (std::size_t j = n; j < p.stride; ++j) CHECK(std::isnan(p.at(i, j))) << where << ": padding written";
    CHECK(p.at(i, i) == -kInf) << where << ": diagonal " << i << " is " << p.at(i, i);
  }
  CHECK(stats.seconds_filters >= 0) << where;
}

const std::size_t kSizes[] = {0, 1, 2, 3, 17, 64, 65, 300, 1000};

std::string throw_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

TEST(fast_expf_matches_double_exp_over_float_range) {
  // Every 97th float in [-104, 89] (about 23 million), compared with double exp. Relative error for
  // normal results; for subnormal ones the error in units of the smallest subnormal. (The AVX2+FMA
  // path measures about 1.05 ulp, the double-precision fallback 0.53.)
  double max_rel = 0, max_ulp = 0, max_sub = 0, worst_x = 0;
  std::size_t checked = 0;
  auto check_range = [&](float lo, float hi) {
    std::uint32_t b0, b1;
    std::memcpy(&b0, &lo, 4);
    std::memcpy(&b1, &hi, 4);
    if (b0 > b1) std::swap(b0, b1);
    for (std::uint64_t b = b0; b <= b1; b += 97) {
      const std::uint32_t bits = static_cast<std::uint32_t>(b);
      float x;
      std::memcpy(&x, &bits, 4);
      const float got = matching::fast_expf(x);
      const double want = std::exp(static_cast<double>(x));
      ++checked;
      if (want > FLT_MAX) {
        CHECK(got == kInf || got == FLT_MAX) << "x " << x << " got " << got << " want " << want;  // FLT_MAX only at the rounding edge
        continue;
      }
      if (want >= FLT_MIN) {
        const double rel = std::fabs(got - want) / want;
        const double ulp = std::fabs(got - want) / std::ldexp(1.0, std::ilogb(want) - 23);
        if (rel > max_rel) {
          max_rel = rel;
          worst_x = x;
        }
        max_ulp = std::max(max_ulp, ulp);
      } else {
        max_sub = std::max(max_sub, std::fabs(got - want) / std::ldexp(1.0, -149));
      }
    }
  };
  check_range(-0.0f, -104.0f);
  check_range(0.0f, 89.0f);
  std::printf("     fast_expf: %zu values, max relative error %.3g (at x = %.9g), max %.3f ulp; subnormals within %.3f x 2^-149\n",
              checked, max_rel, worst_x, max_ulp, max_sub);
  CHECK(max_rel < 3e-7) << "max relative error " << max_rel << " at x = " << worst_x;
  CHECK(max_ulp <= 2.0) << "max ulp " << max_ulp;
  CHECK(max_sub <= 1.0) << "subnormal error " << max_sub;
}

TEST(fast_expf_special_values) {
  CHECK(matching::fast_expf(0.0f) == 1.0f);
  CHECK(matching::fast_expf(-0.0f) == 1.0f);
  CHECK(std::fabs(matching::fast_expf(1.0f) - 2.718281828f) <= 2.718281828f * 1.2e-7f);
  CHECK(matching::fast_expf(-104.0f) == 0.0f) << matching::fast_expf(-104.0f);
  CHECK(matching::fast_expf(-200.0f) == 0.0f);
  CHECK(matching::fast_expf(-1e30f) == 0.0f);
  CHECK(matching::fast_expf(-kInf) == 0.0f);
  CHECK(matching::fast_expf(-FLT_MAX) == 0.0f);
  const float tiny = matching::fast_expf(-100.0f);  // 3.7e-44: a subnormal
  CHECK(tiny > 0 && tiny < FLT_MIN) << tiny;
  CHECK(std::isfinite(matching::fast_expf(88.72f))) << matching::fast_expf(88.72f);
  CHECK(matching::fast_expf(88.73f) == kInf) << matching::fast_expf(88.73f);
  CHECK(matching::fast_expf(89.0f) == kInf);
  CHECK(matching::fast_expf(1000.0f) == kInf);
  CHECK(matching::fast_expf(FLT_MAX) == kInf);
  CHECK(matching::fast_expf(kInf) == kInf);
  CHECK(std::isnan(matching::fast_expf(std::numeric_limits<float>::quiet_NaN())));
}

TEST(random_pools_match_reference) {
  std::uint32_t seed = 7000;
  Transform identity;
  identity.kind = Transform::Kind::kIdentity;
  Transform exp_t;  // exp(1.7·s - 0.5)
  exp_t.w = 1.7f;
  exp_t.b = -0.5f;
  for (std::size_t n : kSizes) {
    for (const Config& config : kConfigs) {
      check_against_reference(n, config, identity, seed++, 2);
      check_against_reference(n, config, exp_t, seed++, 2);
    }
  }
}

TEST(strides_threads_and_default_transform) {
  const Config& all = kConfigs[4];
  check_against_reference(130, all, Transform(), 11, 1, 5);
  check_against_reference(130, all, Transform(), 12, 3, 1);
  check_against_reference(200, all, Transform(), 13, 0);  // default thread count
  Transform t;
  t.w = 3.0f;
  t.b = 20.0f;  // large weights, far from overflow (|w·s + b| < ~45)
  check_against_reference(257, all, t, 14, 2);
  t.w = -2.5f;
  t.b = -30.0f;  // tiny weights
  check_against_reference(257, all, t, 15, 2);
}

TEST(any_buffer_alignment) {
  // The pass aligns its blocks to the buffer: shift the matrix by 0..7 floats, with strides that keep
  // every row at the same alignment (multiples of 8) and ones that do not.
  const Config& all = kConfigs[4];
  for (std::size_t shift = 0; shift < 8; ++shift) {
    for (std::size_t n : {9, 64, 100}) {
      for (std::size_t stride : {n + (8 - n % 8) % 8, n + 3}) {
        Pool ref = make_pool(n, all, 600 + static_cast<std::uint32_t>(shift * 10 + n), stride - n);
        std::vector<float> buffer(shift + ref.scores.size() + 8);
        std::copy(ref.scores.begin(), ref.scores.end(), buffer.begin() + static_cast<std::ptrdiff_t>(shift));
        std::size_t want_pairs = 0;
        Transform t;
        const std::vector<double> want = reference_weights(ref, t, &want_pairs);
        const auto stats = matching::pair_weights(MutableMatrix(buffer.data() + shift, n, n, stride), t, ref.filters,
                                                  CancelToken(), 2);
        CHECK(stats.allowed_pairs == want_pairs) << "shift " << shift << " n " << n << " stride " << stride;
        int bad = 0;
        for (std::size_t i = 0; i < n && bad < 3; ++i) {
          for (std::size_t j = 0; j < n && bad < 3; ++j) {
            const float got = buffer[shift + i * stride + j];
            const double w = want[i * n + j];
            if (std::isinf(w) ? got != -kInf : !(std::fabs(got - w) <= tolerance(w))) {
              ++bad;
              CHECK(false) << "shift " << shift << " n " << n << " stride " << stride << ": W[" << i << "][" << j
                           << "] = " << got << ", want " << w;
            }
          }
        }
      }
    }
  }
}

TEST(exp_argument_is_exact_under_cancellation) {
  // w·s ≈ 73 and b = -73: w·s rounded to float would be off by up to 73 · 2^-24 ≈ 4e-6, four times
  // the tolerance, though w·s + b is small. The transform must not round it.
  Pool p = make_pool(150, kConfigs[4], 77);
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::size_t j = 0; j < p.n; ++j) p.at(i, j) = 10.0f + p.at(i, j);
  Transform t;
  t.w = 7.3f;
  t.b = -73.0f;
  std::size_t want_pairs = 0;
  const std::vector<double> want = reference_weights(p, t, &want_pairs);
  const auto stats = matching::pair_weights(p.matrix(), t, p.filters, CancelToken(), 2);
  CHECK(stats.allowed_pairs == want_pairs);
  double worst = 0;
  for (std::size_t i = 0; i < p.n; ++i) {
    for (std::size_t j = 0; j < p.n; ++j) {
      if (std::isinf(want[i * p.n + j])) continue;
      worst = std::max(worst, std::fabs(p.at(i, j) - want[i * p.n + j]) / want[i * p.n + j]);
    }
  }
  CHECK(worst <= kTolerance) << "worst relative error " << worst;
}

TEST(exp_argument_is_exact_with_a_huge_bias) {
  // b = 50000 and s ≈ 50000: w·s + b is small, but no float near 50000 resolves it.
  Pool p = make_pool(70, kConfigs[0], 78);
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::size_t j = 0; j < p.n; ++j) p.at(i, j) = 50000.0f + p.at(i, j);
  Transform t;
  t.w = -1.0f;
  t.b = 50000.0f;
  std::size_t want_pairs = 0;
  const std::vector<double> want = reference_weights(p, t, &want_pairs);
  matching::pair_weights(p.matrix(), t, p.filters, CancelToken(), 2);
  double worst = 0;
  for (std::size_t i = 0; i < p.n; ++i) {
    for (std::size_t j = 0; j < p.n; ++j) {
      if (i != j) worst = std::max(worst, std::fabs(p.at(i, j) - want[i * p.n + j]) / want[i * p.n + j]);
    }
  }
  CHECK(worst <= kTolerance) << "worst relative error " << worst;
}

TEST(extreme_w_and_b) {
  struct Case {
    float w, b;
    bool overflows;
  };
  const Case cases[] = {
      {1.0f, 1e30f, true},     {1.0f, -1e30f, false}, {0.0f, 1.0f, false},  {0.0f, 89.0f, true},
      {1e-30f, -3.0f, false},  {-1e-30f, 2.0f, false}, {1e30f, 0.0f, true}, {FLT_MAX, -1e30f, true},
      {2.0f, -100.0f, false},  {-50.0f, 0.0f, true},
  };
  for (const Case& c : cases) {
    Transform t;
    t.w = c.w;
    t.b = c.b;
    Pool p = make_pool(40, kConfigs[0], 90);
    if (c.overflows) {
      CHECK_THROWS_CODE(matching::pair_weights(p.matrix(), t, p.filters, CancelToken(), 2), Code::kInvalidArgument);
      continue;
    }
    check_against_reference(40, kConfigs[0], t, 90, 2);
  }
  // Negative scores only: w = 1e30 sends every weight to 0, none overflows.
  Pool p = make_pool(40, kConfigs[0], 91);
  for (auto& v : p.scores) v = -std::fabs(v) - 0.5f;
  Transform t;
  t.w = 1e30f;
  const auto stats = matching::pair_weights(p.matrix(), t, p.filters, CancelToken(), 2);
  CHECK(stats.allowed_pairs == 40u * 39u / 2 && p.at(1, 2) == 0.0f) << stats.allowed_pairs << " " << p.at(1, 2);
}

TEST(results_do_not_depend_on_thread_count) {
  Pool a = make_pool(333, kConfigs[4], 99), b = make_pool(333, kConfigs[4], 99);
  const auto sa = matching::pair_weights(a.matrix(), Transform(), a.filters, CancelToken(), 1);
  const auto sb = matching::pair_weights(b.matrix(), Transform(), b.filters, CancelToken(), 4);
  CHECK(sa.allowed_pairs == sb.allowed_pairs);
  CHECK(std::memcmp(a.scores.data(), b.scores.data(), a.scores.size() * sizeof(float)) == 0);
}

TEST(exp_underflow_is_a_finite_zero_weight) {
  Pool p = make_pool(40, kConfigs[0], 5);
  for (auto& s : p.scores) s = -500.0f;
  const auto stats = matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2);
  CHECK(stats.allowed_pairs == 40 * 39 / 2) << stats.allowed_pairs;
  CHECK(p.at(3, 7) == 0.0f && p.at(7, 3) == 0.0f) << p.at(3, 7);
  CHECK(p.at(5, 5) == -kInf);
}

TEST(attr_out_of_range_is_invalid_argument) {
  Pool p = make_pool(50, kConfigs[1], 21);
  p.attrs[0][17] = 32;
  const std::vector<float> before = p.scores;
  CHECK_THROWS_CODE(matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2), Code::kInvalidArgument);
  const std::string msg = throw_message([&] { matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2); });
  CHECK(msg.find("attr[17] = 32") != std::string::npos) << msg;
  CHECK(std::memcmp(before.data(), p.scores.data(), before.size() * sizeof(float)) == 0) << "scores written before the check";
  CHECK(!matching::allowed(p.filters, 17, 3)) << "the naive rule accepts nothing for attr >= 32";
}

TEST(blocked_id_out_of_range_is_invalid_argument) {
  Pool p = make_pool(50, kConfigs[0], 22);
  std::vector<std::int32_t> blocked = {1, 2, 3, 50};
  p.filters.blocked = blocked.data();
  p.filters.blocked_pairs = 2;
  std::string msg = throw_message([&] { matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2); });
  CHECK(msg.find("blocked[3] = 50") != std::string::npos) << msg;
  CHECK_THROWS_CODE(matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2), Code::kInvalidArgument);
  blocked = {-1, 2};
  p.filters.blocked_pairs = 1;
  msg = throw_message([&] { matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2); });
  CHECK(msg.find("blocked[0] = -1") != std::string::npos) << msg;
  CHECK(std::isfinite(p.at(1, 2)) && p.at(1, 2) == make_pool(50, kConfigs[0], 22).at(1, 2)) << "scores written before the check";
}

TEST(overflow_is_invalid_argument) {
  const std::string prefix = "transform overflows float at pair (";
  {  // exp(w·s + b) > FLT_MAX on an allowed pair
    Pool p = make_pool(100, kConfigs[0], 31);
    p.at(70, 3) = 100.0f;
    std::string msg = throw_message([&] { matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2); });
    CHECK(starts_with(msg, prefix + "70, 3)")) << msg;
    // With names (a caller's own indices for reordered rows) the pair is named by them.
    std::vector<std::int32_t> names(100);
    for (std::size_t i = 0; i < names.size(); ++i) names[i] = static_cast<std::int32_t>(1000 + 2 * i);
    Pool named = make_pool(100, kConfigs[0], 31);
    named.at(70, 3) = 100.0f;
    msg = throw_message([&] { matching::pair_weights(named.matrix(), Transform(), named.filters, CancelToken(), 2, names.data()); });
    CHECK(starts_with(msg, prefix + "1140, 1006)")) << msg;
    CHECK_THROWS_CODE(matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2), Code::kInvalidArgument);
    Pool control = make_pool(100, kConfigs[0], 31);  // the same pool without the big score: no throw
    matching::pair_weights(control.matrix(), Transform(), control.filters, CancelToken(), 2);
  }
  {  // each term finite, the sum past FLT_MAX
    Pool p = make_pool(100, kConfigs[0], 32);
    p.at(10, 90) = 88.5f;
    p.at(90, 10) = 88.5f;
    std::string msg = throw_message([&] { matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2); });
    CHECK(starts_with(msg, prefix + "10, 90)")) << msg;
  }
  {  // identity: a NaN score, an infinite one, a sum overflow to -inf
    Transform identity;
    identity.kind = Transform::Kind::kIdentity;
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), kInf, -kInf}) {
      Pool p = make_pool(80, kConfigs[0], 33);
      p.at(5, 66) = bad;
      std::string msg = throw_message([&] { matching::pair_weights(p.matrix(), identity, p.filters, CancelToken(), 2); });
      CHECK(starts_with(msg, prefix + "5, 66)")) << bad << ": " << msg;
    }
    Pool p = make_pool(80, kConfigs[0], 34);
    p.at(5, 66) = -3e38f;
    p.at(66, 5) = -3e38f;
    std::string msg = throw_message([&] { matching::pair_weights(p.matrix(), identity, p.filters, CancelToken(), 2); });
    CHECK(starts_with(msg, prefix + "5, 66)")) << msg;
  }
}

TEST(overflow_on_forbidden_pairs_is_fine) {
  // Blocked pairs whose transform overflows are forbidden anyway: no error, and the count is exact.
  auto pool = [] {
    Pool p = make_pool(90, kConfigs[0], 41);
    p.blocked = {20, 70, 71, 70, 70, 71, 41, 40, 3, 3};
    p.filters.blocked = p.blocked.data();
    p.filters.blocked_pairs = p.blocked.size() / 2;
    return p;
  };
  Pool p = pool(), ref = pool();
  p.at(20, 70) = 200.0f;  // exp overflows
  p.at(71, 70) = 60.0f;   // each term finite, the sum overflows (the pair is listed twice)
  p.at(70, 71) = 88.6f;
  p.at(40, 41) = kInf;    // a non-finite score
  p.at(41, 40) = std::numeric_limits<float>::quiet_NaN();
  p.at(30, 30) = 1000.0f;  // the diagonal is never transformed
  const auto stats = matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(), 2);
  std::size_t want_pairs = 0;
  reference_weights(ref, Transform(), &want_pairs);
  CHECK(want_pairs == 90u * 89u / 2 - 3) << want_pairs;
  CHECK(stats.allowed_pairs == want_pairs) << stats.allowed_pairs << " vs " << want_pairs;
  CHECK(p.at(20, 70) == -kInf && p.at(70, 20) == -kInf);
  CHECK(p.at(70, 71) == -kInf && p.at(71, 70) == -kInf);
  CHECK(p.at(40, 41) == -kInf && p.at(41, 40) == -kInf);
  CHECK(p.at(30, 30) == -kInf);

  // Filtered out by a mutual filter instead: no error either.
  Pool q = make_pool(90, kConfigs[0], 42);
  std::vector<std::uint8_t> attr(90, 0);
  std::vector<std::uint32_t> accepts(90, 1u);
  attr[12] = 1;  // nobody accepts attr 1
  q.filters.mutual.push_back({attr.data(), accepts.data()});
  q.at(12, 50) = 500.0f;
  q.at(50, 12) = std::numeric_limits<float>::quiet_NaN();
  const auto qs = matching::pair_weights(q.matrix(), Transform(), q.filters, CancelToken(), 2);
  CHECK(qs.allowed_pairs == 89u * 88u / 2) << qs.allowed_pairs;
  CHECK(q.at(12, 50) == -kInf && q.at(50, 12) == -kInf);
}

TEST(cancelled_token_is_cancelled) {
  for (std::size_t n : {0, 1, 100}) {
    Pool p = make_pool(n, kConfigs[4], 51);
    CancelToken cancel;
    cancel.cancel();
    CHECK_THROWS_CODE(matching::pair_weights(p.matrix(), Transform(), p.filters, cancel, 2), Code::kCancelled);
  }
  std::int32_t flag = 1;
  Pool p = make_pool(300, kConfigs[0], 52);
  CHECK_THROWS_CODE(matching::pair_weights(p.matrix(), Transform(), p.filters, CancelToken(&flag), 2), Code::kCancelled);
}

TEST(bad_shapes_and_arguments) {
  std::vector<float> s(12, 0.0f);
  HardFilters none;
  CHECK_THROWS_CODE(matching::pair_weights(MutableMatrix(s.data(), 3, 4), Transform(), none, CancelToken(), 1),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(matching::pair_weights(MutableMatrix(nullptr, 3, 3), Transform(), none, CancelToken(), 1),
                    Code::kInvalidArgument);
  Transform t;
  t.w = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_CODE(matching::pair_weights(MutableMatrix(s.data(), 3, 3), t, none, CancelToken(), 1),
                    Code::kInvalidArgument);
  HardFilters null_overlap;
  null_overlap.overlap.push_back(nullptr);
  CHECK_THROWS_CODE(matching::pair_weights(MutableMatrix(s.data(), 3, 3), Transform(), null_overlap, CancelToken(), 1),
                    Code::kInvalidArgument);
  HardFilters null_blocked;
  null_blocked.blocked_pairs = 1;
  CHECK_THROWS_CODE(matching::pair_weights(MutableMatrix(s.data(), 3, 3), Transform(), null_blocked, CancelToken(), 1),
                    Code::kInvalidArgument);
  // n == 0 with null data and null filter arrays is fine.
  HardFilters empty;
  empty.mutual.push_back({nullptr, nullptr});
  empty.overlap.push_back(nullptr);
  const auto stats = matching::pair_weights(MutableMatrix(nullptr, 0, 0), Transform(), empty, CancelToken(), 1);
  CHECK(stats.allowed_pairs == 0);
}

TEST_MAIN()
