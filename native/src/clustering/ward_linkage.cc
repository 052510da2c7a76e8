#include "kindred/clustering/ward_linkage.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
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
// huge pages where the kernel offers them: the chain reads matrix columns, one row apart, and
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

// The matrix block of the last call, kept for the next one (at most one, and only up to
// kKeptMatrixBytes: 64 MB, n ≤ 2,832 at dim 64). A fresh block costs a page fault and the
// kernel's zeroing of every page it touches: at n = 1,000-2,000 about a tenth of the whole linkage,
// at 5,000 (200 MB, not kept) as much as the distance pass. Concurrent calls each take their own
// block; the kept one goes to whichever asks first.
constexpr std::size_t kKeptMatrixBytes = std::size_t{64} << 20;

class MatrixCache {
 public:
  // A block of at least `count` doubles, and its size in *capacity: the kept one when it is large
  // enough, else a new one.
  DoubleBlock take(std::size_t count, std::size_t* capacity) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (kept_ && kept_capacity_ >= count) {
        *capacity = kept_capacity_;
        kept_capacity_ = 0;
        return std::move(kept_);
      }
    }
    *capacity = count;
    return allocate_doubles(count);
  }

  // Keeps `block` (of `capacity` doubles) for the next call when it is small enough and larger
  // than the block already kept; frees it otherwise.
  void give_back(DoubleBlock block, std::size_t capacity) noexcept {
    if (capacity > kKeptMatrixBytes / sizeof(double)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!kept_ || kept_capacity_ < capacity) {
      kept_ = std::move(block);
      kept_capacity_ = capacity;
    }
  }

 private:
  std::mutex mutex_;
  DoubleBlock kept_;
  std::size_t kept_capacity_ = 0;
};

MatrixCache& matrix_cache() {
  static MatrixCache* cache = new MatrixCache();  // never destroyed: no exit-time order to get wrong
  return *cache;
}

// The matrix of one call, handed back to the cache when the call ends (returns or throws).
class Matrix {
 public:
  explicit Matrix(std::size_t count) : block_(matrix_cache().take(count, &capacity_)) {}
  ~Matrix() { matrix_cache().give_back(std::move(block_), capacity_); }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
  double* get() const noexcept { return block_.get(); }

 private:
  std::size_t capacity_ = 0;  // initialised by take() before block_ (declared first)
  DoubleBlock block_;
};

typedef double V4d __attribute__((vector_size(32)));
typedef std::int64_t V4q __attribute__((vector_size(32)));

// The live clusters, in slots 0..capacity-1 of the square matrix (row stride n). A cluster's key is
// SciPy's index for it: the largest point index it holds (SciPy keeps x ∪ y at max(x, y)). Slots
// stay in key order — the union goes to the higher slot, compaction keeps the order — so "lowest
// slot" decides ties exactly as SciPy's scan in index order does. A dead slot keeps its stale row;
// `mask` (+inf) hides it from the searches until the next compaction.
//
// Rows are brought up to date lazily. A merge rewrites the union's row only, not its column: the
// column would cost a store into every other row, each a cache miss once the matrix outgrows L2.
// Merge t (t = 0, 1, ...) is recorded as `merged[t]` (its union's slot) and leaves the union's row
// synced to t + 1; `synced[x]` = s says row x is current at every column except those of the
// unions merged at s or later. Before row x is read, `sync` copies in, for each of those unions u,
// d[u][x]: that value is current, since row u was computed (from rows in sync) after x's last
// change and neither changed since. A union that died since has a masked column, so copying its
// stale value does no harm. Most of these reads would miss the cache anyway as column writes; read
// lazily, they are done only for rows the chain visits, at most once per row per merge.
struct Slots {
  std::vector<std::int32_t> key;       // per slot
  std::vector<double> size;            // per slot, as double for the update formula
  std::vector<double> mask;            // per slot: 0 when live, +inf when dead
  std::vector<std::uint32_t> synced;   // per slot: merges its row has seen
  std::vector<std::int32_t> slot_of;   // per key (point index); valid while that key is live
  std::vector<std::int32_t> merged;    // per merge: the union's slot (-1 once a compaction drops it)
  std::size_t capacity = 0;            // slots in use, live or dead
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

// rb[s] = ward_update(ra[s], rb[s], ...) for s < count, in place, as a plain loop that vectorizes
// (four lanes where AVX2 exists, two with SSE2): every lane performs ward_update's operations in its
// order, and sqrtpd rounds exactly as sqrt does (the file is built with -fno-math-errno).
KINDRED_WARD_CLONES
void ward_update_row(const double* __restrict ra, double* rb, const double* __restrict sizes, std::size_t count,
                     double d_xy, double size_x, double size_y) {
  for (std::size_t s = 0; s < count; ++s) rb[s] = ward_update(ra[s], rb[s], d_xy, size_x, size_y, sizes[s]);
}

// Brings row x up to date (see Slots): copies in the distances to the unions merged since it was
// last synced, from their own rows.
void sync(double* d, std::size_t n, Slots& slots, std::size_t x) {
  const std::size_t now = slots.merged.size();
  double* row = d + x * n;
  constexpr std::size_t kAhead = 8;
  const std::int32_t* merged = slots.merged.data();
  const std::size_t from = slots.synced[x];
  for (std::size_t t = from; t < now; ++t) {
    if (t + kAhead < now) {
      const std::int32_t ahead = merged[t + kAhead];
      __builtin_prefetch(d + static_cast<std::size_t>(ahead < 0 ? 0 : ahead) * n + x, 0, 3);
    }
    // A dead union's column is masked: copying it does no harm. A union that died before the last
    // compaction is -1: it copies row[x] onto itself.
    const std::int32_t u = merged[t];
    const std::size_t us = u < 0 ? x : static_cast<std::size_t>(u);
    row[us] = d[us * n + x];
  }
  slots.synced[x] = static_cast<std::uint32_t>(now);
}

// Row b becomes the distances to the union of slots a and b (rows a and b in sync); slot a dies.
void merge_slots(double* d, std::size_t n, Slots& slots, std::size_t a, std::size_t b, double height) {
  double* rb = d + b * n;
  ward_update_row(d + a * n, rb, slots.size.data(), slots.capacity, height, slots.size[a], slots.size[b]);
  rb[b] = kInfinity;
  slots.size[b] += slots.size[a];
  slots.mask[a] = kInfinity;
  --slots.live;
  slots.merged.push_back(static_cast<std::int32_t>(b));
  slots.synced[b] = static_cast<std::uint32_t>(slots.merged.size());
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
  // The merge log names slots: renumber it (dead unions drop out).
  std::vector<std::int32_t> renumber(slots.capacity, -1);
  for (std::size_t i = 0; i < m; ++i) renumber[live[i]] = static_cast<std::int32_t>(i);
  for (std::int32_t& u : slots.merged) {
    if (u >= 0) u = renumber[static_cast<std::size_t>(u)];
  }
  for (std::size_t i = 0; i < m; ++i) {
    const double* from = d + live[i] * n;
    double* to = d + i * n;
    for (std::size_t j = 0; j < m; ++j) to[j] = from[live[j]];
    slots.key[i] = slots.key[live[i]];
    slots.size[i] = slots.size[live[i]];
    slots.synced[i] = slots.synced[live[i]];
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
  // The points in float64 twice: row-major and packed in panels (n rounded up to a whole panel).
  const std::size_t padded = n / detail::kPanel * detail::kPanel + (n % detail::kPanel != 0 ? detail::kPanel : 0);
  if (padded < n || !checked_mul(padded, dim, &pts) || !checked_mul(pts, 2 * sizeof(double), &pts)) return 0;
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

  // One block (kept between calls, see MatrixCache) holds the n × n matrix, then the points in
  // float64 (as SciPy converts them before pdist), then the same points packed for the kernel.
  // ward_linkage_bytes checked that these sizes fit in size_t.
  const std::size_t square = n * n, points_doubles = n * dim, panels_doubles = detail::panel_doubles(n, dim);
  Matrix matrix(square + points_doubles + panels_doubles);
  double* d = matrix.get();
  double* xd = d + square;
  double* panels = xd + points_doubles;
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = points.row(i);
    for (std::size_t k = 0; k < dim; ++k) xd[i * dim + k] = static_cast<double>(row[k]);
  }
  detail::pack_panels(xd, n, dim, panels);

  // All pairwise distances, tile pairs spread over the threads.
  const std::size_t tiles = (n + kTile - 1) / kTile;
  const std::size_t tile_pairs = tiles * (tiles + 1) / 2;
  parallel_for(tile_pairs, threads, [&](std::size_t task) {
    if (cancel.cancelled()) cancel.throw_if_cancelled();
    // task → (ti, tj) with tj <= ti, row by row of the lower triangle of tiles.
    std::size_t ti = static_cast<std::size_t>((std::sqrt(8.0 * static_cast<double>(task) + 1.0) - 1.0) / 2.0);
    while (ti * (ti + 1) / 2 > task) --ti;
    while ((ti + 1) * (ti + 2) / 2 <= task) ++ti;
    const std::size_t tj = task - ti * (ti + 1) / 2;
    distance_tile(xd, panels, n, dim, ti, tj, d);
  });

  Slots slots;
  slots.key.resize(n);
  slots.size.assign(n, 1.0);
  slots.mask.assign(n, 0.0);
  slots.synced.assign(n, 0);  // the distance pass wrote every row whole
  slots.merged.reserve(n - 1);
  slots.slot_of.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    slots.key[i] = static_cast<std::int32_t>(i);
    slots.slot_of[i] = static_cast<std::int32_t>(i);
  }
  slots.capacity = slots.live = n;

  std::vector<Merge> merges;
  merges.reserve(n - 1);
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
      sync(d, n, slots, x);
      y = nearest(d + x * n, slots, prev);
      if (static_cast<std::ptrdiff_t>(y) == prev) break;
      chain.push_back(slots.key[y]);
    }
    chain.resize(chain.size() - 2);

    const double height = d[x * n + y];
    // SciPy keeps the union at the larger index; its update takes the smaller one as "x".
    const std::size_t a = std::min(x, y), b = std::max(x, y);
    merges.push_back({slots.key[a], slots.key[b], height, slots.size[a] + slots.size[b]});
    sync(d, n, slots, y);  // x is in sync
    merge_slots(d, n, slots, a, b, height);
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
