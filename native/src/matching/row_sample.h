// A fixed sample of every row of the dense weight matrix, copied once into one contiguous block.
// The matcher's cheap looks at the whole matrix (the first dual's guess, each row's starting scan
// threshold, the settling estimate) read only the sample. Read in place, its short stretches each
// began a new stream and the guess's four steps each paid those misses again: at N = 2,000 the
// guess took longer than four full streaming passes (5 ms; 1 ms from the block). The copy still
// runs at memory latency, once. Internal to the matcher.
//
// (A sample of the same columns J for every row would stream instead, read through symmetry as the
// rows J; but then only the vertices in J pass their prices on in the guess, and the first dual was
// worse: N = 10,000 needed a second auction.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"
#include "kindred/core/scratch_pool.h"

namespace kindred::matching {

// The sample holds one column in kSampleStride of each row.
constexpr std::size_t kSampleStride = 16;

// Row i's sample: `length` columns in kSamplePieces contiguous stretches spread evenly over the row
// from a start set by a multiplicative hash of i (wrapping around the end); visit(from, to) gets
// each column range. Several stretches, because a pool ordered by filter attributes (as MatchPool
// orders it) puts like users together: one stretch then saw a single group, and the first dual and
// lists built from it were poor (bundled world, N = 2,000: a 4.6% gap after the first auction
// instead of 0.3%). A different start per row, so that no ordering of the pool biases every row alike.
constexpr std::size_t kSamplePieces = 8;

template <typename Visit>
inline void visit_sample(std::size_t i, std::size_t n, std::size_t length, Visit&& visit) {
  const std::size_t pieces = std::min(kSamplePieces, std::max<std::size_t>(length, 1));
  const std::size_t piece = length / pieces, spacing = n / pieces, first = (i * 40503u) % n;
  for (std::size_t p = 0, start = first; p < pieces; ++p, start += spacing) {
    if (start >= n) start -= n;  // first + p · spacing < 2n: one subtraction wraps it
    const std::size_t size = p + 1 == pieces ? length - piece * (pieces - 1) : piece;
    visit(start, std::min(n, start + size));
    if (start + size > n) visit(std::size_t{0}, start + size - n);
  }
}

// A stretch of columns [from, to) of a row's sample.
struct SamplePiece {
  std::size_t from;
  std::size_t to;
};
// A row's sample has at most this many stretches (one may wrap around the end: two).
constexpr std::size_t kMaxSamplePieces = kSamplePieces + 1;

class RowSample {
 public:
  // Copies every row's sample out of `w` (n × n), in parallel.
  RowSample(ConstMatrix w, int threads, const CancelToken& cancel);

  std::size_t length() const { return length_; }

  // Row i's sampled values, stretch after stretch.
  const float* values(std::size_t i) const { return values_.data() + i * length_; }

  // Row i's stretches, in the order values(i) holds them; returns how many (≤ kMaxSamplePieces).
  std::size_t pieces(std::size_t i, SamplePiece* out) const {
    std::size_t count = 0;
    visit_sample(i, n_, length_, [&](std::size_t from, std::size_t to) { out[count++] = {from, to}; });
    return count;
  }

  // visit(from, to, values) for each stretch of row i, in order: values[t] = w(i, from + t).
  template <typename Visit>
  void visit(std::size_t i, Visit&& visit) const {
    const float* values = values_.data() + i * length_;
    visit_sample(i, n_, length_, [&](std::size_t from, std::size_t to) {
      visit(from, to, values);
      values += to - from;
    });
  }

 private:
  std::size_t n_;
  std::size_t length_;
  ScratchVector<float> values_;  // n × length, row by row (reused between calls: see scratch_pool.h)
};

}  // namespace kindred::matching
