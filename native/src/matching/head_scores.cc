#include "kindred/matching/head_scores.h"

#include <algorithm>
#include <cmath>

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"
#include "kindred/core/scratch_pool.h"
#include "kindred/gemm/pair_scores.h"
#include "filter_tiles.h"

namespace kindred::matching {
namespace {

// Rows per chunk: a chunk of one head's scores (rows × n floats) stays within about 4 MB, so it is
// still in cache when it is transformed into the output.
constexpr std::size_t kChunkBytes = std::size_t{4} << 20;

void validate(const std::vector<Head>& heads, MutableMatrix out) {
  KINDRED_CHECK(!heads.empty(), "head_scores: at least one head is needed");
  KINDRED_CHECK(out.rows == out.cols, "head_scores: out must be square but is ", out.rows, " x ", out.cols);
  const std::size_t n = out.rows;
  for (std::size_t t = 0; t < heads.size(); ++t) {
    const Head& h = heads[t];
    KINDRED_CHECK(h.user.rows == n && h.peer.rows == n, "head_scores: head ", t, " has ", h.user.rows, " user rows and ",
                  h.peer.rows, " peer rows for a pool of ", n);
    KINDRED_CHECK(h.user.cols == h.peer.cols, "head_scores: head ", t, " has user dim ", h.user.cols, " but peer dim ",
                  h.peer.cols);
    KINDRED_CHECK(std::isfinite(h.weight) && h.weight > 0.0f, "head_scores: head ", t,
                  " needs a finite weight > 0, got ", h.weight);
    KINDRED_CHECK(h.transform.kind != Transform::Kind::kExp || (std::isfinite(h.transform.w) && std::isfinite(h.transform.b)),
                  "head_scores: head ", t, " needs finite w and b, got w = ", h.transform.w, ", b = ", h.transform.b);
  }
}

// Row tiles per GEMM at most: consecutive row tiles whose filter tiles agree (in a pool ordered by
// its filters, most of each group) share their GEMMs, so the peer block is packed once per 256
// rows instead of once per 32 (at N = 10,000 that packing had cost as much memory traffic as the
// output itself).
constexpr std::size_t kGroupTiles = 8;
// Columns per GEMM at most, so that a group's scores (≤ 256 × 1,024 floats, 1 MB) are still in cache
// when they are transformed.
constexpr std::size_t kGroupColumns = 1024;

// The tiled path: each task is one GEMM, a group of row tiles with the same filter tiles against
// a piece (≤ kGroupColumns) of a run of consecutive column tiles the filters may allow, into scratch
// memory, followed at once by its transform into the output. (Pieces rather than whole groups, so
// that the threads share groups of unequal runs evenly: N = 2,000 has about eight.)
void head_scores_tiled(backend::Backend& backend, const std::vector<Head>& heads, MutableMatrix out,
                       const CancelToken& cancel, const FilterTiles& tiles) {
  const std::size_t n = out.rows, t_size = tiles.tile(), count = tiles.count();
  auto same_tiles = [&](std::size_t a, std::size_t b) {
    for (std::size_t tj = 0; tj < count; ++tj) {
      if (tiles.may_allow(a, tj) != tiles.may_allow(b, tj)) return false;
    }
    return true;
  };
  struct Piece {
    std::size_t r0, rows, c0, cols;
  };
  std::vector<Piece> pieces;
  for (std::size_t first = 0; first < count;) {
    std::size_t last = first + 1;  // the group is row tiles [first, last)
    while (last < count && last - first < kGroupTiles && same_tiles(first, last)) ++last;
    const std::size_t r0 = first * t_size, rows = std::min(last * t_size, n) - r0;
    for (const ColumnRun& run : tiles.column_runs(first, n)) {
      for (std::size_t c0 = run.begin; c0 < run.end; c0 += kGroupColumns) {
        pieces.push_back({r0, rows, c0, std::min(kGroupColumns, run.end - c0)});
      }
    }
    first = last;
  }
  parallel_for(pieces.size(), default_thread_count(), [&](std::size_t p) {
    cancel.throw_if_cancelled();
    const Piece& piece = pieces[p];
    // The GEMM writes scratch rather than the output: it zeroes its target first (beta = 0), a
    // pass of its own over memory when that is the output.
    ScratchVector<float> scores(piece.rows * piece.cols);
    MutableMatrix target(out.row(piece.r0) + piece.c0, piece.rows, piece.cols, out.stride);
    for (std::size_t t = 0; t < heads.size(); ++t) {
      const Head& h = heads[t];
      gemm::pair_scores(backend, h.user.row_block(piece.r0, piece.rows), h.peer.row_block(piece.c0, piece.cols),
                        MutableMatrix(scores.data(), piece.rows, piece.cols), cancel, 1);
      for (std::size_t i = 0; i < piece.rows; ++i) {
        accumulate_transformed(scores.data() + i * piece.cols, target.row(i), piece.cols, h.transform, h.weight, t == 0);
      }
    }
  });
}

}  // namespace

void head_scores(backend::Backend& backend, const std::vector<Head>& heads, MutableMatrix out, const CancelToken& cancel,
                 const HardFilters* filters) {
  validate(heads, out);
  const std::size_t n = out.rows;
  if (n == 0) return;
  if (filters != nullptr && has_attribute_filters(*filters) &&
      backend.info().kind == backend::Kind::kCpu) {
    head_scores_tiled(backend, heads, out, cancel, FilterTiles(*filters, n, kFilterTile));
    return;
  }
  const std::size_t chunk = std::clamp<std::size_t>(kChunkBytes / (n * sizeof(float)), 1, n);
  ScratchVector<float> buffer(heads.size() > 1 ? mul_or_throw(chunk, n, "head_scores: chunk") : 0);
  const int threads = default_thread_count();
  for (std::size_t r0 = 0; r0 < n; r0 += chunk) {
    cancel.throw_if_cancelled();
    const std::size_t rows = std::min(chunk, n - r0);
    MutableMatrix target = out.row_block(r0, rows);
    for (std::size_t t = 0; t < heads.size(); ++t) {
      const Head& h = heads[t];
      // The first head's scores go straight into the output and are transformed in place.
      MutableMatrix scores = t == 0 ? target : MutableMatrix(buffer.data(), rows, n);
      gemm::pair_scores(backend, h.user.row_block(r0, rows), h.peer, scores, cancel);
      parallel_for(rows, threads, [&](std::size_t i) {
        accumulate_transformed(scores.row(i), target.row(i), n, h.transform, h.weight, t == 0);
      });
    }
  }
}

}  // namespace kindred::matching
