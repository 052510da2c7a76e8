// pair_scores' own preconditions, independent of the backend.
#include <vector>

#include "harness.h"
#include "kindred/backend/registry.h"
#include "kindred/gemm/pair_scores.h"

using namespace kindred;

TEST(mismatched_dims_are_rejected) {
  std::vector<float> a(6), b(8), c(6);
  auto& be = backend::by_name("portable");
  CHECK_THROWS_CODE(gemm::pair_scores(be, ConstMatrix(a.data(), 2, 3), ConstMatrix(b.data(), 2, 4),
                                      MutableMatrix(c.data(), 2, 2), CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(gemm::pair_scores(be, ConstMatrix(a.data(), 2, 3), ConstMatrix(b.data(), 2, 3),
                                      MutableMatrix(c.data(), 3, 2), CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(gemm::pair_scores(be, ConstMatrix(nullptr, 2, 3), ConstMatrix(b.data(), 2, 3),
                                      MutableMatrix(c.data(), 2, 2), CancelToken()),
                    Code::kInvalidArgument);
  CHECK_THROWS_CODE(gemm::pair_scores(be, ConstMatrix(a.data(), 2, 3, 2), ConstMatrix(b.data(), 2, 3),
                                      MutableMatrix(c.data(), 2, 2), CancelToken()),
                    Code::kInvalidArgument);
}

TEST(zero_dim_gives_zero_scores_on_every_backend) {
  for (const auto& info : backend::list()) {
    if (!info.available) continue;
    std::vector<float> c(12, 42.0f);
    gemm::pair_scores(backend::by_name(info.name), ConstMatrix(nullptr, 3, 0), ConstMatrix(nullptr, 4, 0),
                      MutableMatrix(c.data(), 3, 4), CancelToken());
    for (float v : c) CHECK(v == 0.0f) << info.name << " left " << v;
  }
}

TEST(empty_output_is_a_no_op) {
  std::vector<float> a(6, 1.0f);
  gemm::pair_scores(backend::best(), ConstMatrix(a.data(), 2, 3), ConstMatrix(nullptr, 0, 3),
                    MutableMatrix(nullptr, 2, 0), CancelToken());
  CHECK(true);
}

TEST_MAIN()
