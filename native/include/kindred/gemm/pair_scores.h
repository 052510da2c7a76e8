// Pair scores: every row of `a` against every row of `b` by dot product, as one GEMM (c = a · bᵀ).
#pragma once

#include "kindred/backend/backend.h"
#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"

namespace kindred::gemm {

// c[i][j] = Σ_k a[i][k] · b[j][k]. Checks that a.cols == b.cols, c is a.rows × b.rows, and that no
// view is null while non-empty; then runs on `backend`. Non-finite inputs follow IEEE-754 (NaN in a
// row gives NaN in that row's scores); the TypeScript API rejects them before they get here.
// max_threads: see Backend::gemm_abt (1 = on the calling thread only).
void pair_scores(backend::Backend& backend, ConstMatrix a, ConstMatrix b, MutableMatrix c,
                 const CancelToken& cancel, int max_threads = 0);

}  // namespace kindred::gemm
