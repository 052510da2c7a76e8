// Every available backend against the naive double-precision reference, on seeded random and
// adversarial shapes. A backend that cannot run here is a visible skip with its reason.
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>

#include "harness.h"
#include "kindred/backend/registry.h"
#include "kindred/core/error.h"
#include "kindred/gemm/pair_scores.h"
#include "reference.h"

using namespace kindred;

namespace {

// Error budget of an fp32 dot product of length k: |err| <= k·u·Σ|a_i·b_i| (u = 2^-24). We allow
// twice that plus a tiny absolute floor for all-zero rows.
double tolerance(std::size_t dim, double magnitude) {
  return 2.0 * static_cast<double>(dim + 2) * (FLT_EPSILON / 2) * magnitude + 1e-30;
}

struct Shape {
  std::size_t rows, cols, dim;
  float scale;
};

// 0 rows/cols, 1×1, dims that are not multiples of 4/8/16, tile edges, a tall and a wide case,
// and magnitudes near the top of float range's comfortable zone.
const Shape kShapes[] = {
    {0, 5, 8, 1}, {5, 0, 8, 1}, {1, 1, 1, 1}, {1, 1, 7, 1}, {3, 17, 13, 1}, {4, 16, 16, 1},
    {65, 33, 63, 1}, {130, 257, 64, 1}, {257, 130, 65, 1}, {1, 1000, 129, 1}, {1000, 3, 31, 1},
    {300, 301, 1024, 1}, {40, 50, 64, 1e15f}, {40, 50, 64, 1e-15f},
};

void run_backend_case(backend::Backend& be, const Shape& s, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto a = test::random_matrix(rng, s.rows, s.dim, s.scale);
  auto b = test::random_matrix(rng, s.cols, s.dim, s.scale);
  std::vector<float> c(s.rows * s.cols, std::numeric_limits<float>::quiet_NaN());
  gemm::pair_scores(be, ConstMatrix(a.data(), s.rows, s.dim), ConstMatrix(b.data(), s.cols, s.dim),
                    MutableMatrix(c.data(), s.rows, s.cols), CancelToken());
  std::vector<double> ref, mag;
  test::reference_abt(a, b, s.rows, s.cols, s.dim, ref, mag);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < c.size() && bad < 3; ++i) {
    double err = std::fabs(static_cast<double>(c[i]) - ref[i]);
    if (!(err <= tolerance(s.dim, mag[i]))) {
      ++bad;
      CHECK(false) << "backend " << be.info().name << " seed " << seed << " shape " << s.rows << "x" << s.cols
                   << "x" << s.dim << " scale " << s.scale << " index " << i << ": got " << c[i] << ", want "
                   << ref[i] << " (tolerance " << tolerance(s.dim, mag[i]) << ")";
    }
  }
}

template <typename Fn>
void for_each_backend(Fn fn) {
  bool any = false;
  for (const auto& info : backend::list()) {
    if (!info.available) {
      std::printf("     backend %s unavailable: %s\n", info.name.c_str(), info.reason.c_str());
      continue;
    }
    any = true;
    fn(backend::by_name(info.name));
  }
  CHECK(any) << "no backend available";
}

}  // namespace

TEST(random_shapes_match_reference) {
  for_each_backend([](backend::Backend& be) {
    std::uint32_t seed = 1000;
    for (const auto& s : kShapes) run_backend_case(be, s, seed++);
  });
}

TEST(strided_output_leaves_padding_alone) {
  for_each_backend([](backend::Backend& be) {
    const std::size_t rows = 37, cols = 45, dim = 19, stride = 53;
    std::mt19937 rng(7);
    auto a = test::random_matrix(rng, rows, dim);
    auto b = test::random_matrix(rng, cols, dim);
    std::vector<float> c(rows * stride, -12345.0f);
    gemm::pair_scores(be, ConstMatrix(a.data(), rows, dim), ConstMatrix(b.data(), cols, dim),
                      MutableMatrix(c.data(), rows, cols, stride), CancelToken());
    std::vector<double> ref, mag;
    test::reference_abt(a, b, rows, cols, dim, ref, mag);
    for (std::size_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < stride; ++j) {
        float got = c[i * stride + j];
        if (j < cols) {
          CHECK(std::fabs(got - ref[i * cols + j]) <= tolerance(dim, mag[i * cols + j]))
              << be.info().name << " (" << i << "," << j << ")";
        } else {
          CHECK(got == -12345.0f) << be.info().name << " wrote padding at (" << i << "," << j << ")";
        }
      }
    }
  });
}

// Policy: IEEE-754. A NaN in row i of a makes row i of the scores NaN and leaves other rows exact;
// an Inf times a non-zero gives ±Inf. (The TypeScript API rejects non-finite input before this.)
TEST(non_finite_inputs_propagate_per_ieee) {
  for_each_backend([](backend::Backend& be) {
    const std::size_t rows = 9, cols = 21, dim = 17;
    std::mt19937 rng(11);
    auto a = test::random_matrix(rng, rows, dim);
    auto b = test::random_matrix(rng, cols, dim);
    for (auto& v : b) v = std::fabs(v) + 0.5f;  // positive, so Inf·b stays +Inf
    for (std::size_t k = 0; k < dim; ++k) a[2 * dim + k] = 1.0f;
    a[2 * dim + 5] = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t k = 0; k < dim; ++k) a[6 * dim + k] = 1.0f;
    a[6 * dim + 3] = std::numeric_limits<float>::infinity();
    std::vector<float> c(rows * cols);
    gemm::pair_scores(be, ConstMatrix(a.data(), rows, dim), ConstMatrix(b.data(), cols, dim),
                      MutableMatrix(c.data(), rows, cols), CancelToken());
    std::vector<double> ref, mag;
    test::reference_abt(a, b, rows, cols, dim, ref, mag);
    for (std::size_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < cols; ++j) {
        float got = c[i * cols + j];
        if (i == 2) {
          CHECK(std::isnan(got)) << be.info().name << " NaN row, col " << j << " got " << got;
        } else if (i == 6) {
          CHECK(std::isinf(got) && got > 0) << be.info().name << " Inf row, col " << j << " got " << got;
        } else {
          CHECK(std::fabs(got - ref[i * cols + j]) <= tolerance(dim, mag[i * cols + j]))
              << be.info().name << " clean row " << i << " col " << j << " got " << got;
        }
      }
    }
  });
}

TEST(pre_cancelled_token_stops_every_backend) {
  for_each_backend([](backend::Backend& be) {
    const std::size_t n = 64, dim = 8;
    std::vector<float> a(n * dim, 1.0f), c(n * n, 0.0f);
    std::int32_t flag = 1;
    CancelToken cancel(&flag);
    CHECK_THROWS_CODE(gemm::pair_scores(be, ConstMatrix(a.data(), n, dim), ConstMatrix(a.data(), n, dim),
                                        MutableMatrix(c.data(), n, n), cancel),
                      Code::kCancelled);
  });
}

TEST(every_backend_reports_a_reason_when_unavailable) {
  const auto& all = backend::list();
  CHECK(all.size() == 3) << "expected cuda, blas, portable; got " << all.size();
  const char* order[] = {"cuda", "blas", "portable"};
  for (std::size_t i = 0; i < all.size() && i < 3; ++i) {
    CHECK(all[i].name == order[i]) << "position " << i << " is " << all[i].name;
    if (!all[i].available) {
      CHECK(!all[i].reason.empty()) << all[i].name << " has no reason";
    }
    std::printf("     %-8s available=%d threads=%d device=%s reason=%s\n", all[i].name.c_str(), all[i].available,
                all[i].threads, all[i].device.c_str(), all[i].reason.c_str());
  }
  CHECK(all.back().available) << "portable must always be available";
}

TEST_MAIN()
