#include "row_sample.h"

#include <algorithm>
#include <cstring>

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"

namespace kindred::matching {

namespace {

// n / kSampleStride columns, rounded up to whole vectors of 8 per stretch once there are at least 32
// (N = 2,000: 125 → 128): the passes over the sample then have no scalar tail, whose branches on
// forbidden pairs (half of them, in a filtered pool) mispredicted and doubled their time.
std::size_t sample_length(std::size_t n) {
  const std::size_t length = std::max<std::size_t>(1, n / kSampleStride);
  constexpr std::size_t kWhole = 8 * kSamplePieces;
  if (length < kWhole / 2) return length;
  return std::min(n, (length + kWhole - 1) / kWhole * kWhole);
}

}  // namespace

RowSample::RowSample(ConstMatrix w, int threads, const CancelToken& cancel)
    : n_(w.rows), length_(sample_length(w.rows)) {
  values_.resize(mul_or_throw(n_, length_, "n x sample length"));
  constexpr std::size_t kRowsPerTask = 64;
  parallel_for((n_ + kRowsPerTask - 1) / kRowsPerTask, threads, [&](std::size_t task) {
    cancel.throw_if_cancelled();
    const std::size_t end = std::min(n_, (task + 1) * kRowsPerTask);
    for (std::size_t i = task * kRowsPerTask; i < end; ++i) {
      // The next row's stretches are requested while this row's are copied: each stretch starts a
      // new stream the hardware prefetcher has not seen.
      if (i + 1 < end) {
        visit_sample(i + 1, n_, length_, [&](std::size_t from, std::size_t) { __builtin_prefetch(w.row(i + 1) + from); });
      }
      float* out = values_.data() + i * length_;
      visit_sample(i, n_, length_, [&](std::size_t from, std::size_t to) {
        std::memcpy(out, w.row(i) + from, (to - from) * sizeof(float));
        out += to - from;
      });
    }
  });
}

}  // namespace kindred::matching
