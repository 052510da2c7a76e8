/**
 * The result shape shared by {@link matchWeights} and {@link matchEmbeddings}, and the knobs both take.
 */
import { integerInRange, optionsObject } from '../core/validate.js';
import type { BackendName } from '../native/backends.js';
import type { NativeMatchResult, NativeMatchTuning } from '../native/binding.js';

/** The largest pool a matcher takes: its n×n weights must fit one Float32Array. */
export const MAX_POOL = 46_340;

/** Tuning of the matcher. The defaults suit pools of 1,000–20,000. */
export interface MatchTuning {
  /**
   * Partners kept per user in the sparse candidate graph, re-selected each round by weight minus
   * the partner's dual price (which corrects for popular users). 2–256, default 48. A starting
   * length: when the gap to the bound stays wide from one round to the next (lists of look-alike
   * or duplicated users spend their slots on copies of the same partners), the matcher doubles
   * the lists, at most twice and up to 256, with one more round each time.
   */
  candidates?: number;
  /**
   * At most this many pricing rounds (dense candidate pass + auction), 1–16, default 4. The
   * matcher stops earlier once half its last assignment's weight is within 0.2% of the bound of
   * its prices (measured: one auction at N = 2,000, two at 3,000–10,000), so this is a cap on the
   * work for hard pools rather than a count. A lower cap trades the bound (and some weight) for time.
   */
  rounds?: number;
}

/** What a matcher returns. */
export interface MatchResult {
  /** Matched pairs, flat: [a0, b0, a1, b1, …] with a < b, ordered by a. */
  pairs: Int32Array;
  /** Users left without a partner, ascending. */
  unmatched: Int32Array;
  /** Σ of the pair weights w(a, b) over `pairs`. */
  totalWeight: number;
  /**
   * A certified upper bound on the best possible total weight (from a feasible dual of the
   * fractional matching LP): the answer is within `totalWeight / upperBound` of optimal, or closer.
   */
  upperBound: number;
  /** Milliseconds per stage: scores (GEMM), filters (transform + hard filters), matching. */
  timings: { scores: number; filters: number; matching: number };
  /** The backend that computed the scores, or null when the caller gave the weights. */
  backend: BackendName | null;
  /**
   * {@link matchEmbeddings} only, when its mutual filters were not already grouped: the users'
   * order in `options.buffer`, whose row k holds the pair weights of user `bufferOrder[k]` (the
   * matcher works on the pool reordered so that users the filters treat alike sit together, and
   * skips the tiles the filters forbid). Absent: the buffer is in pool order. `pairs` and
   * `unmatched` are always in pool indices.
   */
  bufferOrder?: Int32Array;
  /**
   * {@link matchEmbeddings} only: each pair's predicted outcome in both directions, two numbers per
   * pair in the order of `pairs` — ŷ(a→b) then ŷ(b→a), where ŷ(i→j) = Σ heads' weight ·
   * transform(user_i · peer_j) (one head: transform(user_i · peer_j)) — in double precision from
   * the float vectors, so `predicted[2p] + predicted[2p + 1]` is pair p's weight up to float rounding.
   */
  predicted?: Float64Array;
}

/** Checks the tuning fields of `options` (named under `argument`). */
export function matchTuning(options: MatchTuning, argument: string): NativeMatchTuning {
  const opts = optionsObject<MatchTuning>(options, argument);
  const tuning: NativeMatchTuning = {};
  if (opts.candidates !== undefined) tuning.candidates = integerInRange(opts.candidates, `${argument}.candidates`, 2, 256);
  if (opts.rounds !== undefined) tuning.rounds = integerInRange(opts.rounds, `${argument}.rounds`, 1, 16);
  return tuning;
}

/** The addon's per-user partner array as pairs and unmatched users. */
export function toMatchResult(native: NativeMatchResult): MatchResult {
  const { mate } = native;
  const pairs = new Int32Array(native.pairs * 2);
  const unmatched = new Int32Array(mate.length - native.pairs * 2);
  let p = 0;
  let u = 0;
  for (let i = 0; i < mate.length; i++) {
    const j = mate[i]!;
    if (j < 0) unmatched[u++] = i;
    else if (j > i) {
      pairs[p++] = i;
      pairs[p++] = j;
    }
  }
  return {
    pairs,
    unmatched,
    totalWeight: native.totalWeight,
    upperBound: native.upperBound,
    timings: { scores: native.scoresMs, filters: native.filtersMs, matching: native.matchingMs },
    backend: native.backend as BackendName | null,
    ...(native.bufferOrder !== undefined ? { bufferOrder: native.bufferOrder } : {}),
    ...(native.predicted !== undefined ? { predicted: native.predicted } : {}),
  };
}
