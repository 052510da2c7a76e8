// Near-optimal maximum-weight matching on a general graph given as a dense symmetric weight matrix,
// with a certified upper bound on the optimum.
//
// Method (dual prices + sparse auction + repair):
//  1. Candidate selection: each vertex keeps its top-k partners by reduced weight w(i,j) − y(j),
//     where y is the symmetric dual of the last auction (at first, a guess from a sample of each
//     row). It corrects for hubness: a peer everyone wants becomes expensive, so lists stop
//     collapsing onto the same popular users. The lists are made nearly symmetric and carry their
//     edge weights.
//  2. An ε-scaling forward auction solves the bipartite relaxation: a perfect assignment i → σ(i)
//     of the double cover with a zero-weight self-loop per vertex (σ(i) = i: stays single). Steps
//     1–2 repeat, each dense pass re-selecting candidates with the newest duals, for at most
//     `rounds`: they stop once half the last assignment's weight is within 0.2% of a bound for its
//     prices (the new pass's, or, before that pass, a tightened one: see 4.).
//  3. The assignment's cycles are turned into a matching by an exact DP on each one, then improved
//     by local search (free vertices, augmenting paths of length 3, 2-swaps among candidates).
//     Up to 16 vertices the answer is exact (subset DP) instead.
//  4. Every dense pass, and one streaming pass after the last auction, yields a feasible dual of the
//     fractional-matching LP ((π(i) + p(i)) / 2 with π(i) = max_j w(i,j) − p(j) including the
//     self-loop), so its sum is an upper bound on the optimum; the smallest one seen is reported.
//     Feeding such a dual back in as the prices gives another, tighter one ("tightening"): a few
//     of these streaming passes often settle the rounds after the first auction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kindred/core/cancel.h"
#include "kindred/core/matrix_view.h"
#include "kindred/matching/hard_filters.h"

namespace kindred::matching {

struct MaxWeightOptions {
  int candidates = 48;  // partners kept per vertex in the sparse graph (2..256); doubled (up to 256)
                        // when the gap to the bound stays wide from one round to the next
  int rounds = 4;       // at most this many pricing rounds (dense candidate pass + auction), 1..16,
                        // plus one for each time the lists are doubled (at most twice)
  int threads = 0;      // for the dense passes; ≤ 0 → default_thread_count()
};

struct MaxWeightResult {
  std::vector<std::int32_t> mate;  // partner of each vertex, or −1
  double total_weight = 0;         // Σ w over matched pairs (each pair once), in double
  double upper_bound = 0;          // ≥ the optimum's weight
  std::size_t pairs = 0;
  int auctions = 0;                // pricing rounds whose auction ran (fewer than options.rounds once settled)
  int tightening_passes = 0;       // dual-tightening passes spent on the bound (see max_weight.cc, tighten_bound)
  int candidates = 0;              // partners per vertex in the last lists: options.candidates, or more
                                   // where the pool needed longer lists (see max_weight.cc, list growth)
  // Where the time went (seconds): dense candidate passes, sparse graph building, auctions, and
  // turning the assignment into a matching plus local search.
  double seconds_candidates = 0, seconds_graph = 0, seconds_auction = 0, seconds_repair = 0;
};

// Why `weights` cannot be matched as given, or "" when it can: it must be square and symmetric
// (w(i,j) == w(j,i) bit for bit, or both −∞), with no NaN or +∞. O(n²), read-only.
std::string weights_problem(ConstMatrix weights);

// weights: n×n, symmetric, −∞ (or any non-finite or ≤ 0 value) = never paired. Only pairs with
// positive finite weight are used: a pair of weight ≤ 0 never raises the total. Throws
// kInvalidArgument for a non-square matrix or bad options, kCancelled when `cancel` fires.
//
// `filters`, optional: the filters the weights were built with (pair_weights), for their forbidden
// tiles — every pair in a tile of 32 × 32 users that FilterTiles rules out must be unusable in
// `weights` (pair_weights makes it −∞). The dense passes then skip those tiles: the same answer,
// less to read when users are in filter order (FilterOrder).
MaxWeightResult max_weight_matching(ConstMatrix weights, const MaxWeightOptions& options, const CancelToken& cancel,
                                    const HardFilters* filters = nullptr);

}  // namespace kindred::matching
