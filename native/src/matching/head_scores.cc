#include "kindred/matching/head_scores.h"

#include <algorithm>
#include <cmath>

#include "kindred/core/check.h"
#include "kindred/core/parallel.h"
#include "kindred/gemm/pair_scores.h"

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

}  // namespace

void head_scores(backend::Backend& backend, const std::vector<Head>& heads, MutableMatrix out, const CancelToken& cancel) {
  validate(heads, out);
  const std::size_t n = out.rows;
  if (n == 0) return;
  const std::size_t chunk = std::clamp<std::size_t>(kChunkBytes / (n * sizeof(float)), 1, n);
  std::vector<float> buffer(heads.size() > 1 ? mul_or_throw(chunk, n, "head_scores: chunk") : 0);
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
