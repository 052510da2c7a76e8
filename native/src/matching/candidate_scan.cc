#include "candidate_scan.h"

// Vec8 is an AVX-sized vector; it never crosses a non-inlined call, so the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#include <algorithm>
#include <cstring>
#include <limits>

#include "compress_lanes.h"
#include "kth_largest.h"
#include "vec8.h"

namespace kindred::matching {

// Both versions' arrays (a few kilobytes), so that either can run (the test runs both).
RowScanScratch::RowScanScratch(std::size_t k)
    : capacity(kBufferFactor * k),
      buffer(capacity),
      picked(capacity),
      // A packed store may write eight lanes past the last candidate.
      values(capacity + 8),
      kept_values(capacity + 8),
      columns(capacity + 8),
      kept_columns(capacity + 8),
      cut(std::max(best_candidates_scratch(capacity), capacity + 8 + kth_largest_scratch(capacity + 8))) {}

// The portable version. Values above the current k-th best go to a buffer; when it fills,
// nth_element keeps the best k and raises the threshold. Whole groups of 8 below the threshold are
// skipped with one vector compare, so the pass runs near memory speed.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
RowScan scan_row_portable(const float* __restrict row, const ColumnRun* spans, std::size_t span_count,
                          std::size_t self, const float* __restrict y, const float* __restrict p, std::size_t k,
                          float floor, RowScanScratch& scratch, std::int32_t* __restrict best_j,
                          float* __restrict best_w) {
  std::vector<Candidate>& buffer = scratch.buffer;
  const float inf = std::numeric_limits<float>::infinity();
  const Vec8 zero = {}, infinity = zero + inf, minus_infinity = zero - inf;
  const Mask8 lane_bits = {1, 2, 4, 8, 16, 32, 64, 128};
  const std::size_t capacity = buffer.size();  // > k
  std::size_t size = 0;
  // Values ≤ threshold can no longer enter the top k. Starting at `floor` (a value known to be below
  // the row's k-th best) skips most of the row from the first column on.
  float threshold = floor;
  auto compact = [&] {
    std::nth_element(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(k - 1),
                     buffer.begin() + static_cast<std::ptrdiff_t>(size));
    size = k;
    threshold = buffer[k - 1].value;
    for (std::size_t t = 0; t < k; ++t) threshold = std::min(threshold, buffer[t].value);
  };
  Vec8 top8 = minus_infinity;
  float top = -inf;
  // p == nullptr: no bound is wanted (the first pass's prices are all 0, a useless bound).
  const bool with_bound = p != nullptr;
  // Blocks of kScanBlock columns: a pure vector pass writes the reduced weights and flags the runs
  // of 16 holding a value above the threshold; a scalar pass then visits only flagged runs. (Mixing
  // the two in one loop made GCC keep the vectors in memory: 8× slower.)
  constexpr std::size_t kScanBlock = 256;
  alignas(32) float v[kScanBlock];
  // The runs of 16 holding a value above the threshold, listed without a branch (which run is
  // flagged is unpredictable), with their lanes' bits.
  std::uint8_t flagged_run[kScanBlock / 16];
  std::uint16_t flagged_lanes[kScanBlock / 16];
  for (std::size_t span = 0; span < span_count; ++span) {
    std::size_t j = spans[span].begin;
    const std::size_t end = spans[span].end;
    // Whole runs of 16 go through the vector pass, the last block possibly short; only each span's
    // last (end − begin) mod 16 columns are left to the scalar loop.
    for (std::size_t runs; (runs = std::min(kScanBlock, end - j) / 16) > 0; j += 16 * runs) {
      const Vec8 bar = zero + threshold;
      std::size_t flagged = 0;
      for (std::size_t r = 0; r < runs; ++r) {
        Mask8 above[2];
        for (std::size_t h = 0; h < 2; ++h) {
          const std::size_t at = j + 16 * r + 8 * h;
          Vec8 w8, y8;
          std::memcpy(&w8, row + at, sizeof w8);
          std::memcpy(&y8, y + at, sizeof y8);
          // No usability mask here: a forbidden pair's −∞ stays −∞, and the rare flagged lane that
          // holds an unusable weight (≤ 0 or +∞) is dropped by the scalar pass (a quarter fewer
          // vector operations on the first pass, which has no bound).
          const Vec8 v8 = w8 - y8;
          if (with_bound) {  // loop-invariant: unswitched
            Vec8 p8;
            std::memcpy(&p8, p + at, sizeof p8);
            const Mask8 ok = (w8 > zero) & (w8 < infinity);
            const Vec8 q8 = ok ? w8 - p8 : minus_infinity;
            top8 = top8 > q8 ? top8 : q8;
          }
          std::memcpy(v + 16 * r + 8 * h, &v8, sizeof v8);
          above[h] = v8 > bar;
        }
        // One bit per lane above the bar, OR-reduced across the vector (16 lanes' bits in one
        // reduction): the scalar pass then visits only those lanes (a flagged run usually holds one).
        const Mask8 bits = (above[0] & lane_bits) | (above[1] & (lane_bits << 8));
        const Mask8 half = bits | __builtin_shuffle(bits, Mask8{4, 5, 6, 7, 0, 1, 2, 3});
        const Mask8 quarter = half | __builtin_shuffle(half, Mask8{2, 3, 0, 1, 6, 7, 4, 5});
        const auto lanes = static_cast<std::uint16_t>((quarter | __builtin_shuffle(quarter, Mask8{1, 0, 3, 2, 5, 4, 7, 6}))[0]);
        flagged_run[flagged] = static_cast<std::uint8_t>(r);
        flagged_lanes[flagged] = lanes;
        flagged += lanes != 0;
      }
      for (std::size_t f = 0; f < flagged; ++f) {
        const std::size_t r = flagged_run[f];
        for (unsigned lanes = flagged_lanes[f]; lanes != 0; lanes &= lanes - 1) {
          const std::size_t t = 16 * r + static_cast<std::size_t>(__builtin_ctz(lanes));
          if (!(v[t] > threshold) || j + t == self || !(row[j + t] > 0.0f && row[j + t] < inf)) continue;
          buffer[size++] = {v[t], static_cast<std::int32_t>(j + t), row[j + t]};
          if (size == capacity) compact();
        }
      }
    }
    for (; j < end; ++j) {
      const float wj = row[j];
      if (!(wj > 0.0f && wj < inf)) continue;
      if (with_bound) top = std::max(top, wj - p[j]);
      const float value = wj - y[j];
      if (value > threshold && j != self) {
        buffer[size++] = {value, static_cast<std::int32_t>(j), wj};
        if (size == capacity) compact();
      }
    }
  }
  for (int t = 0; t < 8; ++t) top = std::max(top, top8[t]);
  const std::size_t filled = std::min(size, k);
  // The best `filled` (see best_candidates).
  const Candidate* best = buffer.data();
  if (size > filled) {
    best_candidates(buffer.data(), size, k, scratch.picked.data(), scratch.cut.data());
    best = scratch.picked.data();
  }
  float kth = filled == k ? inf : -inf;
  for (std::size_t t = 0; t < filled; ++t) {
    best_j[t] = best[t].column;
    best_w[t] = best[t].weight;
    if (filled == k) kth = std::min(kth, best[t].value);
  }
  return {top, filled, kth};
}

#ifdef KINDRED_MATCHING_AVX2
namespace {

// The AVX2 version. Each group of eight columns is compared with the threshold and its usable
// lanes that beat it are packed (value and column) onto the end of the buffer with one
// permutation, without a branch: the portable version's scalar pass over the lanes that beat the
// threshold (about one in nine on the first pass) mispredicted on most of them.
class PackedScan {
 public:
  PackedScan(RowScanScratch& scratch, std::size_t k, float floor)
      : s_(scratch), values_(scratch.values.data()), columns_(scratch.columns.data()), k_(k), threshold_(floor) {}

  float threshold() const noexcept { return threshold_; }
  std::size_t size() const noexcept { return size_; }
  const float* values() const noexcept { return values_; }
  const std::int32_t* columns() const noexcept { return columns_; }

  // Pushes the lanes of `mask`; true when that filled the buffer and a cut raised the threshold.
  __attribute__((target("avx2,popcnt"))) bool push8(__m256 value, __m256i column, unsigned mask) {
    const __m256i lanes = compress_lanes(mask);
    _mm256_storeu_ps(values_ + size_, _mm256_permutevar8x32_ps(value, lanes));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(columns_ + size_), _mm256_permutevar8x32_epi32(column, lanes));
    size_ += static_cast<std::size_t>(__builtin_popcount(mask));
    if (__builtin_expect(size_ <= s_.capacity, 1)) return false;
    cut_to(k_);
    return true;
  }

  void push(float value, std::int32_t column) {
    values_[size_] = value;
    columns_[size_] = column;
    if (++size_ > s_.capacity) cut_to(k_);
  }

  // Keeps the `keep` best (< size) and raises the threshold to the last of them. Candidates sit in
  // column order among equal values (pushed in column order; a cut keeps the order of those it
  // keeps and puts the ties at the cut last), so taking ties in buffer order keeps the lower
  // columns, as Candidate's order does.
  __attribute__((target("avx2,popcnt"))) void cut_to(std::size_t keep) {
    float* copy = s_.cut.data();
    std::memcpy(copy, values_, size_ * sizeof(float));
    const float cut = kth_largest(copy, size_, keep, copy + size_);
    float* kept_values = values_ == s_.values.data() ? s_.kept_values.data() : s_.values.data();
    std::int32_t* kept_columns = columns_ == s_.columns.data() ? s_.kept_columns.data() : s_.columns.data();
    std::size_t kept = 0;
    for (std::size_t t = 0; t < size_; ++t) {  // branch-free: about half beat the cut, in no order
      kept_values[kept] = values_[t];
      kept_columns[kept] = columns_[t];
      kept += values_[t] > cut;
    }
    for (std::size_t t = 0; t < size_ && kept < keep; ++t) {
      if (values_[t] == cut) {
        kept_values[kept] = values_[t];
        kept_columns[kept++] = columns_[t];
      }
    }
    values_ = kept_values;
    columns_ = kept_columns;
    size_ = keep;
    threshold_ = cut;
  }

 private:
  RowScanScratch& s_;
  float* values_;  // the buffer in use: the scratch's first pair or, after a cut, the other
  std::int32_t* columns_;
  std::size_t k_, size_ = 0;
  float threshold_;
};

template <bool kWithBound>
__attribute__((target("avx2,popcnt"))) RowScan scan_row_avx2(const float* __restrict row, const ColumnRun* spans,
                                                              std::size_t span_count, std::size_t self,
                                                              const float* __restrict y, const float* __restrict p,
                                                              std::size_t k, float floor, RowScanScratch& scratch,
                                                              std::int32_t* __restrict best_j, float* __restrict best_w) {
  const float inf = std::numeric_limits<float>::infinity();
  const __m256 zero = _mm256_setzero_ps(), infinity = _mm256_set1_ps(inf), minus_infinity = _mm256_set1_ps(-inf);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  PackedScan scan(scratch, k, floor);
  __m256 top8 = minus_infinity;
  float top = -inf;
  for (std::size_t span = 0; span < span_count; ++span) {
    std::size_t j = spans[span].begin;
    const std::size_t end = spans[span].end;
    __m256 bar = _mm256_set1_ps(scan.threshold());
    for (; j + 8 <= end; j += 8) {
      const __m256 w8 = _mm256_loadu_ps(row + j);
      const __m256 usable = _mm256_and_ps(_mm256_cmp_ps(w8, zero, _CMP_GT_OQ), _mm256_cmp_ps(w8, infinity, _CMP_LT_OQ));
      if constexpr (kWithBound) {
        const __m256 q8 = _mm256_blendv_ps(minus_infinity, _mm256_sub_ps(w8, _mm256_loadu_ps(p + j)), usable);
        top8 = _mm256_max_ps(top8, q8);
      }
      const __m256 v8 = _mm256_sub_ps(w8, _mm256_loadu_ps(y + j));
      unsigned mask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(v8, bar, _CMP_GT_OQ), usable)));
      if (self - j < 8) mask &= ~(1u << (self - j));  // wraps to a large number when self < j
      if (scan.push8(v8, _mm256_add_epi32(_mm256_set1_epi32(static_cast<std::int32_t>(j)), lane), mask)) {
        bar = _mm256_set1_ps(scan.threshold());
      }
    }
    for (; j < end; ++j) {
      const float wj = row[j];
      if (!(wj > 0.0f && wj < inf)) continue;
      if constexpr (kWithBound) top = std::max(top, wj - p[j]);
      const float value = wj - y[j];
      if (value > scan.threshold() && j != self) scan.push(value, static_cast<std::int32_t>(j));
    }
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, top8);
  for (float t : lanes) top = std::max(top, t);
  if (scan.size() > k) scan.cut_to(k);
  const std::size_t filled = scan.size();
  float kth = filled == k ? inf : -inf;
  for (std::size_t t = 0; t < filled; ++t) {
    const std::int32_t column = scan.columns()[t];
    best_j[t] = column;
    best_w[t] = row[column];
    if (filled == k) kth = std::min(kth, scan.values()[t]);
  }
  return {top, filled, kth};
}

}  // namespace
#endif

RowScan scan_row(const float* row, const ColumnRun* spans, std::size_t span_count, std::size_t self, const float* y,
                 const float* p, std::size_t k, float floor, RowScanScratch& scratch, std::int32_t* best_j,
                 float* best_w) {
#ifdef KINDRED_MATCHING_AVX2
  if (cpu_has_avx2()) {
    return p != nullptr ? scan_row_avx2<true>(row, spans, span_count, self, y, p, k, floor, scratch, best_j, best_w)
                        : scan_row_avx2<false>(row, spans, span_count, self, y, p, k, floor, scratch, best_j, best_w);
  }
#endif
  return scan_row_portable(row, spans, span_count, self, y, p, k, floor, scratch, best_j, best_w);
}

bool scan_row_is_vectorized() noexcept { return cpu_has_avx2(); }

}  // namespace kindred::matching
