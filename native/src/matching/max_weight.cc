#include "kindred/matching/max_weight.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>

#include "best_two.h"
#include "filter_tiles.h"
#include "candidate_scan.h"
#include "row_sample.h"
#include "vec8.h"
#include "kindred/core/check.h"
#include "kindred/core/parallel.h"
#include "kindred/core/scratch_pool.h"

// Vec8 is an AVX-sized vector; it never crosses a non-inlined call, so the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace kindred::matching {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr std::int32_t kNone = -1;
constexpr std::size_t kRowsPerTask = 32;
// ε-scaling: ε starts at max weight / kFirstEpsilonDivisor and shrinks by kEpsilonFactor per phase
// down to kFinalEpsilonScale × the mean of each vertex's best weight. The assignment is then within
// n·ε = 3·10⁻⁴ of its optimum's typical total; the local search takes back most of that. (Scaling by
// the max weight instead fails on long-tailed weights: ε would exceed most vertices' whole value.)
// Factor 4 and 3·10⁻⁴ (were 6 and 10⁻⁴) took 13–29% fewer bids on the bundled world's pools at
// N = 2,000–3,000 for the same weight, and the same weight on matching_bench's pools. The first
// auction starts at max weight / 128 (was / 8): the early phases of a long-tailed pool only
// re-auctioned everyone at an ε most vertices' values were below (bundled world, N = 2,000–3,000:
// auction 13 → 7 and 21 → 13 ms, same weight to ±0.03%; matching_bench's pools: no change). Later
// rounds start lower still, from prices that are already close.
constexpr double kFirstEpsilonDivisor = 128.0;
constexpr double kLaterEpsilonDivisor = 288.0;
constexpr double kEpsilonFactor = 4.0;
constexpr double kFinalEpsilonScale = 3e-4;
// A phase is cut short after this many bids per vertex (a price war on a degenerate instance);
// the next phase or round repairs what it left.
constexpr std::size_t kMaxBidsPerVertex = 200;
constexpr int kMaxSwapSweeps = 8;
// Rounds stop once half the last assignment's weight is within this share of the bound: on the
// world's and matching_bench's pools the matching then stayed ≥ 99.8% of the exact optimum, and
// it typically saves the last auction and the final bound pass (N = 2,000: stops after one auction).
constexpr double kSettledGap = 0.002;
// Settling early, before another round (see settles_early in max_weight_matching): limits on the
// sampled estimate of the gap and on the dense gap, and the tightening passes spent on it. The
// final bound (when the rounds ran out) gets up to kFinalTightenPasses.
constexpr double kSampledGapLimit = 0.005;
constexpr double kTightenGap = 0.0075;
constexpr int kTightenPasses = 4;
constexpr int kFinalTightenPasses = 2;
// List growth (see the rounds loop): when the gap is above kGrowGap and shrank by less than half
// since the last round. On the bundled world's pools 48 candidates were enough for 3,000 distinct
// users and 24 or 32 were not (gaps of 11–17% that never closed); with every user twice, 48 failed
// the same way and 96 reached the optimum. matching_bench's pools close their gaps (6% → 0.2%).
constexpr double kGrowGap = 0.01;
constexpr double kGapShrink = 0.5;
constexpr int kMaxGrowths = 2;
constexpr std::size_t kMaxCandidates = 256;
// Incoming edges kept per vertex, as a multiple of k: bounds a popular vertex's list (and so each of
// its bids) while keeping enough of the symmetric closure for the bound to converge. On pools of
// look-alike users under heavy filters (the bundled world at N = 3,000) a cap of 4 reached 98.7% of
// the exact optimum and 8 reached 99.6%, at the same speed on matching_bench's pools.
constexpr std::size_t kIncomingCap = 8;
// Threads that gather the lists' incoming edges at most (symmetrize), each with n counters.
constexpr std::size_t kMaxGatherParts = 16;



// A usable pair weight: finite and positive; everything else means "never pair".
inline double usable(float w) { return (w > 0.0f && w < std::numeric_limits<float>::infinity()) ? w : kNegInf; }

struct SparseGraph {
  std::size_t k = 0;
  ScratchVector<std::int32_t> neighbours;    // n × k top lists (unordered), kNone padded
  ScratchVector<float> neighbour_weight;     // w(i, neighbours[i][t]), filled by the dense pass
  std::vector<std::int32_t> count;           // valid entries per top list
  // The lists made (nearly) symmetric, with each edge's weight: row i's edges are
  // [edge_begin[i], edge_end[i]) of adjacency and weight (rows keep the room symmetrize gave them,
  // so the arrays have gaps). The auction and local search never go back to the dense matrix for a
  // candidate edge. Symmetry matters: with one-way lists, two vertices that would gladly pair can
  // each stay single without violating ε-CS.
  ScratchVector<std::size_t> edge_begin;
  ScratchVector<std::size_t> edge_end;
  ScratchVector<std::int32_t> adjacency;
  ScratchVector<float> weight;

  const std::int32_t* of(std::size_t i) const { return neighbours.data() + i * k; }

  // Room for `wider` partners per vertex; the lists must be selected again.
  void grow(std::size_t wider, std::size_t n) {
    k = wider;
    neighbours.assign(mul_or_throw(n, k, "n x candidates"), kNone);
    neighbour_weight.assign(neighbours.size(), 0.0f);
    std::fill(count.begin(), count.end(), 0);
  }

  // Own list plus the vertices that listed this one, keeping at most kIncomingCap·k incoming edges:
  // a popular vertex appears in thousands of lists, and scanning all of them on each of its bids
  // would dominate the auction. Incoming edges are gathered by counting sort, each thread over its
  // own range of source rows (so every row's incoming edges are in source order, on any number of
  // threads); rows are then deduplicated in parallel with a per-thread stamp array (linear, unlike
  // a sort) straight into their slots of adjacency and weight. (Gathering on one thread, a
  // deduplication that branched on each edge, and a last pass packing the rows into CSR took
  // 1.3–1.5 ms at N = 2,000.)
  void symmetrize(std::size_t n, int threads) {
    struct Edge {
      std::int32_t column;
      float weight;
    };
    const std::size_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
    // At most kMaxGatherParts: each part keeps a count per vertex.
    const std::size_t parts = std::min({tasks, static_cast<std::size_t>(std::max(threads, 1)), kMaxGatherParts});
    const std::size_t part_rows = (n + parts - 1) / parts;
    // in_count[p · n + j]: edges into j from part p's rows; then, after the prefix sums, where
    // part p's first edge into j goes.
    std::vector<std::size_t> in_count(parts * n, 0), in_offset(n + 1, 0);
    parallel_for(parts, threads, [&](std::size_t part) {
      std::size_t* counts = in_count.data() + part * n;
      for (std::size_t i = part * part_rows; i < std::min(n, (part + 1) * part_rows); ++i) {
        for (std::int32_t t = 0; t < count[i]; ++t) ++counts[static_cast<std::size_t>(of(i)[t])];
      }
    });
    for (std::size_t j = 0; j < n; ++j) {
      std::size_t at = in_offset[j];
      for (std::size_t part = 0; part < parts; ++part) {
        const std::size_t c = in_count[part * n + j];
        in_count[part * n + j] = at;
        at += c;
      }
      in_offset[j + 1] = at;
    }
    ScratchVector<Edge> incoming(in_offset[n]);
    parallel_for(parts, threads, [&](std::size_t part) {
      std::size_t* fill = in_count.data() + part * n;
      for (std::size_t i = part * part_rows; i < std::min(n, (part + 1) * part_rows); ++i) {
        for (std::int32_t t = 0; t < count[i]; ++t) {
          const std::size_t target = static_cast<std::size_t>(of(i)[t]);
          incoming[fill[target]++] = {static_cast<std::int32_t>(i), neighbour_weight[i * k + static_cast<std::size_t>(t)]};
        }
      }
    });
    // Each row gets a slot big enough for its own list plus its first kIncomingCap·k incoming edges
    // (in the order of the rows that listed it).
    auto incoming_kept = [&](std::size_t i) { return std::min(kIncomingCap * k, in_offset[i + 1] - in_offset[i]); };
    edge_begin.resize(n);
    edge_end.resize(n);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      edge_begin[i] = total;
      total += static_cast<std::size_t>(count[i]) + incoming_kept(i);
    }
    adjacency.resize(total);
    weight.resize(total);
    const std::size_t workers = std::min<std::size_t>(tasks, static_cast<std::size_t>(std::max(threads, 1)));
    std::atomic<std::size_t> next_task{0};
    parallel_for(workers, threads, [&](std::size_t) {
      std::vector<std::int32_t> stamp(n, kNone);  // stamp[c] == i: c is already in row i
      for (std::size_t task = next_task.fetch_add(1); task < tasks; task = next_task.fetch_add(1)) {
        const std::size_t end = std::min(n, (task + 1) * kRowsPerTask);
        for (std::size_t i = task * kRowsPerTask; i < end; ++i) {
          std::int32_t* columns = adjacency.data() + edge_begin[i];
          float* weights = weight.data() + edge_begin[i];
          std::size_t size = 0;
          // Branch-free: whether an incoming edge repeats one of the row's own (mutual lists) is
          // unpredictable. A repeat is written and then overwritten by the next edge.
          auto add = [&](std::int32_t column, float w) {
            columns[size] = column;
            weights[size] = w;
            size += stamp[static_cast<std::size_t>(column)] != static_cast<std::int32_t>(i);
            stamp[static_cast<std::size_t>(column)] = static_cast<std::int32_t>(i);
          };
          for (std::int32_t t = 0; t < count[i]; ++t) add(of(i)[t], neighbour_weight[i * k + static_cast<std::size_t>(t)]);
          const std::size_t last = in_offset[i] + incoming_kept(i);
          for (std::size_t t = in_offset[i]; t < last; ++t) add(incoming[t].column, incoming[t].weight);
          edge_end[i] = edge_begin[i] + size;
        }
      }
    });
  }
};

// Where each row may hold usable weights: every column, or, given the filters the weights were
// built with, the columns of the filter tiles its own tile may allow (the rest is −∞). The dense
// passes read only those: on a pool in filter order (MatchPool's, matchEmbeddings') they skip about
// a third to a half of the matrix.
class RowColumns {
 public:
  RowColumns(const HardFilters* filters, std::size_t n) {
    if (filters == nullptr || !has_attribute_filters(*filters) || n <= kFilterTile) {
      tile_ = std::max<std::size_t>(n, 1);
      runs_.push_back({0, n});
      offset_ = {0, 1};
      return;
    }
    const FilterTiles tiles(*filters, n, kFilterTile);
    tile_ = kFilterTile;
    offset_.push_back(0);
    for (std::size_t a = 0; a < tiles.count(); ++a) {
      for (const ColumnRun& run : tiles.column_runs(a, n)) runs_.push_back(run);
      offset_.push_back(runs_.size());
    }
  }

  // Row i's runs: runs(i) points at count(i) of them, in column order.
  const ColumnRun* runs(std::size_t i) const noexcept { return runs_.data() + offset_[i / tile_]; }
  std::size_t count(std::size_t i) const noexcept { return offset_[i / tile_ + 1] - offset_[i / tile_]; }

 private:
  std::size_t tile_ = 1;
  std::vector<std::size_t> offset_;
  std::vector<ColumnRun> runs_;
};

// Starting thresholds for a row's scan, guessed from the row's sample (one column in
// kSampleStride): the sample's r-th best reduced weight with r·stride ≈ 2k, so about 2k values of
// the row beat it and the buffer rarely needs a compaction (which cost more than the scan itself on
// the first passes, whose rows have no floor yet). Only a guess, and a noisy one (r is small): when
// fewer than k beat it, the row is scanned again from the sample's (kDeeperRank·r)-th best. Going
// straight back to −∞ instead (8% of the rows of matching_bench's pools) pushed and compacted the
// whole row: most of the pass's selection work.
constexpr std::size_t kMaxSampleRank = 64;
constexpr std::size_t kDeeperRank = 3;

// The reduced weights w − p of a row's sample (values: the sampled weights, stretch after stretch;
// p indexed by column), −∞ where a weight is unusable: vector(t, v8) for each whole group of 8 and
// scalar(t, v) for the rest, t counting values from the row's first. In vectors and without
// branches on usability: whether a pair is forbidden (half of a filtered pool's, in no predictable
// order) mispredicted on every other value.
template <typename Vector, typename Scalar>
__attribute__((always_inline)) inline void visit_reduced(const float* __restrict values, const SamplePiece* pieces,
                                                         std::size_t count, const float* __restrict p, Vector&& vector,
                                                         Scalar&& scalar) {
  const float inf = std::numeric_limits<float>::infinity();
  const Vec8 zero = {}, infinity = zero + inf, minus_infinity = zero - inf;
  std::size_t t = 0;
  for (std::size_t c = 0; c < count; ++c) {
    const float* pp = p + pieces[c].from;
    const std::size_t length = pieces[c].to - pieces[c].from;
    std::size_t j = 0;
    for (; j + 8 <= length; j += 8) {
      Vec8 w8, p8;
      std::memcpy(&w8, values + t + j, sizeof w8);
      std::memcpy(&p8, pp + j, sizeof p8);
      const Mask8 ok = (w8 > zero) & (w8 < infinity);
      vector(t + j, ok ? w8 - p8 : minus_infinity);
    }
    for (; j < length; ++j) {
      const float w = values[t + j];
      scalar(t + j, w > 0.0f && w < inf ? w - pp[j] : -inf);
    }
    t += length;
  }
}

// Row i's sampled reduced weights w(i,j) − y(j), −∞ for unusable pairs, into out.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void reduce_pieces(const float* __restrict values, const SamplePiece* pieces, std::size_t count,
                   const float* __restrict y, float* __restrict out) {
  visit_reduced(
      values, pieces, count, y, [&](std::size_t t, const Vec8& v8) { std::memcpy(out + t, &v8, sizeof v8); },
      [&](std::size_t t, float v) { out[t] = v; });
}

void sampled_reduced(const RowSample& sample, std::size_t self, const float* __restrict y, float* __restrict out) {
  SamplePiece pieces[kMaxSamplePieces];
  const std::size_t count = sample.pieces(self, pieces);
  reduce_pieces(sample.values(self), pieces, count, y, out);
  for (std::size_t c = 0, at = 0; c < count; at += pieces[c].to - pieces[c].from, ++c) {
    if (self >= pieces[c].from && self < pieces[c].to) out[at + self - pieces[c].from] = -std::numeric_limits<float>::infinity();
  }
}

// The rank-th best of `values` (1-based), −∞ when fewer are finite; may reorder them. scratch holds
// kth_largest_scratch(values.size()) floats.
float ranked_value(std::vector<float>& values, std::size_t rank, float* scratch) {
  if (rank > values.size()) return -std::numeric_limits<float>::infinity();
  return kth_largest(values.data(), values.size(), rank, scratch);
}

// max_j w(i,j) − p(j) over usable pairs, one row, as a pure vector stream.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
float row_best(const float* __restrict row, const float* __restrict p, std::size_t n) {
  const float inf = std::numeric_limits<float>::infinity();
  const Vec8 zero = {}, infinity = zero + inf, minus_infinity = zero - inf;
  Vec8 top8 = minus_infinity;
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    Vec8 w8, p8;
    std::memcpy(&w8, row + j, sizeof w8);
    std::memcpy(&p8, p + j, sizeof p8);
    const Mask8 ok = (w8 > zero) & (w8 < infinity);
    const Vec8 q8 = ok ? w8 - p8 : minus_infinity;
    top8 = top8 > q8 ? top8 : q8;
  }
  float top = -inf;
  for (; j < n; ++j) {
    if (row[j] > 0.0f && row[j] < inf) top = std::max(top, row[j] - p[j]);
  }
  for (int t = 0; t < 8; ++t) top = std::max(top, top8[t]);
  return top;
}

// row_best over one row's sample (values: the sampled weights, stretch after stretch), in one call:
// the stretches are short (n / 128 columns), and a call per stretch cost more than its values.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
float sampled_best(const float* __restrict values, const SamplePiece* pieces, std::size_t count,
                   const float* __restrict p) {
  const float inf = std::numeric_limits<float>::infinity();
  Vec8 top8 = Vec8{} - inf;
  float top = -inf;
  visit_reduced(
      values, pieces, count, p, [&](std::size_t, const Vec8& q8) { top8 = top8 > q8 ? top8 : q8; },
      [&](std::size_t, float q) { top = std::max(top, q); });
  for (int t = 0; t < 8; ++t) top = std::max(top, top8[t]);
  return top;
}

// sampled_best over row i of the sample, and how many threads a pass over the whole sample is worth:
// it is 1/kSampleStride of the matrix, contiguous, and below about 64K values waking a second
// thread costs more than it saves. (The limit was a million while each call started its threads:
// N = 2,000's 250K-value sample then ran its guess on one core, 0.8–1.0 ms; on two, 0.6–0.85.)
float sample_row_best(const RowSample& sample, std::size_t i, const float* p) {
  SamplePiece pieces[kMaxSamplePieces];
  const std::size_t count = sample.pieces(i, pieces);
  return sampled_best(sample.values(i), pieces, count, p);
}

int sample_pass_threads(const RowSample& sample, std::size_t n, int threads) {
  return n * sample.length() >= (std::size_t{1} << 16) ? threads : 1;
}

// The dual bound Σ(π(i) + p(i)) / 2 for prices p, assembled from each row's best w − p as the dense
// passes find it in float. π(i) is padded by 2⁻²⁰ of the magnitudes involved, far more than float
// rounding can take off, so the dual stays feasible.
class DualBound {
 public:
  explicit DualBound(const std::vector<double>& price)
      : price_(price), price_f_(price.begin(), price.end()), pi_(price.size(), 0.0) {
    for (double x : price) max_price_ = std::max(max_price_, std::fabs(x));
  }

  const float* prices() const { return price_f_.data(); }

  // Row i's best reduced weight over real pairs (−∞ for none); the self-loop (value −p(i)) is added here.
  void set_row(std::size_t i, float top) {
    const double real = top == -std::numeric_limits<float>::infinity()
                            ? kNegInf
                            : static_cast<double>(top) + 0x1p-20 * (std::fabs(top) + max_price_);
    pi_[i] = std::max(-price_[i], real);
  }

  // The feasible symmetric dual this bound sums: y(i) = (π(i) + p(i)) / 2.
  void duals(std::vector<double>& out) const {
    out.resize(pi_.size());
    for (std::size_t i = 0; i < pi_.size(); ++i) out[i] = (pi_[i] + price_[i]) / 2.0;
  }

  double total() const {
    double bound = 0.0;
    for (std::size_t i = 0; i < pi_.size(); ++i) bound += pi_[i] + price_[i];
    return bound / 2.0;
  }

 private:
  const std::vector<double>& price_;
  std::vector<float> price_f_;
  std::vector<double> pi_;
  double max_price_ = 0.0;
};

// The dual bound for prices p alone (any vector: the auction's symmetric dual y after it, whose
// prices the candidate passes never see, then each tightening pass's): a streaming pass at memory
// speed. Writes the dual it sums to `dual` (not `price` itself).
double dual_bound(ConstMatrix w, const RowColumns& columns, const std::vector<double>& price, std::vector<double>& dual,
                  int threads, const CancelToken& cancel) {
  const std::size_t n = w.rows;
  DualBound bound(price);
  const std::size_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
  parallel_for(tasks, threads, [&](std::size_t task) {
    cancel.throw_if_cancelled();
    const std::size_t end = std::min(n, (task + 1) * kRowsPerTask);
    for (std::size_t i = task * kRowsPerTask; i < end; ++i) {
      float top = -std::numeric_limits<float>::infinity();
      const ColumnRun* runs = columns.runs(i);
      for (std::size_t r = 0; r < columns.count(i); ++r) {
        top = std::max(top, row_best(w.row(i) + runs[r].begin, bound.prices() + runs[r].begin, runs[r].end - runs[r].begin));
      }
      bound.set_row(i, top);
    }
  });
  bound.duals(dual);
  return bound.total();
}

// A first guess of the symmetric dual y, for the first candidate pass, from each row's sample
// (RowSample: 1/kSampleStride of the row, copied out once). In the optimum's dual a matched
// pair splits its weight, y(i) + y(j) = w(i,j), so a vertex that many want is marked expensive from
// the start; without a guess the first lists all held the same popular users, and on pools of
// look-alike users two more rounds did not undo it (k = 48, the bundled world at N = 3,000: bound
// 94.3% → 99.7% with a guess). The guess starts at each vertex's best sampled weight and takes
// kGuessSteps tightening half-steps on the sample, y(i) ← (y(i) + max(0, max_{j sampled} w(i,j) −
// y(j))) / 2: a vertex whose sampled partners are themselves cheap keeps a high price, one whose
// partners are all in demand drops. It replaced a flat 0.7 × the sampled best: on matching_bench's
// pools the first auction then left ~0.3% instead of ~6% at N = 5,000–10,000 (one auction instead
// of two: matching 341 → 268 ms at 10,000), and 60 generated pools against blossom went from mean
// 99.913% / worst 99.511% to 99.937% / 99.680%. Each step reads the sample block again (1/16 of
// the matrix, contiguous).
constexpr int kGuessSteps = 4;

void guess_dual(const RowSample& sample, std::vector<double>& y, int threads, const CancelToken& cancel) {
  const std::size_t n = y.size();
  const std::size_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
  const int step_threads = sample_pass_threads(sample, n, threads);
  // The start: each row's best sampled weight (the diagonal counts if usable, as in the steps; a
  // pool's own weights hold −∞ there), at least 0 — as a step from all-zero prices.
  std::vector<float> yf(n, 0.0f);
  parallel_for(tasks, step_threads, [&](std::size_t task) {
    const std::size_t end = std::min(n, (task + 1) * kRowsPerTask);
    for (std::size_t i = task * kRowsPerTask; i < end; ++i) y[i] = std::max(0.0f, sample_row_best(sample, i, yf.data()));
  });
  std::vector<double> next(n);
  for (int step = 0; step < kGuessSteps; ++step) {
    std::copy(y.begin(), y.end(), yf.begin());
    parallel_for(tasks, step_threads, [&](std::size_t task) {
      cancel.throw_if_cancelled();
      const std::size_t end = std::min(n, (task + 1) * kRowsPerTask);
      for (std::size_t i = task * kRowsPerTask; i < end; ++i) {
        // Staying single is worth 0.
        const float best = std::max(0.0f, sample_row_best(sample, i, yf.data()));
        next[i] = (y[i] + static_cast<double>(best)) / 2.0;
      }
    });
    y.swap(next);
  }
}

// One dense pass: each row's top-k partners by w(i,j) − y(j), and the dual bound for the prices p.
// y is the symmetric dual of the last auction, y(j) = (value(j) + p(j)) / 2: the assignment LP of a
// symmetric matrix has a symmetric optimal dual, and in it a vertex left single costs ~0, while p
// alone would mark it expensive (it bid for itself) and hide it from everyone's list.
//
// `kth` holds each row's k-th best reduced weight from the previous pass (−∞ at first) and is
// updated. The previous list's k members each lost at most |Δy(j)| since, so they all still beat
// kth − max_{j in list} |Δy(j)|: a safe starting threshold for the scan, and a tight one, because
// it depends only on this row's own list.
double select_candidates(ConstMatrix w, const RowColumns& columns, const RowSample& sample, const std::vector<double>& price,
                         const std::vector<double>& y,
                         const std::vector<double>& y_change, std::vector<float>& kth, SparseGraph& graph,
                         bool with_bound, std::vector<double>& dual, int threads, const CancelToken& cancel) {
  const std::size_t n = w.rows, k = graph.k;
  // The scan runs in float; DualBound pads the bound for it.
  std::vector<float> yf(y.begin(), y.end());
  DualBound bound(price);
  // The sampled guesses need enough of a sample: about 4 r-th bests' worth of columns.
  const std::size_t rank = std::min(kMaxSampleRank, (2 * k + kSampleStride - 1) / kSampleStride);
  const std::size_t deeper = std::min(kMaxSampleRank, kDeeperRank * rank);
  const bool guessable = n >= 4 * kSampleStride * rank;
  const std::size_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
  parallel_for(tasks, threads, [&](std::size_t task) {
    cancel.throw_if_cancelled();
    RowScanScratch scan_scratch(k);
    std::vector<float> cut_scratch(kth_largest_scratch(sample.length()));  // for the sample's ranks
    std::vector<float> reduced(sample.length());
    const std::size_t end = std::min(n, (task + 1) * kRowsPerTask);
    for (std::size_t i = task * kRowsPerTask; i < end; ++i) {
      std::int32_t* best_j = graph.neighbours.data() + i * k;
      // The floor is lowered by the shift and a margin for float rounding; when it still turns out
      // too high (fewer than k found), the row is scanned again from −∞.
      const float previous = kth[i];
      double shift = 0.0;
      for (std::int32_t t = 0; t < graph.count[i]; ++t) shift = std::max(shift, y_change[static_cast<std::size_t>(best_j[t])]);
      const float floor = previous == -std::numeric_limits<float>::infinity()
                              ? previous
                              : static_cast<float>(previous - shift - 1e-5 * (std::fabs(previous) + shift) - 1e-30);
      float* best_w = graph.neighbour_weight.data() + i * k;
      // Thresholds to try, highest first: the sampled guess (never below the floor), a deeper one
      // (worked out only when needed), the floor, then −∞ (which always fills the list, if the row
      // can). The next is tried only while fewer than k values beat the last.
      float tried = std::numeric_limits<float>::infinity();
      RowScan scan{};
      auto scan_from = [&](float threshold) {
        if (!(threshold < tried) || (tried != std::numeric_limits<float>::infinity() && scan.filled == k)) return;
        tried = threshold;
        scan = scan_row(w.row(i), columns.runs(i), columns.count(i), i, yf.data(), with_bound ? bound.prices() : nullptr, k,
                        threshold, scan_scratch, best_j, best_w);
      };
      if (guessable) {
        sampled_reduced(sample, i, yf.data(), reduced.data());
        scan_from(std::max(floor, ranked_value(reduced, rank, cut_scratch.data())));
        if (scan.filled < k) scan_from(std::max(floor, ranked_value(reduced, deeper, cut_scratch.data())));
      }
      scan_from(floor);
      scan_from(-std::numeric_limits<float>::infinity());
      kth[i] = scan.kth;
      for (std::size_t t = scan.filled; t < k; ++t) best_j[t] = kNone;
      graph.count[i] = static_cast<std::int32_t>(scan.filled);
      if (with_bound) bound.set_row(i, scan.top);
    }
  });
  if (!with_bound) return std::numeric_limits<double>::infinity();
  bound.duals(dual);
  return bound.total();
}

// Dual tightening. For any prices q, y(i) = (π_q(i) + q(i)) / 2 with π_q(i) = max(max_j w(i,j) − q(j),
// −q(i)) is a feasible symmetric dual (π_q(i) + q(j) ≥ w(i,j) and π_q(j) + q(i) ≥ w(i,j) add up to
// y(i) + y(j) ≥ w(i,j)), so a pass with q = the last pass's y is again a bound, and it halves each
// vertex's slack: an auction on the sparse lists leaves slack wherever a vertex's best dense pair is
// outside them. Bundled world, N = 2,000, after one auction: 87,363 → 87,152 → 87,082 → 87,051 in
// three passes; a second round (auction + candidate pass, ~5× the cost) reached 87,021. Stops once
// `half` (half the assignment's weight) is within `gap` of the bound, or after `passes`.
double tighten_bound(ConstMatrix w, const RowColumns& columns, std::vector<double>& dual, double bound, double half,
                     double gap, int passes, int threads, const CancelToken& cancel, int& passes_run) {
  std::vector<double> next;
  for (int t = 0; t < passes && 1.0 - half / bound > gap; ++t) {
    bound = std::min(bound, dual_bound(w, columns, dual, next, threads, cancel));
    dual.swap(next);
    ++passes_run;
  }
  return bound;
}

// ε-scaling forward auction on the candidate graph (Gauss–Seidel, FIFO: deterministic). It solves
// the perfect assignment of the double cover with a zero-weight self-loop per vertex: σ(i) = i
// means "i stays single", so an assignment always exists and every phase ends with all assigned.
void auction(ConstMatrix w, const SparseGraph& graph, std::vector<double>& price, std::vector<std::int32_t>& assigned,
             double first_epsilon, double final_epsilon, const CancelToken& cancel) {
  const std::size_t n = w.rows;
  std::vector<std::int32_t> owner(n, kNone);
  std::vector<float> price_f(price.begin(), price.end());
  // The unassigned persons, first in first out: each is in it at most once, so a ring of n.
  std::vector<std::int32_t> queue(n);
  std::size_t head = 0, queued = 0;
  auto push = [&](std::int32_t i) {
    const std::size_t at = head + queued++;
    queue[at < n ? at : at - n] = i;
  };
  for (double epsilon = first_epsilon;; epsilon = std::max(final_epsilon, epsilon / kEpsilonFactor)) {
    // A last phase at a barely smaller ε would re-auction everyone for almost nothing: go to the
    // final ε one phase early instead.
    if (epsilon < final_epsilon * kEpsilonFactor / 2) epsilon = final_epsilon;
    cancel.throw_if_cancelled();
    std::fill(owner.begin(), owner.end(), kNone);
    std::fill(assigned.begin(), assigned.end(), kNone);
    head = 0;
    queued = 0;
    for (std::size_t i = 0; i < n; ++i) push(static_cast<std::int32_t>(i));
    std::size_t bids = 0;
    const std::size_t max_bids = kMaxBidsPerVertex * n;
    while (queued > 0 && bids < max_bids) {
      if ((++bids & 4095) == 0) cancel.throw_if_cancelled();
      const std::int32_t i = queue[head];
      head = head + 1 == n ? 0 : head + 1;
      --queued;
      // The self-loop (stay single, weight 0) is always a candidate, and wins ties.
      const std::size_t from = graph.edge_begin[static_cast<std::size_t>(i)], to = graph.edge_end[static_cast<std::size_t>(i)];
      const BestTwo edges = best_two(graph.adjacency.data() + from, graph.weight.data() + from, to - from, price_f.data());
      const double self = -price[static_cast<std::size_t>(i)];
      double best = self, second = kNegInf;
      std::int32_t best_j = i;
      if (edges.at != to - from && static_cast<double>(edges.best) > self) {
        best = edges.best;
        second = std::max(self, static_cast<double>(edges.second));
        best_j = graph.adjacency[from + edges.at];
      } else if (edges.at != to - from) {
        second = edges.best;
      }
      // With a single option the bid is only ε: the price still rises, so others can outbid.
      price[static_cast<std::size_t>(best_j)] += (second == kNegInf ? 0.0 : best - second) + epsilon;
      price_f[static_cast<std::size_t>(best_j)] = static_cast<float>(price[static_cast<std::size_t>(best_j)]);
      const std::int32_t previous = owner[static_cast<std::size_t>(best_j)];
      if (previous != kNone) {
        assigned[static_cast<std::size_t>(previous)] = kNone;
        push(previous);
      }
      owner[static_cast<std::size_t>(best_j)] = i;
      assigned[static_cast<std::size_t>(i)] = best_j;
    }
    if (epsilon <= final_epsilon) break;
  }
}

// Best set of non-adjacent edges along a chain of edges e0..e(L−1) (consecutive edges share a
// vertex). Returns the chosen edge indices.
std::vector<std::size_t> best_alternating(const std::vector<double>& weight, std::size_t from, std::size_t to) {
  // dp over edges [from, to): take[t] = best using edges up to t with t taken.
  const std::size_t len = to - from;
  std::vector<double> best(len + 1, 0.0);
  std::vector<char> took(len, 0);
  for (std::size_t t = 0; t < len; ++t) {
    const double skip = best[t];
    const double take = (t >= 1 ? best[t - 1] : 0.0) + weight[from + t];
    took[t] = take > skip;
    best[t + 1] = took[t] ? take : skip;
  }
  std::vector<std::size_t> chosen;
  for (std::size_t t = len; t > 0;) {
    if (took[t - 1]) {
      chosen.push_back(from + t - 1);
      t = t >= 2 ? t - 2 : 0;
    } else {
      --t;
    }
  }
  return chosen;
}

double chain_weight(const std::vector<double>& weight, const std::vector<std::size_t>& chosen) {
  double s = 0;
  for (std::size_t e : chosen) s += weight[e];
  return s;
}

// Turns the assignment's paths and cycles into a matching, optimally within each component.
void assignment_to_matching(ConstMatrix w, const std::vector<std::int32_t>& assigned, std::vector<std::int32_t>& mate) {
  const std::size_t n = w.rows;
  std::vector<std::int32_t> owner(n, kNone);
  for (std::size_t i = 0; i < n; ++i) {
    if (assigned[i] != kNone) owner[static_cast<std::size_t>(assigned[i])] = static_cast<std::int32_t>(i);
  }
  std::fill(mate.begin(), mate.end(), kNone);
  std::vector<char> seen(n, 0);
  std::vector<std::int32_t> vertices;
  std::vector<double> weight;
  auto emit = [&](bool cycle) {
    // vertices v0..vL (path: L edges v(t)→v(t+1); cycle: the last edge returns to v0).
    const std::size_t edges = cycle ? vertices.size() : vertices.size() - 1;
    if (edges == 0) return;
    weight.assign(edges, 0.0);
    for (std::size_t t = 0; t < edges; ++t) {
      const std::size_t a = static_cast<std::size_t>(vertices[t]);
      const std::size_t b = static_cast<std::size_t>(vertices[(t + 1) % vertices.size()]);
      weight[t] = std::max(0.0, usable(w.row(a)[b]));
    }
    std::vector<std::size_t> chosen;
    if (!cycle || edges == 1) {
      chosen = best_alternating(weight, 0, edges);
    } else {
      auto without_last = best_alternating(weight, 0, edges - 1);
      auto without_first = best_alternating(weight, 1, edges);
      chosen = chain_weight(weight, without_last) >= chain_weight(weight, without_first) ? without_last : without_first;
    }
    for (std::size_t e : chosen) {
      if (weight[e] <= 0) continue;
      const std::int32_t a = vertices[e], b = vertices[(e + 1) % vertices.size()];
      mate[static_cast<std::size_t>(a)] = b;
      mate[static_cast<std::size_t>(b)] = a;
    }
  };
  // Self-loops (σ(i) = i) are single vertices. Paths only appear if a phase was cut short; they
  // start at vertices nobody points to.
  for (std::size_t s = 0; s < n; ++s) {
    if (assigned[s] == static_cast<std::int32_t>(s)) seen[s] = 1;
  }
  for (std::size_t s = 0; s < n; ++s) {
    if (owner[s] != kNone || seen[s]) continue;
    vertices.clear();
    for (std::int32_t v = static_cast<std::int32_t>(s); v != kNone && !seen[static_cast<std::size_t>(v)];
         v = assigned[static_cast<std::size_t>(v)]) {
      seen[static_cast<std::size_t>(v)] = 1;
      vertices.push_back(v);
    }
    emit(false);
  }
  // What is left lies on cycles.
  for (std::size_t s = 0; s < n; ++s) {
    if (seen[s]) continue;
    vertices.clear();
    for (std::int32_t v = static_cast<std::int32_t>(s); !seen[static_cast<std::size_t>(v)];
         v = assigned[static_cast<std::size_t>(v)]) {
      seen[static_cast<std::size_t>(v)] = 1;
      vertices.push_back(v);
    }
    emit(true);
  }
}

// Local search: place unmatched vertices (with a partner, by stealing one, or along an augmenting
// path of length 3), then 2-swaps among candidate neighbours driven by a worklist. Every move
// strictly raises the total, so it terminates; candidate-edge weights come from the sparse graph,
// so only the closing edge of a move reads the dense matrix.
void improve(ConstMatrix w, const SparseGraph& graph, const std::vector<double>& dual, std::vector<std::int32_t>& mate,
             const CancelToken& cancel) {
  const std::size_t n = w.rows;
  auto dense = [&](std::int32_t a, std::int32_t b) { return usable(w.row(static_cast<std::size_t>(a))[b]); };
  std::vector<double> pair_w(n, 0.0);  // weight of each vertex's current pair, 0 when single
  auto link = [&](std::int32_t a, std::int32_t b, double wab) {
    mate[a] = b;
    mate[b] = a;
    pair_w[a] = pair_w[b] = wab;
  };
  auto unlink = [&](std::int32_t a) {
    mate[a] = kNone;
    pair_w[a] = 0.0;
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (mate[i] != kNone) pair_w[i] = dense(static_cast<std::int32_t>(i), mate[i]);
  }

  std::deque<std::int32_t> free_queue;
  auto place_free = [&] {
    std::size_t moves = 0;
    while (!free_queue.empty() && moves < 4 * n) {
      const std::int32_t u = free_queue.front();
      free_queue.pop_front();
      if (mate[u] != kNone) continue;
      double best_gain = 0;
      std::int32_t best_c = kNone, best_v = kNone;
      double best_wuc = 0, best_wdv = 0;
      for (std::size_t t = graph.edge_begin[static_cast<std::size_t>(u)]; t < graph.edge_end[static_cast<std::size_t>(u)]; ++t) {
        const std::int32_t c = graph.adjacency[t];
        const double wuc = usable(graph.weight[t]);
        const double gain = wuc - pair_w[c];
        if (gain > best_gain) {
          best_gain = gain;
          best_c = c;
          best_v = kNone;
          best_wuc = wuc;
        }
        const std::int32_t d = mate[c];
        if (d == kNone) continue;
        for (std::size_t s2 = graph.edge_begin[static_cast<std::size_t>(d)]; s2 < graph.edge_end[static_cast<std::size_t>(d)]; ++s2) {
          const std::int32_t v = graph.adjacency[s2];
          if (v == u || mate[v] != kNone) continue;
          const double wdv = usable(graph.weight[s2]);
          if (gain + wdv > best_gain) {
            best_gain = gain + wdv;
            best_c = c;
            best_v = v;
            best_wuc = wuc;
            best_wdv = wdv;
          }
        }
      }
      if (best_c == kNone) continue;
      const std::int32_t freed = mate[best_c];
      if (freed != kNone) {
        unlink(freed);
        if (best_v != kNone) {
          link(freed, best_v, best_wdv);
        } else {
          free_queue.push_back(freed);
        }
      }
      link(u, best_c, best_wuc);
      ++moves;
    }
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (mate[i] == kNone) free_queue.push_back(static_cast<std::int32_t>(i));
  }
  place_free();

  // 2-swaps: (a,b) + (c,d) → (a,c) + (b,d) for c a candidate of a.
  std::deque<std::int32_t> work;
  std::vector<char> queued(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (mate[i] != kNone) {
      work.push_back(static_cast<std::int32_t>(i));
      queued[i] = 1;
    }
  }
  auto enqueue = [&](std::int32_t v) {
    if (!queued[static_cast<std::size_t>(v)]) {
      queued[static_cast<std::size_t>(v)] = 1;
      work.push_back(v);
    }
  };
  std::vector<std::size_t> open;  // a's candidate edges the dual does not rule out
  std::size_t steps = 0;
  const std::size_t max_steps = static_cast<std::size_t>(kMaxSwapSweeps) * n;
  while (!work.empty() && steps++ < max_steps) {
    if ((steps & 1023) == 0) cancel.throw_if_cancelled();
    const std::int32_t a = work.front();
    work.pop_front();
    queued[static_cast<std::size_t>(a)] = 0;
    const std::int32_t b = mate[a];
    if (b == kNone) continue;
    const double wab = pair_w[a];
    // Each candidate's closing edge w(b, d) is one random read of b's row, a cache miss on a large
    // pool. The dual bounds it, w(b, d) ≤ y(b) + y(d), and is nearly tight, so most candidates are
    // ruled out without the read (N = 10,000: improve 21 → 5 ms, the same moves); the rest are
    // asked for first, so that their misses overlap instead of queueing.
    const float* row_b = w.row(static_cast<std::size_t>(b));
    const double least_gain = 1e-12 * std::max(1.0, wab);  // strictly positive, above rounding noise
    open.clear();
    for (std::size_t t = graph.edge_begin[static_cast<std::size_t>(a)]; t < graph.edge_end[static_cast<std::size_t>(a)]; ++t) {
      const std::int32_t c = graph.adjacency[t];
      const std::int32_t d = mate[c];
      if (c == b || d == kNone || d == a) continue;
      const double partial = usable(graph.weight[t]) - wab - pair_w[c];
      if (!(partial + dual[static_cast<std::size_t>(b)] + dual[static_cast<std::size_t>(d)] > least_gain)) continue;
      __builtin_prefetch(row_b + d);
      open.push_back(t);
    }
    double best_gain = least_gain;
    std::int32_t best_c = kNone;
    double best_wac = 0, best_wbd = 0;
    for (const std::size_t t : open) {
      const std::int32_t c = graph.adjacency[t];
      const std::int32_t d = mate[c];
      const double partial = usable(graph.weight[t]) - wab - pair_w[c];
      const double wbd = dense(b, d);
      const double gain = partial + wbd;
      if (gain > best_gain) {
        best_gain = gain;
        best_c = c;
        best_wac = usable(graph.weight[t]);
        best_wbd = wbd;
      }
    }
    if (best_c == kNone) continue;
    const std::int32_t d = mate[best_c];
    link(a, best_c, best_wac);
    link(b, d, best_wbd);
    enqueue(a);
    enqueue(b);
    enqueue(best_c);
    enqueue(d);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (mate[i] == kNone) free_queue.push_back(static_cast<std::int32_t>(i));
  }
  place_free();
}

// Exact answer for tiny pools by dynamic programming over vertex subsets (2^n · n steps): below
// kExactMaxVertices this is cheaper than the heuristic and leaves no gap at all.
constexpr std::size_t kExactMaxVertices = 16;

void exact_small(ConstMatrix w, std::vector<std::int32_t>& mate) {
  const std::size_t n = w.rows;
  const std::uint32_t full = (1u << n) - 1;
  std::vector<double> best(std::size_t{1} << n, 0.0);
  std::vector<std::int8_t> choice(std::size_t{1} << n, -1);  // partner of the lowest vertex, or −1
  for (std::uint32_t mask = 1; mask <= full; ++mask) {
    const int i = __builtin_ctz(mask);
    const std::uint32_t rest = mask & ~(1u << i);
    best[mask] = best[rest];
    for (std::uint32_t others = rest; others; others &= others - 1) {
      const int j = __builtin_ctz(others);
      const double wij = usable(w.row(static_cast<std::size_t>(i))[j]);
      if (wij == kNegInf) continue;
      const double value = best[rest & ~(1u << j)] + wij;
      if (value > best[mask]) {
        best[mask] = value;
        choice[mask] = static_cast<std::int8_t>(j);
      }
    }
  }
  for (std::uint32_t mask = full; mask;) {
    const int i = __builtin_ctz(mask);
    const int j = choice[mask];
    mask &= ~(1u << i);
    if (j >= 0) {
      mate[static_cast<std::size_t>(i)] = j;
      mate[static_cast<std::size_t>(j)] = i;
      mask &= ~(1u << j);
    }
  }
}

}  // namespace

std::string weights_problem(ConstMatrix w) {
  if (w.rows != w.cols) return "weights must be square but are " + std::to_string(w.rows) + " x " + std::to_string(w.cols);
  const std::size_t n = w.rows;
  const float inf = std::numeric_limits<float>::infinity();
  auto at = [](std::size_t i, std::size_t j) { return "w[" + std::to_string(i) + "][" + std::to_string(j) + "]"; };
  // Tiled so that w(i,j) and w(j,i) are both in cache: a plain column walk is ~10× slower at n = 10⁴.
  constexpr std::size_t kTile = 64;
  for (std::size_t i0 = 0; i0 < n; i0 += kTile) {
    for (std::size_t j0 = i0; j0 < n; j0 += kTile) {
      for (std::size_t i = i0; i < std::min(n, i0 + kTile); ++i) {
        const float* row = w.row(i);
        for (std::size_t j = j0; j < std::min(n, j0 + kTile); ++j) {
          if (j < i) continue;
          const float v = row[j], t = w.row(j)[i];
          if (v != v || v == inf) return at(i, j) + " is " + (v != v ? "NaN" : "Infinity") + " (use -Infinity for a forbidden pair)";
          if (t != t || t == inf) return at(j, i) + " is " + (t != t ? "NaN" : "Infinity") + " (use -Infinity for a forbidden pair)";
          if (!(v == t)) {
            return at(i, j) + " = " + std::to_string(v) + " but " + at(j, i) + " = " + std::to_string(t) + " (not symmetric)";
          }
        }
      }
    }
  }
  return "";
}

MaxWeightResult max_weight_matching(ConstMatrix w, const MaxWeightOptions& options, const CancelToken& cancel,
                                    const HardFilters* filters) {
  KINDRED_CHECK(w.rows == w.cols, "max_weight_matching: weights must be square but are ", w.rows, " x ", w.cols);
  KINDRED_CHECK(options.candidates >= 2 && options.candidates <= 256, "max_weight_matching: candidates must be in [2, 256] but is ",
                options.candidates);
  KINDRED_CHECK(options.rounds >= 1 && options.rounds <= 16, "max_weight_matching: rounds must be in [1, 16] but is ",
                options.rounds);
  const std::size_t n = w.rows;
  MaxWeightResult result;
  result.mate.assign(n, kNone);
  cancel.throw_if_cancelled();
  if (n < 2) return result;
  KINDRED_CHECK(w.data != nullptr, "max_weight_matching: weights has no data");
  const int threads = options.threads > 0 ? options.threads : default_thread_count();

  SparseGraph graph;
  graph.k = std::min<std::size_t>(static_cast<std::size_t>(options.candidates), n - 1);
  graph.neighbours.assign(mul_or_throw(n, graph.k, "n x candidates"), kNone);
  graph.neighbour_weight.assign(graph.neighbours.size(), 0.0f);
  graph.count.assign(n, 0);
  std::vector<double> price(n, 0.0), y(n, 0.0), previous_y(n, 0.0), y_change(n, 0.0), dual(n, 0.0);
  std::vector<float> kth(n, -std::numeric_limits<float>::infinity());
  std::vector<std::int32_t> assigned(n, kNone);

  const auto sample_start = std::chrono::steady_clock::now();
  const RowColumns columns(filters, n);
  const RowSample sample(w, threads, cancel);
  guess_dual(sample, y, threads, cancel);
  previous_y = y;
  result.seconds_candidates += std::chrono::duration<double>(std::chrono::steady_clock::now() - sample_start).count();
  double upper_bound = std::numeric_limits<double>::infinity();
  double max_weight = 0.0, mean_best = 0.0;
  // One dense candidate pass (with the bound of the current prices) and the symmetric lists.
  // The first pass's prices are all 0: its bound would be Σ max_j w(i,j), useless, so it is skipped.
  auto select_lists = [&](bool with_bound) {
    const auto t0 = std::chrono::steady_clock::now();
    upper_bound = std::min(upper_bound, select_candidates(w, columns, sample, price, y, y_change, kth, graph, with_bound, dual,
                                                          threads, cancel));
    const auto t1 = std::chrono::steady_clock::now();
    graph.symmetrize(n, threads);
    result.seconds_candidates += std::chrono::duration<double>(t1 - t0).count();
    result.seconds_graph += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  };
  // After an auction, before the next candidate pass, up to three looks at whether the assignment
  // is already settled (half its weight within kSettledGap of a bound), so that the candidate pass,
  // symmetrizing and auction of another round are saved:
  //  1. from the third round on (a pool that did not settle after its first auction is likely to
  //     go on): a lower estimate of the dense bound from the symmetric lists plus each row's sample
  //     (1/kSampleStride of the matrix): the auction is ε-optimal on its lists, so only pairs
  //     outside them leave a gap, and the sample sees some of those; above kSampledGapLimit → go on.
  //     After the first auction it is skipped: there it almost never stopped the dense pass and
  //     cost a third of one (0.4 ms at N = 2,000);
  //  2. the dense bound for the auction's symmetric dual y (one streaming pass); above
  //     kTightenGap → go on. It takes y rather than the auction's prices p (both give a valid
  //     bound; see tighten_bound): on the pools below y's gap was about 60% of p's;
  //  3. up to kTightenPasses tightening passes (see tighten_bound).
  // With the first dual of guess_dual, the bundled world's pools (N = 2,000–3,000) and
  // matching_bench's (N = 1,000–10,000) settle here after one auction, mostly at step 2.
  // Σ y = half the last assignment's weight (σ permutes the prices away): the fractional matching it
  // stands for, which every settling test compares with a bound.
  auto half_assignment = [&] {
    double half = 0.0;
    for (std::size_t i = 0; i < n; ++i) half += y[i];
    return half;
  };
  auto sampled_gap = [&](double half) {
    const std::vector<float> price_f(price.begin(), price.end());
    std::vector<double> row_estimate(n);
    const std::size_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
    parallel_for(tasks, sample_pass_threads(sample, n, threads), [&](std::size_t task) {
      const std::size_t end = std::min(n, (task + 1) * kRowsPerTask);
      for (std::size_t i = task * kRowsPerTask; i < end; ++i) {
        double best = -price[i];
        for (std::size_t e = graph.edge_begin[i]; e < graph.edge_end[i]; ++e) {
          best = std::max(best, usable(graph.weight[e]) - price[static_cast<std::size_t>(graph.adjacency[e])]);
        }
        best = std::max(best, static_cast<double>(sample_row_best(sample, i, price_f.data())));
        row_estimate[i] = best + price[i];
      }
    });
    double estimate = 0.0;  // summed in row order: the same total on any number of threads
    for (double e : row_estimate) estimate += e;
    return 1.0 - half / (estimate / 2.0);
  };
  auto settles_early = [&](int round) {
    const double half = half_assignment();
    if (round >= 2 && sampled_gap(half) > kSampledGapLimit) return false;
    upper_bound = std::min(upper_bound, dual_bound(w, columns, y, dual, threads, cancel));
    if (1.0 - half / upper_bound > kTightenGap) return false;
    upper_bound = tighten_bound(w, columns, dual, upper_bound, half, kSettledGap, kTightenPasses, threads, cancel,
                                result.tightening_passes);
    return 1.0 - half / upper_bound <= kSettledGap;
  };
  bool settled = false;  // stopped early: upper_bound is already the dual of the final prices
  double previous_gap = std::numeric_limits<double>::infinity();
  int growths = 0, rounds = options.rounds;
  for (int round = 0; round < rounds; ++round) {
    if (round > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      settled = settles_early(round);
      result.seconds_candidates += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (settled) break;
    }
    for (std::size_t i = 0; i < n; ++i) y_change[i] = std::fabs(y[i] - previous_y[i]);
    previous_y = y;
    select_lists(round > 0);
    if (round > 0) {
      // Half the assignment close enough to this pass's bound (the dual of those same prices) means
      // another auction would gain almost nothing, and the final bound pass would only repeat this one.
      const double gap = 1.0 - half_assignment() / upper_bound;
      if (gap <= kSettledGap) {
        settled = true;
        break;
      }
      // A gap that stays wide from one round to the next means the lists are too short for this
      // pool (look-alike or duplicated users fill them with copies of the same few partners):
      // double them and select again with the same prices, once or twice, with a round to spare.
      if (gap > kGrowGap && gap > kGapShrink * previous_gap && growths < kMaxGrowths && graph.k < kMaxCandidates &&
          graph.k < n - 1) {
        ++growths;
        ++rounds;
        graph.grow(std::min({2 * graph.k, kMaxCandidates, n - 1}), n);
        std::fill(kth.begin(), kth.end(), -std::numeric_limits<float>::infinity());
        select_lists(true);
      }
      previous_gap = gap;
    }
    if (round == 0) {
      for (std::size_t i = 0; i < n; ++i) {
        if (graph.count[i] == 0) continue;
        double best = 0.0;
        for (std::int32_t t = 0; t < graph.count[i]; ++t) best = std::max(best, usable(graph.neighbour_weight[i * graph.k + static_cast<std::size_t>(t)]));
        max_weight = std::max(max_weight, best);
        mean_best += best / static_cast<double>(n);
      }
      if (max_weight <= 0) break;  // no usable pair at all
    }
    const double final_epsilon = kFinalEpsilonScale * mean_best;
    const double first_epsilon =
        round == 0 ? max_weight / kFirstEpsilonDivisor : std::max(final_epsilon, max_weight / kLaterEpsilonDivisor);
    const auto t0 = std::chrono::steady_clock::now();
    auction(w, graph, price, assigned, first_epsilon, final_epsilon, cancel);
    ++result.auctions;
    result.seconds_auction += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t j = assigned[i];
      const double value = (j == kNone || static_cast<std::size_t>(j) == i) ? -price[i] : usable(w.row(i)[j]) - price[j];
      y[i] = (value + price[i]) / 2.0;
    }
  }
  if (max_weight <= 0) {
    result.upper_bound = 0;
    return result;
  }
  if (!settled) {
    const auto t0 = std::chrono::steady_clock::now();
    upper_bound = std::min(upper_bound, dual_bound(w, columns, y, dual, threads, cancel));
    upper_bound = tighten_bound(w, columns, dual, upper_bound, half_assignment(), kSettledGap, kFinalTightenPasses, threads, cancel,
                                result.tightening_passes);
    result.seconds_candidates += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const auto repair_start = std::chrono::steady_clock::now();
  if (n <= kExactMaxVertices) {
    exact_small(w, result.mate);
  } else {
    assignment_to_matching(w, assigned, result.mate);
    improve(w, graph, dual, result.mate, cancel);
  }
  result.seconds_repair = std::chrono::duration<double>(std::chrono::steady_clock::now() - repair_start).count();

  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t j = result.mate[i];
    if (j != kNone && static_cast<std::size_t>(j) > i) {
      result.total_weight += usable(w.row(i)[j]);
      ++result.pairs;
    }
  }
  result.upper_bound = upper_bound;
  result.candidates = static_cast<int>(graph.k);
  return result;
}

}  // namespace kindred::matching
