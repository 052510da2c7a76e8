// Exact maximum-weight matching on a general graph, as references for the tests:
//   brute_force_matching — DP over vertex subsets, n <= 20;
//   blossom_matching     — Edmonds' weighted blossom algorithm (primal-dual, O(n^3)), any n.
//
// Shared conventions. w is a dense n×n row-major matrix meant to be symmetric; only the entries above
// the diagonal are read (pair {i,j}, i<j, has weight w[i*n+j]); the diagonal is never read. A pair is
// allowed iff that entry is finite (-INFINITY, +INFINITY and NaN all mean "forbidden"). The matching
// maximises the total weight; it need not be perfect or of maximum cardinality, so a pair of weight
// <= 0 is never needed (blossom_matching never uses one, brute_force_matching never uses a negative
// one). Weights are summed in double, in increasing order of the smaller vertex of each pair.
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace kindred::test {

struct ExactMatching {
  std::vector<int> mate;  // mate[i] = partner of i, or -1 when i stays single
  double weight = 0;      // sum of the matched pairs' weights, in double
};

// The weight of `mate` under w, or NaN when mate is not a valid matching of allowed pairs
// (wrong size, partner out of range or itself, mate[mate[i]] != i, or a forbidden pair).
inline double matching_weight(const float* w, int n, const std::vector<int>& mate) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (n < 0 || mate.size() != static_cast<std::size_t>(n)) return nan;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const int j = mate[i];
    if (j == -1) continue;
    if (j < 0 || j >= n || j == i || mate[j] != i) return nan;
    if (j < i) continue;
    const float x = w[static_cast<std::size_t>(i) * n + j];
    if (!std::isfinite(x)) return nan;
    sum += static_cast<double>(x);
  }
  return sum;
}

constexpr int kBruteForceMaxN = 20;

// Exact by DP over subsets: best[S] = the best matching inside vertex set S; the lowest vertex i of S
// either stays single (best[S∖i]) or pairs with some j in S (w_ij + best[S∖{i,j}]). O(2^n · n) time,
// 9 bytes per subset. For n > kBruteForceMaxN (or n < 0) it returns an empty mate and a NaN weight.
inline ExactMatching brute_force_matching(const float* w, int n) {
  ExactMatching r;
  if (n < 0 || n > kBruteForceMaxN) {
    r.weight = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  const std::uint32_t full = (std::uint32_t{1} << n) - 1;
  std::vector<double> best(std::size_t{1} << n, 0.0);
  std::vector<std::int8_t> choice(std::size_t{1} << n, -1);  // partner of S's lowest vertex, -1: single
  for (std::uint32_t s = 1; s <= full; ++s) {
    const int i = __builtin_ctz(s);
    const std::uint32_t rest = s & (s - 1);
    double b = best[rest];
    int c = -1;
    for (std::uint32_t m = rest; m != 0; m &= m - 1) {
      const int j = __builtin_ctz(m);  // j > i
      const float x = w[static_cast<std::size_t>(i) * n + j];
      if (!std::isfinite(x)) continue;
      const double v = static_cast<double>(x) + best[rest & ~(std::uint32_t{1} << j)];
      if (v > b) {
        b = v;
        c = j;
      }
    }
    best[s] = b;
    choice[s] = static_cast<std::int8_t>(c);
  }
  r.mate.assign(static_cast<std::size_t>(n), -1);
  for (std::uint32_t s = full; s != 0;) {
    const int i = __builtin_ctz(s);
    const int j = choice[s];
    s &= ~(std::uint32_t{1} << i);
    if (j >= 0) {
      r.mate[i] = j;
      r.mate[j] = i;
      s &= ~(std::uint32_t{1} << j);
    }
  }
  r.weight = matching_weight(w, n, r.mate);
  return r;
}

namespace detail {

// Edmonds' maximum-weight matching, primal-dual with blossom shrinking and expanding, in the form
// of Galil ("Efficient algorithms for finding maximum matching in graphs", 1986, section 3): each
// stage grows alternating trees from every single vertex, changes the duals by the largest delta that
// keeps them feasible, and ends at an augmentation (or stops the whole run when no augmentation can
// gain weight). Least-slack edges are tracked per vertex / per S-blossom, giving O(n^3) overall.
//
// Graph: only pairs with finite weight > 0 are edges (the others can never help a maximum-weight
// matching). Edge k is the pair i<j with k = i*n + j (the matrix index); its two "endpoints" are
// p = 2k (at i) and p = 2k+1 (at j), and p^1 is the endpoint at the other end.
//
// Duals, in the doubled convention: vertex duals u_v (starting at the largest weight), blossom
// duals z_B (starting at 0). The slack of edge {i,j} is
//     u_i + u_j - 2 w_ij + 2 Σ_{B ⊇ {i,j}} z_B   (>= 0 always: dual feasibility)
// and only edges between different top-level blossoms are ever examined, for which the sum is empty.
// Invariants: matched edges and the edges inside a blossom's cycle have slack 0; u_v >= 0, z_B >= 0;
// all single vertices carry the same (smallest) u, so the run ends optimal when that reaches 0.
// In units of w the dual is U_v = u_v / 2, Z_B = z_B, objective Σ U_v + Σ Z_B (|B|-1)/2.
class WeightedBlossom {
 public:
  WeightedBlossom(const float* w, int n) : n_(n) {
    const std::size_t nn = static_cast<std::size_t>(n) * n;
    w_.assign(nn, 0.0f);
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) {
        const float x = w[static_cast<std::size_t>(i) * n + j];
        if (std::isfinite(x) && x > 0) w_[idx(i, j)] = w_[idx(j, i)] = x;
      }
    const int nb = 2 * n;
    mate_.assign(n, -1);
    label_.assign(nb, 0);
    labelend_.assign(nb, -1);
    inblossom_.resize(n);
    for (int v = 0; v < n; ++v) inblossom_[v] = v;
    parent_.assign(nb, -1);
    childs_.assign(nb, {});
    endps_.assign(nb, {});
    base_.assign(nb, -1);
    for (int v = 0; v < n; ++v) base_[v] = v;
    bestedge_.assign(nb, -1);
    best_slack_.assign(nb, 0.0);
    best_epoch_.assign(nb, -1);
    bestlist_.assign(nb, {});
    has_bestlist_.assign(nb, 0);
    for (int b = nb - 1; b >= n; --b) unused_.push_back(b);
    dual_.assign(nb, 0.0);
    allowed_.assign(nn, 0);
    scratch_.assign(nb, -1);
  }

  void solve() {
    double maxw = 0;
    for (float x : w_) maxw = std::max(maxw, static_cast<double>(x));
    if (maxw <= 0) return;  // no edge worth taking
    for (int v = 0; v < n_; ++v) dual_[v] = maxw;

    for (int stage = 0; stage < n_; ++stage) {  // each stage but the last augments once
      std::fill(label_.begin(), label_.end(), 0);
      std::fill(bestedge_.begin(), bestedge_.end(), -1);
      for (int b = n_; b < 2 * n_; ++b) {
        has_bestlist_[b] = 0;
        bestlist_[b].clear();
      }
      for (int k : allowed_list_) allowed_[idx(k / n_, k % n_)] = allowed_[idx(k % n_, k / n_)] = 0;
      allowed_list_.clear();
      queue_.clear();
      // Every single vertex (they are all top-level: a blossom's base is matched) roots a tree.
      for (int v = 0; v < n_; ++v)
        if (mate_[v] == -1 && label_[inblossom_[v]] == 0) assign_label(v, 1, -1);

      bool augmented = false;
      for (;;) {
        // Grow the trees along tight edges from the S-vertices waiting in the queue.
        while (!queue_.empty() && !augmented) {
          const int v = queue_.back();
          queue_.pop_back();
          const float* row = &w_[static_cast<std::size_t>(v) * n_];
          const char* allowed_row = &allowed_[static_cast<std::size_t>(v) * n_];
          // These vectors never change size, so their data pointers stay valid; v's dual does not
          // change during the scan. The best slack of v's blossom is kept in a local, refreshed
          // whenever the slow path (which may form a blossom around v) ran.
          const int* inb = inblossom_.data();
          const int* lab = label_.data();
          const double* du = dual_.data();
          const double dv = du[v];
          int bv = inb[v];
          double bv_best = bestedge_[bv] == -1 ? std::numeric_limits<double>::infinity() : best_slack(bv);
          for (int w = 0; w < n_; ++w) {
            const float wt = row[w];
            if (!(wt > 0)) continue;  // not an edge (the diagonal is 0 too)
            const int bw = inb[w];
            if (bv == bw) continue;
            if (!allowed_row[w]) {
              const double ks = dv + du[w] - 2.0 * static_cast<double>(wt);
              if (ks > 0) {
                // Not tight: only remember least-slack edges, to an S-blossom for v's blossom,
                // to a vertex not yet reached for that vertex.
                if (lab[bw] == 1) {
                  if (ks < bv_best) {
                    set_best(bv, edge_of(v, w), ks);
                    bv_best = ks;
                  }
                } else if (lab[w] == 0) {
                  if (bestedge_[w] == -1 || ks < best_slack(w)) set_best(w, edge_of(v, w), ks);
                }
                continue;
              }
              set_allowed(edge_of(v, w));
            }
            // A tight edge.
            const int k = edge_of(v, w);
            if (lab[bw] == 0) {
              assign_label(w, 2, end_at(k, v));  // w's blossom joins the tree as T
            } else if (lab[bw] == 1) {
              // S to S: either a new blossom (same tree) or an augmenting path (two trees).
              const int base = scan_blossom(v, w);
              if (base >= 0) {
                add_blossom(base, k);
              } else {
                augment_matching(k);
                augmented = true;
                break;
              }
            } else if (lab[w] == 0) {
              // w sits in a T-blossom but was not reached yet; remember how, for expand_blossom.
              label_[w] = 2;
              labelend_[w] = end_at(k, v);
            }
            bv = inb[v];
            bv_best = bestedge_[bv] == -1 ? std::numeric_limits<double>::infinity() : best_slack(bv);
          }
        }
        if (augmented) break;

        // No tight edge left to use: change the duals by the largest feasible delta.
        //   1: an S-vertex dual reaches 0 (then nothing can gain weight: done);
        //   2: an edge from an S-vertex to a free vertex becomes tight;
        //   3: an edge between two S-blossoms becomes tight (its slack falls by 2·delta);
        //   4: a T-blossom's dual reaches 0 (it gets expanded).
        int type = 1, dedge = -1, dblossom = -1;
        double delta = dual_[0];
        for (int v = 1; v < n_; ++v) delta = std::min(delta, dual_[v]);
        for (int v = 0; v < n_; ++v)
          if (label_[inblossom_[v]] == 0 && bestedge_[v] != -1) {
            const double d = best_slack(v);
            if (d < delta) delta = d, type = 2, dedge = bestedge_[v];
          }
        for (int b = 0; b < 2 * n_; ++b)
          if (parent_[b] == -1 && label_[b] == 1 && bestedge_[b] != -1) {
            const double d = best_slack(b) / 2;
            if (d < delta) delta = d, type = 3, dedge = bestedge_[b];
          }
        for (int b = n_; b < 2 * n_; ++b)
          if (base_[b] >= 0 && parent_[b] == -1 && label_[b] == 2 && dual_[b] < delta)
            delta = dual_[b], type = 4, dblossom = b;
        if (delta < 0) delta = 0;  // only rounding can make a slack negative: never move backwards
        ++epoch_;                  // every cached slack is stale from here

        for (int v = 0; v < n_; ++v) {
          const int l = label_[inblossom_[v]];
          if (l == 1) dual_[v] -= delta;
          else if (l == 2) dual_[v] += delta;
        }
        for (int b = n_; b < 2 * n_; ++b)
          if (base_[b] >= 0 && parent_[b] == -1) {
            if (label_[b] == 1) dual_[b] += delta;
            else if (label_[b] == 2) dual_[b] -= delta;
          }

        if (type == 1) break;
        if (type == 2) {
          set_allowed(dedge);
          int i = dedge / n_;
          if (label_[inblossom_[i]] == 0) i = dedge % n_;
          queue_.push_back(i);  // rescan its S end
        } else if (type == 3) {
          set_allowed(dedge);
          queue_.push_back(dedge / n_);
        } else {
          expand_blossom(dblossom, false);
        }
      }
      if (!augmented) break;
      // Between stages, S-blossoms whose dual is 0 are no longer needed.
      for (int b = n_; b < 2 * n_; ++b)
        if (parent_[b] == -1 && base_[b] >= 0 && label_[b] == 1 && dual_[b] == 0) expand_blossom(b, true);
    }
  }

  std::vector<int> mate_vertices() const {
    std::vector<int> out(n_, -1);
    for (int v = 0; v < n_; ++v)
      if (mate_[v] >= 0) out[v] = end_vertex(mate_[v]);
    return out;
  }

  // The dual solution left behind, in units of w: the smallest edge slack (U_i + U_j + Σ Z_B - w_ij,
  // over every allowed pair; >= 0 when feasible, pairs with w <= 0 are implied by duals >= 0), the
  // smallest dual variable, and the dual objective (>= every matching's weight when feasible).
  struct Certificate {
    double min_slack = 0;
    double min_dual = 0;
    double dual_objective = 0;
  };
  Certificate certificate() const {
    Certificate c;
    std::vector<double> zsum(2 * n_, 0.0);  // Σ z over the blossom and its ancestors
    std::vector<int> depth(2 * n_, 0);
    // Ancestors have larger or smaller numbers, so resolve by walking up (depth is small).
    for (int b = 0; b < 2 * n_; ++b) {
      if (b >= n_ && base_[b] < 0) continue;
      for (int a = b; a != -1; a = parent_[a]) {
        if (a >= n_) zsum[b] += dual_[a];
        ++depth[b];
      }
    }
    c.min_dual = std::numeric_limits<double>::infinity();
    for (int v = 0; v < n_; ++v) {
      c.min_dual = std::min(c.min_dual, dual_[v]);
      c.dual_objective += dual_[v] / 2;
    }
    for (int b = n_; b < 2 * n_; ++b) {
      if (base_[b] < 0) continue;
      int size = 0;
      for_each_leaf(b, [&](int) { ++size; });
      c.min_dual = std::min(c.min_dual, dual_[b]);
      c.dual_objective += dual_[b] * (size - 1) / 2;
    }
    c.min_slack = std::numeric_limits<double>::infinity();
    for (int i = 0; i < n_; ++i)
      for (int j = i + 1; j < n_; ++j) {
        const float wt = w_[idx(i, j)];
        if (!(wt > 0)) continue;
        // Lowest common blossom of i and j (if any) by walking the deeper one up.
        int a = i, b = j;
        while (a != b && a != -1 && b != -1) {
          if (depth[a] >= depth[b]) a = parent_[a];
          else b = parent_[b];
        }
        const double z = (a == b && a != -1) ? zsum[a] : 0.0;
        c.min_slack = std::min(c.min_slack, (dual_[i] + dual_[j]) / 2 + z - static_cast<double>(wt));
      }
    if (n_ == 0) c.min_dual = 0;
    return c;
  }

 private:
  std::size_t idx(int a, int b) const { return static_cast<std::size_t>(a) * n_ + b; }
  int edge_of(int a, int b) const { return a < b ? a * n_ + b : b * n_ + a; }
  int end_vertex(int p) const {
    const int k = p >> 1;
    return (p & 1) ? k % n_ : k / n_;
  }
  int end_at(int k, int x) const { return 2 * k + (x == k / n_ ? 0 : 1); }  // endpoint of k at x
  double slack(int k) const {
    return dual_[k / n_] + dual_[k % n_] - 2.0 * static_cast<double>(w_[static_cast<std::size_t>(k)]);
  }
  // bestedge_[x]'s slack, cached until the duals next change.
  double best_slack(int x) {
    if (best_epoch_[x] != epoch_) {
      best_epoch_[x] = epoch_;
      best_slack_[x] = slack(bestedge_[x]);
    }
    return best_slack_[x];
  }
  void set_best(int x, int k, double ks) {
    bestedge_[x] = k;
    best_slack_[x] = ks;
    best_epoch_[x] = epoch_;
  }
  void set_allowed(int k) {
    const int i = k / n_, j = k % n_;
    if (!allowed_[idx(i, j)]) allowed_list_.push_back(k);
    allowed_[idx(i, j)] = allowed_[idx(j, i)] = 1;
  }
  template <typename F>
  void for_each_leaf(int b, F&& f) const {
    if (b < n_) {
      f(b);
      return;
    }
    for (int c : childs_[b]) for_each_leaf(c, f);
  }
  int cyc(int j, int len) const { return ((j % len) + len) % len; }

  // Labels w's top-level blossom S (t=1) or T (t=2), reached through endpoint p (at the labelling
  // side; -1 for a root). A T-blossom's base is matched, and its mate's blossom becomes S.
  void assign_label(int w, int t, int p) {
    const int b = inblossom_[w];
    assert(label_[w] == 0 && label_[b] == 0);
    label_[w] = label_[b] = t;
    labelend_[w] = labelend_[b] = p;
    bestedge_[w] = bestedge_[b] = -1;
    if (t == 1) {
      for_each_leaf(b, [&](int v) { queue_.push_back(v); });  // S-vertices get scanned
    } else {
      const int mp = mate_[base_[b]];
      assert(mp >= 0);
      assign_label(end_vertex(mp), 1, mp ^ 1);
    }
  }

  // Walks from S-vertices v and w towards their roots, alternately; returns the base of the first
  // common blossom (a new blossom closes there), or -1 if the roots differ (an augmenting path).
  int scan_blossom(int v, int w) {
    std::vector<int> path;
    int base = -1;
    while (v != -1 || w != -1) {
      if (v != -1) {
        int b = inblossom_[v];
        if (label_[b] & 4) {
          base = base_[b];
          break;
        }
        assert(label_[b] == 1);
        path.push_back(b);
        label_[b] = 5;  // S, visited
        if (labelend_[b] == -1) {
          v = -1;  // reached the root
        } else {
          v = end_vertex(labelend_[b]);
          b = inblossom_[v];  // a T-blossom
          v = end_vertex(labelend_[b]);
        }
      }
      if (w != -1) std::swap(v, w);
    }
    for (int b : path) label_[b] = 1;
    return base;
  }

  // Shrinks the odd cycle closed by tight edge k (between two S-blossoms of one tree) into a new
  // S-blossom. childs_[b] lists the sub-blossoms around the cycle starting at the base's one;
  // endps_[b][i] is the endpoint, inside childs[i], of the edge joining childs[i] and childs[i+1].
  void add_blossom(int base, int k) {
    int v = k / n_, w = k % n_;
    const int bb = inblossom_[base];
    int bv = inblossom_[v], bw = inblossom_[w];
    const int b = unused_.back();
    unused_.pop_back();
    base_[b] = base;
    parent_[b] = -1;
    parent_[bb] = b;
    std::vector<int>& path = childs_[b];
    std::vector<int>& endps = endps_[b];
    path.clear();
    endps.clear();
    while (bv != bb) {  // from v's side back to the base
      parent_[bv] = b;
      path.push_back(bv);
      endps.push_back(labelend_[bv]);
      v = end_vertex(labelend_[bv]);
      bv = inblossom_[v];
    }
    path.push_back(bb);
    std::reverse(path.begin(), path.end());
    std::reverse(endps.begin(), endps.end());
    endps.push_back(2 * k);  // at k / n_, the v side
    while (bw != bb) {  // then w's side, onwards to the base
      parent_[bw] = b;
      path.push_back(bw);
      endps.push_back(labelend_[bw] ^ 1);
      w = end_vertex(labelend_[bw]);
      bw = inblossom_[w];
    }
    label_[b] = 1;
    labelend_[b] = labelend_[bb];
    dual_[b] = 0;
    for_each_leaf(b, [&](int x) {
      if (label_[inblossom_[x]] == 2) queue_.push_back(x);  // former T-vertices are S now
      inblossom_[x] = b;
    });

    // The new blossom's least-slack edge to every other S-blossom, from the children's lists (or,
    // for children without one, from all their vertices' edges).
    std::vector<int> touched;
    auto consider = [&](int kk) {
      int j = kk % n_;
      if (inblossom_[j] == b) j = kk / n_;
      const int bj = inblossom_[j];
      if (bj == b || label_[bj] != 1) return;
      if (scratch_[bj] == -1) {
        touched.push_back(bj);
        scratch_[bj] = kk;
      } else if (slack(kk) < slack(scratch_[bj])) {
        scratch_[bj] = kk;
      }
    };
    for (int c : path) {
      if (has_bestlist_[c]) {
        for (int kk : bestlist_[c]) consider(kk);
      } else {
        for_each_leaf(c, [&](int x) {
          const float* row = &w_[static_cast<std::size_t>(x) * n_];
          for (int y = 0; y < n_; ++y)
            if (row[y] > 0) consider(edge_of(x, y));
        });
      }
      has_bestlist_[c] = 0;
      bestlist_[c].clear();
      bestedge_[c] = -1;
    }
    bestlist_[b].clear();
    bestedge_[b] = -1;
    for (int bj : touched) {
      const int kk = scratch_[bj];
      scratch_[bj] = -1;
      bestlist_[b].push_back(kk);
      const double ks = slack(kk);
      if (bestedge_[b] == -1 || ks < best_slack(b)) set_best(b, kk, ks);
    }
    has_bestlist_[b] = 1;
  }

  // Dissolves top-level blossom b into its children. Mid-stage (a T-blossom whose dual reached 0) the
  // children on the even path from the entry child to the base keep the tree alternating as T/S/T...;
  // the others become free unless one of their vertices was already reached from an S-vertex.
  // At a stage's end, children with dual 0 are dissolved too.
  void expand_blossom(int b, bool endstage) {
    for (int s : childs_[b]) {
      parent_[s] = -1;
      if (s < n_) {
        inblossom_[s] = s;
      } else if (endstage && dual_[s] == 0) {
        expand_blossom(s, endstage);
      } else {
        for_each_leaf(s, [&](int x) { inblossom_[x] = s; });
      }
    }
    if (!endstage && label_[b] == 2) {
      const std::vector<int>& ch = childs_[b];
      const std::vector<int>& ep = endps_[b];
      const int len = static_cast<int>(ch.size());
      const int entry = inblossom_[end_vertex(labelend_[b] ^ 1)];
      int j = static_cast<int>(std::find(ch.begin(), ch.end(), entry) - ch.begin());
      int jstep, trick;  // walk the even-length way round to the base (index 0)
      if (j & 1) {
        j -= len;
        jstep = 1;
        trick = 0;
      } else {
        jstep = -1;
        trick = 1;
      }
      int p = labelend_[b];
      while (j != 0) {
        label_[end_vertex(p ^ 1)] = 0;
        label_[end_vertex(ep[cyc(j - trick, len)] ^ trick ^ 1)] = 0;
        assign_label(end_vertex(p ^ 1), 2, p);  // T, and its mate's child S
        set_allowed(ep[cyc(j - trick, len)] >> 1);
        j += jstep;
        p = ep[cyc(j - trick, len)] ^ trick;
        set_allowed(p >> 1);
        j += jstep;
      }
      // The base child becomes T, keeping b's matched edge to the S-vertex above.
      int bv = ch[cyc(j, len)];
      label_[end_vertex(p ^ 1)] = label_[bv] = 2;
      labelend_[end_vertex(p ^ 1)] = labelend_[bv] = p;
      bestedge_[bv] = -1;
      j += jstep;
      while (ch[cyc(j, len)] != entry) {
        bv = ch[cyc(j, len)];
        if (label_[bv] == 1) {  // already S through a neighbour
          j += jstep;
          continue;
        }
        int reached = -1;
        std::vector<int> leaves;
        for_each_leaf(bv, [&](int x) { leaves.push_back(x); });
        for (int x : leaves)
          if (label_[x] != 0) {
            reached = x;
            break;
          }
        if (reached != -1) {
          assert(label_[reached] == 2 && inblossom_[reached] == bv);
          label_[reached] = 0;
          label_[end_vertex(mate_[base_[bv]])] = 0;
          assign_label(reached, 2, labelend_[reached]);
        }
        j += jstep;
      }
    }
    label_[b] = labelend_[b] = -1;
    childs_[b].clear();
    endps_[b].clear();
    base_[b] = -1;
    has_bestlist_[b] = 0;
    bestlist_[b].clear();
    bestedge_[b] = -1;
    unused_.push_back(b);
  }

  // Flips matched/unmatched along the even path inside blossom b from vertex v to the base, so that
  // v becomes b's base (the cycle is rotated to start at v's child).
  void augment_blossom(int b, int v) {
    int t = v;
    while (parent_[t] != b) t = parent_[t];
    if (t >= n_) augment_blossom(t, v);
    std::vector<int>& ch = childs_[b];
    std::vector<int>& ep = endps_[b];
    const int len = static_cast<int>(ch.size());
    const int i = static_cast<int>(std::find(ch.begin(), ch.end(), t) - ch.begin());
    int j = i, jstep, trick;
    if (i & 1) {
      j -= len;
      jstep = 1;
      trick = 0;
    } else {
      jstep = -1;
      trick = 1;
    }
    while (j != 0) {
      j += jstep;
      t = ch[cyc(j, len)];
      const int p = ep[cyc(j - trick, len)] ^ trick;
      if (t >= n_) augment_blossom(t, end_vertex(p));
      j += jstep;
      t = ch[cyc(j, len)];
      if (t >= n_) augment_blossom(t, end_vertex(p ^ 1));
      mate_[end_vertex(p)] = p ^ 1;
      mate_[end_vertex(p ^ 1)] = p;
    }
    std::rotate(ch.begin(), ch.begin() + i, ch.end());
    std::rotate(ep.begin(), ep.begin() + i, ep.end());
    base_[b] = base_[ch[0]];
  }

  // Augments along tight edge k joining two trees: from each end back to its tree's root.
  void augment_matching(int k) {
    for (int side = 0; side < 2; ++side) {
      int s = side == 0 ? k / n_ : k % n_;
      int p = side == 0 ? 2 * k + 1 : 2 * k;  // the endpoint at s's new partner
      for (;;) {
        const int bs = inblossom_[s];
        assert(label_[bs] == 1);
        if (bs >= n_) augment_blossom(bs, s);
        mate_[s] = p;
        if (labelend_[bs] == -1) break;  // reached the (single) root
        const int t = end_vertex(labelend_[bs]);
        const int bt = inblossom_[t];
        assert(label_[bt] == 2);
        s = end_vertex(labelend_[bt]);
        const int j = end_vertex(labelend_[bt] ^ 1);
        if (bt >= n_) augment_blossom(bt, j);
        mate_[j] = labelend_[bt];
        p = labelend_[bt] ^ 1;
      }
    }
  }

  int n_;
  std::vector<float> w_;                   // symmetric copy; 0 where there is no edge
  std::vector<int> mate_;                  // vertex -> endpoint at its partner, or -1
  std::vector<int> label_;                 // vertex / top-level blossom: 0 free, 1 S, 2 T (+4: scan mark)
  std::vector<int> labelend_;              // endpoint (labelling side) that gave the label; -1 at roots
  std::vector<int> inblossom_;             // vertex -> its top-level blossom (or itself)
  std::vector<int> parent_;                // vertex / blossom -> enclosing blossom, or -1
  std::vector<std::vector<int>> childs_;   // blossom -> sub-blossoms around its cycle, base's first
  std::vector<std::vector<int>> endps_;    // blossom -> endpoints of the cycle's edges (see add_blossom)
  std::vector<int> base_;                  // vertex / blossom -> its base vertex; -1: blossom unused
  std::vector<int> bestedge_;              // free vertex: least-slack edge to an S-vertex;
                                           // S-blossom: least-slack edge to another S-blossom
  std::vector<double> best_slack_;         // cache of slack(bestedge_[x]), valid while
  std::vector<std::int64_t> best_epoch_;   // best_epoch_[x] == epoch_ (bumped at every dual change)
  std::int64_t epoch_ = 0;
  std::vector<std::vector<int>> bestlist_; // S-blossom: least-slack edge to each other S-blossom
  std::vector<char> has_bestlist_;
  std::vector<int> unused_;                // free blossom numbers (n .. 2n-1)
  std::vector<double> dual_;               // u_v for v < n, z_B for blossoms
  std::vector<char> allowed_;              // n×n, symmetric: edge known tight in this stage
  std::vector<int> allowed_list_;          // which ones, to clear at the next stage
  std::vector<int> queue_;                 // S-vertices to scan
  std::vector<int> scratch_;               // add_blossom's per-blossom best edge, kept at -1
};

}  // namespace detail

// Maximum-weight matching by Edmonds' blossom algorithm, O(n^3) time, ~5·n² bytes. Exact up to
// double rounding of the duals (exact when all weights are multiples of a common power of two and
// the sums stay within 2^53 of it). Requires n <= 32767 (edge numbers are int); returns an empty
// mate and a NaN weight otherwise.
inline ExactMatching blossom_matching(const float* w, int n) {
  ExactMatching r;
  if (n < 0 || n > 32767) {
    r.weight = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  detail::WeightedBlossom solver(w, n);
  solver.solve();
  r.mate = solver.mate_vertices();
  r.weight = matching_weight(w, n, r.mate);
  return r;
}

}  // namespace kindred::test
