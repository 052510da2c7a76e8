#include "kindred/gemm/pair_scores.h"

#include <algorithm>
#include <new>

#include "kindred/core/check.h"

namespace kindred::gemm {

void pair_scores(backend::Backend& backend, ConstMatrix a, ConstMatrix b, MutableMatrix c,
                 const CancelToken& cancel, int max_threads) {
  KINDRED_CHECK(a.cols == b.cols, "pair_scores: a has dim ", a.cols, " but b has dim ", b.cols);
  KINDRED_CHECK(c.rows == a.rows && c.cols == b.rows, "pair_scores: out must be ", a.rows, " x ", b.rows,
                " but is ", c.rows, " x ", c.cols);
  KINDRED_CHECK(a.stride >= a.cols && b.stride >= b.cols && c.stride >= c.cols,
                "pair_scores: a row stride is shorter than its row");
  KINDRED_CHECK((a.data || a.rows == 0 || a.cols == 0) && (b.data || b.rows == 0 || b.cols == 0) &&
                    (c.data || c.empty()),
                "pair_scores: a non-empty matrix has no data");
  cancel.throw_if_cancelled();
  if (c.empty()) return;
  if (a.cols == 0) {
    // An empty dot product is 0; handled here so no backend sees dim 0.
    for (std::size_t i = 0; i < c.rows; ++i) std::fill_n(c.row(i), c.cols, 0.0f);
    return;
  }
  try {
    backend.gemm_abt(a, b, c, cancel, max_threads);
  } catch (const std::bad_alloc&) {
    KINDRED_THROW(Code::kOutOfMemory, "pair_scores: out of memory on backend '", backend.info().name, "'");
  }
}

}  // namespace kindred::gemm
