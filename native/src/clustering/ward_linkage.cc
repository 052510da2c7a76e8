#include "kindred/clustering/ward_linkage.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <numeric>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "ward_distances.h"
#include "kindred/core/check.h"
#include "kindred/core/parallel.h"

namespace kindred::clustering {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
using detail::kTile;
using detail::distance_tile;

// An uninitialised block of doubles (every element is written before it is read), on transparent
// huge pages where the kernel offers them: the chain writes matrix columns, one row apart, and
// 4 KiB pages would cost a TLB miss each.
struct FreeDeleter {
  void operator()(double* p) const noexcept { std::free(p); }
};
using DoubleBlock = std::unique_ptr<double[], FreeDeleter>;

DoubleBlock allocate_doubles(std::size_t count) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  const std::size_t bytes = mul_or_throw(count, sizeof(double), "the distance matrix size");
  // Small matrices (the usual history of tens to hundreds of rows) skip the huge-page alignment:
  // a huge page is zeroed whole on first touch. From 2 huge pages on (n ≥ 724) the rounding wastes
  // less than half of what is zeroed anyway (every element is written), and saves a page fault per
  // 4 KiB: 2,000 of them at n = 1,000, each costing more than zeroing its page.
  const std::size_t align = bytes >= 2 * kHugePage ? kHugePage : 64;
  const std::size_t rounded = (bytes + align - 1) / align * align;
  KINDRED_CHECK(rounded >= bytes, "the distance matrix size overflows");
  void* p = std::aligned_alloc(align, rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
  return DoubleBlock(static_cast<double*>(p));
}

typedef double V4d __attribute__((vector_size(32)));
typedef std::int64_t V4q __attribute__((vector_size(32)));

// The live clusters, in slots 0..capacity-1 of the square matrix (row stride n). A cluster's key is
// SciPy's index for it: the largest point index it holds (SciPy keeps x ∪ y at max(x, y)). Slots
// stay in key order — the union goes to the higher slot, compaction keeps the order — so "lowest
// slot" decides ties exactly as SciPy's scan in index order does. A dead slot keeps its stale row
// and column; `mask` (+inf) hides it from the searches until the next compaction, so that a merge
// writes one matrix column instead of moving two.
struct Slots {
  std::vector<std::int32_t> key;      // per slot
  std::vector<double> size;           // per slot, as double for the update formula
  std::vector<double> mask;           // per slot: 0 when live, +inf when dead
  std::vector<std::int32_t> slot_of;  // per key (point index); valid while that key is live
  std::size_t capacity = 0;           // slots in use, live or dead
  std::size_t live = 0;
};

struct Merge {
  std::int32_t a, b;  // SciPy's indices (keys) of the merged clusters, a < b
  double height;
  double size;
};

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KINDRED_NO_CLONES)
#define KINDRED_WARD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KINDRED_WARD_CLONES
#endif

// The first slot s < count minimising row[s] + mask[s] (count >= 1): four lanes each keep their
// first minimum, then the lowest index among the lanes holding the overall minimum wins.
KINDRED_WARD_CLONES
std::size_t first_minimum(const double* row, const double* mask, std::size_t count) {
  V4d best = {kInfinity, kInfinity, kInfinity, kInfinity};
  V4q best_index = {0, 1, 2, 3};
  V4q index = {0, 1, 2, 3};
  const V4q step = {4, 4, 4, 4};
  std::size_t s = 0;
  for (; s + 4 <= count; s += 4) {
    V4d v, m;
    __builtin_memcpy(&v, row + s, sizeof v);
    __builtin_memcpy(&m, mask + s, sizeof m);
    v += m;
    const V4q less = v < best;
    best = less ? v : best;
    best_index = less ? index : best_index;
    index += step;
  }
  double value = kInfinity;
  std::size_t found = count;
  for (int lane = 0; lane < 4; ++lane) {
    const std::size_t at = static_cast<std::size_t>(best_index[lane]);
    if (at < count && (best[lane] < value || (best[lane] == value && at < found))) {
      value = best[lane];
      found = at;
    }
  }
  for (; s < count; ++s) {
    const double v = row[s] + mask[s];
    if (v < value) {
      value = v;
      found = s;
    }
  }
  return found < count ? found : 0;
}

// The slot nearest to slot x (its row), as SciPy's nn_chain picks it: `prev` (the previous chain
// element, or -1) unless another slot is strictly nearer, else the nearest with the lowest slot.
std::size_t nearest(const double* row, const Slots& slots, std::ptrdiff_t prev) {
  const std::size_t found = first_minimum(row, slots.mask.data(), slots.capacity);
  if (prev >= 0 && !(row[found] < row[prev])) return static_cast<std::size_t>(prev);
  return found;
}

// SciPy's Ward update (scipy/cluster/_hierarchy_distance_update.pxi), term for term and in the same
// order, so that it rounds as SciPy does: the distance from cluster i to x ∪ y given d(x,i), d(y,i)
// and d(x,y). Sizes are small integers, exact in double. No fused multiply-add: SciPy's build has
// none, and CMakeLists.txt compiles this file with -ffp-contract=off so that no compiler flag adds
// one. A radicand that rounds below zero (SciPy would produce NaN) is clamped to zero.
inline double ward_update(double d_xi, double d_yi, double d_xy, double size_x, double size_y, double size_i) {
  const double t = 1.0 / (size_x + size_y + size_i);
  const double radicand = (size_i + size_x) * t * d_xi * d_xi + (size_i + size_y) * t * d_yi * d_yi -
                          size_i * t * d_xy * d_xy;
  return std::sqrt(radicand > 0.0 ? radicand : 0.0);
}

// out[s] = ward_update(ra[s], rb[s], ...) for s < count, as a plain loop that vectorizes (four lanes
// where AVX2 exists, two with SSE2): every lane performs ward_update's operations in its order, and
// sqrtpd rounds exactly as sqrt does (the file is built with -fno-math-errno).
KINDRED_WARD_CLONES
void ward_update_row(const double* __restrict ra, const double* __restrict rb, const double* __restrict sizes,
                     std::size_t count, double d_xy, double size_x, double size_y, double* __restrict out) {
  for (std::size_t s = 0; s < count; ++s) out[s] = ward_update(ra[s], rb[s], d_xy, size_x, size_y, sizes[s]);
}

// Row and column b become the distances to the union of slots a and b; slot a dies. `scratch`
// holds n doubles.
void merge_slots(double* d, std::size_t n, Slots& slots, std::size_t a, std::size_t b, double height,
                 double* scratch) {
  const std::size_t c = slots.capacity;
  ward_update_row(d + a * n, d + b * n, slots.size.data(), c, height, slots.size[a], slots.size[b], scratch);
  scratch[b] = kInfinity;
  std::copy(scratch, scratch + c, d + b * n);
  // Column b, live and dead slots alike: a dead slot's row is never read again (searches start
  // from live rows, compaction copies live rows only), and an unconditional store has no branch to
  // mispredict on the irregular pattern of dead slots.
  for (std::size_t s = 0; s < c; ++s) d[s * n + b] = scratch[s];
  slots.size[b] += slots.size[a];
  slots.mask[a] = kInfinity;
  --slots.live;
}

// Packs the live slots into 0..live-1 in order, in place (each row moves to a row at or before it
// and each value to a column at or before it, so nothing is read after it is overwritten).
void compact(double* d, std::size_t n, Slots& slots) {
  std::vector<std::size_t> live;
  live.reserve(slots.live);
  for (std::size_t s = 0; s < slots.capacity; ++s) {
    if (slots.mask[s] == 0.0) live.push_back(s);
  }
  const std::size_t m = live.size();
  for (std::size_t i = 0; i < m; ++i) {
    const double* from = d + live[i] * n;
    double* to = d + i * n;
    for (std::size_t j = 0; j < m; ++j) to[j] = from[live[j]];
    slots.key[i] = slots.key[live[i]];
    slots.size[i] = slots.size[live[i]];
    slots.mask[i] = 0.0;
    slots.slot_of[static_cast<std::size_t>(slots.key[i])] = static_cast<std::int32_t>(i);
  }
  slots.capacity = m;
}

// SciPy's `label`: merges sorted by height (stably) get cluster ids n, n+1, ... through a union-find
// over the points; each row names the two current roots, smaller first.
void label_merges(std::vector<Merge>& merges, std::size_t n, double* out) {
  std::vector<std::size_t> order(merges.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return merges[x].height < merges[y].height; });
  std::vector<std::int32_t> parent(2 * n - 1);
  std::iota(parent.begin(), parent.end(), 0);
  std::vector<double> size(2 * n - 1, 1.0);
  auto find = [&](std::int32_t x) {
    std::int32_t root = x;
    while (parent[static_cast<std::size_t>(root)] != root) root = parent[static_cast<std::size_t>(root)];
    while (parent[static_cast<std::size_t>(x)] != root) {
      const std::int32_t next = parent[static_cast<std::size_t>(x)];
      parent[static_cast<std::size_t>(x)] = root;
      x = next;
    }
    return root;
  };
  std::int32_t next_label = static_cast<std::int32_t>(n);
  for (std::size_t r = 0; r < order.size(); ++r) {
    const Merge& merge = merges[order[r]];
    const std::int32_t x = find(merge.a), y = find(merge.b);
    const std::size_t nl = static_cast<std::size_t>(next_label);
    parent[static_cast<std::size_t>(x)] = next_label;
    parent[static_cast<std::size_t>(y)] = next_label;
    size[nl] = size[static_cast<std::size_t>(x)] + size[static_cast<std::size_t>(y)];
    double* row = out + r * kLinkageColumns;
    row[0] = std::min(x, y);
    row[1] = std::max(x, y);
    row[2] = merge.height;
    row[3] = size[nl];
    ++next_label;
  }
}

}  // namespace

std::size_t ward_linkage_bytes(std::size_t n, std::size_t dim) noexcept {
  std::size_t square = 0, pts = 0, total = 0;
  if (!checked_mul(n, n, &square) || !checked_mul(square, sizeof(double), &square)) return 0;
  if (!checked_mul(n, dim, &pts) || !checked_mul(pts, sizeof(double), &pts)) return 0;
  total = square + pts;
  if (total < square) return 0;
  return total;
}

void ward_linkage(ConstMatrix points, double* out, const CancelToken& cancel, int threads) {
  const std::size_t n = points.rows, dim = points.cols;
  KINDRED_CHECK(n <= kMaxWardPoints, "ward_linkage: n = ", n, " exceeds the limit of ", kMaxWardPoints, " points");
  if (n <= 1) return;
  KINDRED_CHECK(out != nullptr, "ward_linkage: out must not be null");
  KINDRED_CHECK(ward_linkage_bytes(n, dim) != 0, "ward_linkage: ", n, " points of ", dim,
                " dimensions need more memory than size_t can count");
  cancel.throw_if_cancelled();

  // The points in float64, as SciPy converts them before pdist.
  std::vector<double> xd(mul_or_throw(n, dim, "n x dim"));
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = points.row(i);
    for (std::size_t k = 0; k < dim; ++k) xd[i * dim + k] = static_cast<double>(row[k]);
  }

  // All pairwise distances, tile pairs spread over the threads.
  DoubleBlock matrix = allocate_doubles(mul_or_throw(n, n, "n x n"));
  double* d = matrix.get();
  const std::size_t tiles = (n + kTile - 1) / kTile;
  const std::size_t tile_pairs = tiles * (tiles + 1) / 2;
  parallel_for(tile_pairs, threads, [&](std::size_t task) {
    if (cancel.cancelled()) cancel.throw_if_cancelled();
    // task → (ti, tj) with tj <= ti, row by row of the lower triangle of tiles.
    std::size_t ti = static_cast<std::size_t>((std::sqrt(8.0 * static_cast<double>(task) + 1.0) - 1.0) / 2.0);
    while (ti * (ti + 1) / 2 > task) --ti;
    while ((ti + 1) * (ti + 2) / 2 <= task) ++ti;
    const std::size_t tj = task - ti * (ti + 1) / 2;
    distance_tile(xd.data(), n, dim, ti, tj, d);
  });
  std::vector<double>().swap(xd);

  Slots slots;
  slots.key.resize(n);
  slots.size.assign(n, 1.0);
  slots.mask.assign(n, 0.0);
  slots.slot_of.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    slots.key[i] = static_cast<std::int32_t>(i);
    slots.slot_of[i] = static_cast<std::int32_t>(i);
  }
  slots.capacity = slots.live = n;

  std::vector<Merge> merges;
  merges.reserve(n - 1);
  std::vector<double> scratch(n);
  std::vector<std::int32_t> chain;  // keys
  chain.reserve(n);
  while (merges.size() + 1 < n) {
    cancel.throw_if_cancelled();
    if (chain.empty()) {
      // SciPy starts each chain at the live cluster with the lowest index: the lowest live slot.
      std::size_t first = 0;
      while (slots.mask[first] != 0.0) ++first;
      chain.push_back(slots.key[first]);
    }
    std::size_t x = 0, y = 0;
    for (;;) {
      x = static_cast<std::size_t>(slots.slot_of[static_cast<std::size_t>(chain.back())]);
      const std::ptrdiff_t prev =
          chain.size() > 1 ? slots.slot_of[static_cast<std::size_t>(chain[chain.size() - 2])] : -1;
      y = nearest(d + x * n, slots, prev);
      if (static_cast<std::ptrdiff_t>(y) == prev) break;
      chain.push_back(slots.key[y]);
    }
    chain.resize(chain.size() - 2);

    const double height = d[x * n + y];
    // SciPy keeps the union at the larger index; its update takes the smaller one as "x".
    const std::size_t a = std::min(x, y), b = std::max(x, y);
    merges.push_back({slots.key[a], slots.key[b], height, slots.size[a] + slots.size[b]});
    merge_slots(d, n, slots, a, b, height, scratch.data());
    // Dead slots cost every search a little: pack once a third of them are dead.
    if (slots.capacity >= 64 && slots.live * 3 <= slots.capacity * 2) compact(d, n, slots);
  }
  label_merges(merges, n, out);
}

std::vector<double> ward_linkage(ConstMatrix points, const CancelToken& cancel, int threads) {
  KINDRED_CHECK(points.rows <= kMaxWardPoints, "ward_linkage: n = ", points.rows, " exceeds the limit of ",
                kMaxWardPoints, " points");
  std::vector<double> out(points.rows > 1 ? mul_or_throw(points.rows - 1, kLinkageColumns, "linkage size") : 0);
  ward_linkage(points, out.data(), cancel, threads);
  return out;
}

}  // namespace kindred::clustering
