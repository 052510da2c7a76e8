// Exact top-k retrieval: the k best-scoring items for each query, by inner product.
// Scores are computed block by block into a bounded scratch on any backend (never the full
// queries × items matrix when it is large), and each query keeps its best k in a small heap.
// Order: higher score first; equal scores → lower item row first, so results are deterministic.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kindred/backend/backend.h"
#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"

namespace kindred::retrieval {

// Default scratch budget of search_top_k, in floats (16 MiB).
inline constexpr std::size_t kDefaultScratchElements = std::size_t{1} << 22;

// Where results go: rows × k, row-major. Row r holds query r's best items, best first. When k is
// larger than the number of items, the slots past the last item hold index -1 and score -Infinity.
struct TopKOutput {
  std::int32_t* indices = nullptr;
  float* scores = nullptr;
};

// The best k columns of every row of `scores` (a rows × items matrix). Throws kInvalidArgument for
// a NaN score (naming its row and column), more than INT32_MAX columns, or null output with
// rows·k > 0. k = 0 writes nothing.
void top_k_rows(ConstMatrix scores, std::size_t k, TopKOutput out, const CancelToken& cancel);

// The best k items (rows of `items`) for every row of `queries` by inner product, computed on
// `backend` in blocks of at most `scratch_elements` scores. Throws kInvalidArgument for mismatched
// dimensions, a NaN score, more than INT32_MAX items or a zero scratch budget; kCancelled between
// blocks; kOutOfMemory when the scratch cannot be allocated.
void search_top_k(backend::Backend& backend, ConstMatrix queries, ConstMatrix items, std::size_t k,
                  TopKOutput out, const CancelToken& cancel,
                  std::size_t scratch_elements = kDefaultScratchElements);

}  // namespace kindred::retrieval
