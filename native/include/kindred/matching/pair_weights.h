// Pair weights: the scores of a pool against itself (S = users · peersᵀ, n × n) turned, in place,
// into the symmetric weight matrix a matcher maximizes over:
//   W[i][j] = W[j][i] = f(S[i][j]) + f(S[j][i])   for allowed pairs i != j
//   W[i][j] = -INFINITY                             for forbidden pairs and the diagonal.
// One fused, tiled pass: each tile is handled together with its mirror tile while both are in cache.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"
#include "kindred/matching/hard_filters.h"

namespace kindred::matching {

// f(s): kIdentity is s; kExp is exp(w·s + b), with w·s + b kept exact to well below a float ulp (so
// the weight's error is exp's own, about 1 ulp, however large w·s + b is; see fast_expf).
struct Transform {
  enum class Kind { kIdentity, kExp };
  Kind kind = Kind::kExp;
  float w = 1.0f;
  float b = 0.0f;
};

struct PairWeightsStats {
  std::size_t allowed_pairs = 0;  // unordered pairs i < j left with a finite weight (after `blocked`)
  double seconds_filters = 0;     // wall time of the whole fused pass (filters, transform, blocked)
};

// scores → weights in place. `scores` must be square (rows == cols, any stride >= cols); every filter
// array holds n entries and is only read. Runs on `threads` threads (<= 0: default_thread_count())
// and polls `cancel` between tiles. Results do not depend on the thread count.
//
// Throws kindred::Error:
//   kInvalidArgument  a non-square matrix, a null array, non-finite w or b (kExp), an attr >= 32, a
//                     blocked id outside [0, n) — all checked before anything is written; or an
//                     allowed pair whose weight is not finite: "transform overflows float at pair
//                     (i, j): ..." — exp(w·s + b) > FLT_MAX, two terms summing past ±FLT_MAX, a NaN
//                     score, +inf under kExp (w > 0), ±inf under kIdentity. Forbidden pairs (filters,
//                     blocked, the diagonal) are never an error, whatever their scores.
//   kCancelled        the token fired.
// After a kInvalidArgument about a weight, or kCancelled, `scores` is left partially transformed:
// recompute the scores before trying again.
// `names`, optional: the index an error gives for row i is names[i] (a caller that reordered its
// pool, as FilterOrder does, names pairs in its users' own indices); null: i itself.
PairWeightsStats pair_weights(MutableMatrix scores, const Transform& transform, const HardFilters& filters,
                              const CancelToken& cancel, int threads, const std::int32_t* names = nullptr);

// The exp used by the kExp transform, one value at a time (the transform runs the same code, eight
// lanes at a time): e^x rounded to float, +inf past log(FLT_MAX) ≈ 88.72, 0 below ≈ -103.97, subnormals
// in between, NaN for NaN. Error over the float range: at most about 1.05 ulp (relative < 9e-8 for
// normal results) on AVX2+FMA CPUs, 0.53 ulp with the double-precision fallback used elsewhere.
float fast_expf(float x) noexcept;

// acc[k] = (assign ? 0 : acc[k]) + weight · f(scores[k]) for k < count, f the transform, through the
// same exp as pair_weights (weight folded into the exponent as + ln weight). `scores` and `acc` may be
// the same array. weight must be finite and > 0, w and b finite: the caller checks (see head_scores).
void accumulate_transformed(const float* scores, float* acc, std::size_t count, const Transform& transform,
                            float weight, bool assign) noexcept;

}  // namespace kindred::matching
