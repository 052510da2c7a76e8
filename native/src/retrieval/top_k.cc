#include "kindred/retrieval/top_k.h"

#include <algorithm>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"
#include "kindred/gemm/pair_scores.h"

namespace kindred::retrieval {
namespace {

// Below this many scores per block, threads cost more than they save.
constexpr std::size_t kParallelScores = std::size_t{1} << 16;
// Queries per block: enough for an efficient GEMM, few enough that items stream in large blocks.
constexpr std::size_t kMaxQueryBlock = 1024;
// Items per block we try to keep even when many queries share the scratch.
constexpr std::size_t kMinItemBlock = 256;

// One query's best-k so far, kept as a heap with the *worst* kept item at the root, stored in
// place in that query's output row (no extra memory). `better` is the result order.
class RowHeap {
 public:
  RowHeap(std::int32_t* indices, float* scores, std::size_t k) : idx_(indices), sc_(scores), k_(k) {}

  // Offers scores[0, count) for items first_item, first_item + 1, ...; `row` names the query in errors.
  void offer(const float* scores, std::size_t count, std::size_t first_item, std::size_t row) {
    for (std::size_t c = 0; c < count; ++c) {
      const float s = scores[c];
      const auto item = static_cast<std::int32_t>(first_item + c);
      if (s != s) {
        KINDRED_THROW(Code::kInvalidArgument, "top_k: the score of query ", row, " against item ", first_item + c,
                      " is NaN (a non-finite input?)");
      }
      if (size_ < k_) {
        idx_[size_] = item;
        sc_[size_] = s;
        sift_up(size_++);
      } else if (better(s, item, sc_[0], idx_[0])) {
        idx_[0] = item;
        sc_[0] = s;
        sift_down(0, size_);
      }
    }
  }

  // Sorts the kept items best first (heapsort) and pads the row past them with -1 / -Infinity.
  void finish() {
    for (std::size_t end = size_; end > 1; --end) {
      swap(0, end - 1);
      sift_down(0, end - 1);
    }
    for (std::size_t i = size_; i < k_; ++i) {
      idx_[i] = -1;
      sc_[i] = -std::numeric_limits<float>::infinity();
    }
  }

 private:
  // Higher score first; equal scores → lower item row first.
  static bool better(float sa, std::int32_t ia, float sb, std::int32_t ib) noexcept {
    return sa > sb || (sa == sb && ia < ib);
  }
  bool worse_at(std::size_t a, std::size_t b) const noexcept { return better(sc_[b], idx_[b], sc_[a], idx_[a]); }
  void swap(std::size_t a, std::size_t b) noexcept {
    std::swap(idx_[a], idx_[b]);
    std::swap(sc_[a], sc_[b]);
  }
  void sift_up(std::size_t pos) noexcept {
    while (pos > 0) {
      const std::size_t parent = (pos - 1) / 2;
      if (!worse_at(pos, parent)) return;
      swap(pos, parent);
      pos = parent;
    }
  }
  void sift_down(std::size_t pos, std::size_t size) noexcept {
    for (;;) {
      const std::size_t left = 2 * pos + 1, right = left + 1;
      std::size_t worst = pos;
      if (left < size && worse_at(left, worst)) worst = left;
      if (right < size && worse_at(right, worst)) worst = right;
      if (worst == pos) return;
      swap(pos, worst);
      pos = worst;
    }
  }

  std::int32_t* idx_;
  float* sc_;
  std::size_t k_;
  std::size_t size_ = 0;
};

void check_output(std::size_t rows, std::size_t k, TopKOutput out, const char* op) {
  const std::size_t slots = mul_or_throw(rows, k, "top_k: rows x k");
  KINDRED_CHECK(slots == 0 || (out.indices && out.scores), op, ": the output has no data for ", rows, " x ", k,
                " results");
}

void check_item_count(std::size_t items, const char* op) {
  KINDRED_CHECK(items <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), op, ": ", items,
                " items do not fit 32-bit result indices");
}

// Runs fn(row) for rows [0, rows), on threads when the block holds enough scores to pay for them.
template <typename Fn>
void for_each_row(std::size_t rows, std::size_t scores_per_row, Fn&& fn) {
  if (rows > 1 && rows * scores_per_row >= kParallelScores) {
    parallel_for(rows, default_thread_count(), [&](std::size_t r) { fn(r); });
  } else {
    for (std::size_t r = 0; r < rows; ++r) fn(r);
  }
}

}  // namespace

void top_k_rows(ConstMatrix scores, std::size_t k, TopKOutput out, const CancelToken& cancel) {
  check_output(scores.rows, k, out, "top_k_rows");
  check_item_count(scores.cols, "top_k_rows");
  KINDRED_CHECK(scores.stride >= scores.cols, "top_k_rows: the row stride is shorter than a row");
  KINDRED_CHECK(scores.data || scores.empty(), "top_k_rows: a non-empty score matrix has no data");
  cancel.throw_if_cancelled();
  if (k == 0) return;
  for_each_row(scores.rows, scores.cols, [&](std::size_t r) {
    RowHeap heap(out.indices + r * k, out.scores + r * k, k);
    if (scores.cols > 0) heap.offer(scores.row(r), scores.cols, 0, r);
    heap.finish();
  });
}

void search_top_k(backend::Backend& backend, ConstMatrix queries, ConstMatrix items, std::size_t k, TopKOutput out,
                  const CancelToken& cancel, std::size_t scratch_elements) {
  KINDRED_CHECK(queries.cols == items.cols, "search_top_k: queries have dim ", queries.cols, " but items have dim ",
                items.cols);
  KINDRED_CHECK(scratch_elements > 0, "search_top_k: the scratch budget must be positive");
  check_output(queries.rows, k, out, "search_top_k");
  check_item_count(items.rows, "search_top_k");
  cancel.throw_if_cancelled();
  const std::size_t q = queries.rows, n = items.rows;
  if (q == 0 || k == 0) return;

  // Blocks of query_block × item_block scores fill at most the scratch budget.
  const std::size_t min_items = std::max<std::size_t>(1, std::min(n, kMinItemBlock));
  const std::size_t query_block = std::min({q, kMaxQueryBlock, std::max<std::size_t>(1, scratch_elements / min_items)});
  const std::size_t item_block = std::min(n, std::max<std::size_t>(1, scratch_elements / query_block));
  std::vector<float> scratch;
  try {
    scratch.resize(query_block * item_block);
  } catch (const std::bad_alloc&) {
    KINDRED_THROW(Code::kOutOfMemory, "search_top_k: cannot allocate ", query_block, " x ", item_block, " scores");
  }

  for (std::size_t q0 = 0; q0 < q; q0 += query_block) {
    const std::size_t qc = std::min(query_block, q - q0);
    std::vector<RowHeap> heaps;
    heaps.reserve(qc);
    for (std::size_t r = 0; r < qc; ++r) heaps.emplace_back(out.indices + (q0 + r) * k, out.scores + (q0 + r) * k, k);
    for (std::size_t j0 = 0; j0 < n; j0 += item_block) {
      const std::size_t ic = std::min(item_block, n - j0);
      MutableMatrix block(scratch.data(), qc, ic);
      gemm::pair_scores(backend, queries.row_block(q0, qc), items.row_block(j0, ic), block, cancel);
      cancel.throw_if_cancelled();
      for_each_row(qc, ic, [&](std::size_t r) { heaps[r].offer(block.row(r), ic, j0, q0 + r); });
    }
    for (auto& heap : heaps) heap.finish();
  }
}

}  // namespace kindred::retrieval
