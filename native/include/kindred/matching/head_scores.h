// Head scores: a pool's directional predicted outcomes summed over several prediction heads,
//   Y[i][j] = Σ_t weight_t · f_t(user_t[i] · peer_t[j])
// (e.g. chat duration plus a weighted "like" head, each with its own projection and transform).
// pair_weights with the identity transform then makes Y + Yᵀ the symmetric pair weight.
// Row chunks keep each head's scores in cache while they are transformed and summed, so only one
// n × n matrix (the output) is ever written.
#pragma once

#include <vector>

#include "kindred/backend/backend.h"
#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"
#include "kindred/matching/hard_filters.h"
#include "kindred/matching/pair_weights.h"

namespace kindred::matching {

struct Head {
  ConstMatrix user;  // n × d_t, row i = user i's chooser vector for this head (projected)
  ConstMatrix peer;  // n × d_t, row j = user j's partner vector for this head
  Transform transform;
  float weight = 1.0f;  // > 0
};

// out (n × n, any stride ≥ n) = Σ_t weight_t · f_t(user_t · peer_tᵀ), directional (not symmetric).
// With `filters` (mutual or overlap ones) on a CPU backend, tiles of 32 × 32 pairs that the filters
// forbid entirely are skipped: their entries are left as they were, to be set to −∞ by pair_weights
// like every forbidden pair. Users ordered by their filter attributes make such tiles common (on
// the bundled world's pools ordered by gender and wants, about half the matrix). Every entry the filters allow is computed as without
// `filters` (up to the GEMM's rounding on a smaller block).
// Throws kInvalidArgument for no heads, shapes that disagree, a weight that is not finite and > 0,
// or a non-finite w or b; kCancelled when the token fires.
void head_scores(backend::Backend& backend, const std::vector<Head>& heads, MutableMatrix out, const CancelToken& cancel,
                 const HardFilters* filters = nullptr);

}  // namespace kindred::matching
