// Each matched pair's predicted outcome in both directions, ŷ(a→b) = Σ_t weight_t · f_t(user_t[a] ·
// peer_t[b]), in double precision from the heads' float vectors: what a caller shows or logs for
// the pairs it got, computed where the vectors are (a few thousand short dot products) instead of
// in JavaScript on the main thread after the call.
#pragma once

#include <cstdint>
#include <vector>

#include "kindred/matching/head_scores.h"

namespace kindred::matching {

// For every i with mate[i] = j > i, in increasing i: ŷ(i→j), then ŷ(j→i). Heads as head_scores
// takes them (rows = the mate array's users); mate[i] is −1 or a user index.
std::vector<double> pair_predictions(const std::vector<Head>& heads, const std::vector<std::int32_t>& mate);

}  // namespace kindred::matching
