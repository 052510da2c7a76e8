// One row of the matcher's dense candidate pass: the k best columns j of row i by the reduced
// weight w(i,j) − y(j), over usable pairs (finite, positive weight; j ≠ i), and the row's best
// w(i,j) − p(j) for the dual bound. Internal to the matcher; a header of its own so that the test
// can check the AVX2 version against the portable one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "candidate_cut.h"
#include "filter_tiles.h"

namespace kindred::matching {

// A row's scan collects up to this many times k candidates before it cuts them back to the k best.
constexpr std::size_t kBufferFactor = 8;

struct RowScan {
  float top;  // max_j w(i,j) − p(j) over usable pairs (the diagonal included if usable: harmless)
  std::size_t filled;
  float kth;  // the k-th best reduced weight kept (−∞ when fewer than k)
};

// What one thread's row scans work in, for lists of k (allocated once per thread and task).
struct RowScanScratch {
  explicit RowScanScratch(std::size_t k);

  std::size_t capacity;  // kBufferFactor · k candidates before a cut
  // The portable version: candidates as records, and the cut's picks.
  std::vector<Candidate> buffer, picked;
  // The AVX2 version: the candidates' values and columns apart (packed eight lanes at a time), and
  // a second pair that a cut writes to.
  std::vector<float> values, kept_values;
  std::vector<std::int32_t> columns, kept_columns;
  std::vector<float> cut;  // kth_largest's scratch
};

// Scans row i (`row`, its usable columns within `spans`, in column order; `self` = i) for the k best
// reduced weights w − y above `floor` (skipping those ≤ floor, which must be below the k-th best for
// the answer to be the row's true top k). Ties keep the lower column. Writes the columns and weights
// of the `filled` best (≤ k; fewer only when fewer beat the floor), as a set, to best_j and best_w.
// With p (not null) it also finds `top`; without, top is −∞.
RowScan scan_row(const float* row, const ColumnRun* spans, std::size_t span_count, std::size_t self, const float* y,
                 const float* p, std::size_t k, float floor, RowScanScratch& scratch, std::int32_t* best_j,
                 float* best_w);

// The portable version (GCC vectors, a scalar pass over the lanes that beat the threshold).
RowScan scan_row_portable(const float* row, const ColumnRun* spans, std::size_t span_count, std::size_t self,
                          const float* y, const float* p, std::size_t k, float floor, RowScanScratch& scratch,
                          std::int32_t* best_j, float* best_w);

// Whether scan_row uses the AVX2 version on this CPU (tests report it).
bool scan_row_is_vectorized() noexcept;

}  // namespace kindred::matching
