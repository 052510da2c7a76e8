/**
 * matchWeights: maximum-weight matching on a caller-made symmetric weight matrix.
 */
import { float32Array, integerInRange, matrixLength, optionalSignal, optionsObject } from '../core/validate.js';
import { native } from '../native/binding.js';
import { runAbortable } from './abortable.js';
import { MAX_POOL, matchTuning, toMatchResult, type MatchResult, type MatchTuning } from './match-result.js';

/** Options of {@link matchWeights}. */
export interface MatchWeightsOptions extends MatchTuning {
  /** Cancels the call; it then rejects with an `AbortError`. */
  signal?: AbortSignal;
}


/**
 * Pairs users to maximize the total weight of the pairs (a general, non-bipartite matching; a user
 * may stay unmatched). Only pairs with a positive finite weight are ever used.
 *
 * The matcher is a heuristic with a certificate: `upperBound` bounds the optimum from above, so
 * `totalWeight / upperBound` is a guaranteed lower bound on the quality of each answer.
 *
 * @param weights n×n, row-major, symmetric (w[i][j] === w[j][i]); `-Infinity` marks a forbidden
 *   pair; the diagonal is ignored. NaN and +Infinity are rejected. Read in place: do not modify it
 *   until the Promise settles.
 * @param n the number of users, 0 ≤ n ≤ 46,340
 * @param options tuning and signal
 * @throws {InvalidArgumentError} (as a rejection) for a wrong type or length, or a NaN, +Infinity or
 *   asymmetric entry (named by row and column; checked on the worker thread)
 * @throws {AbortError} when `options.signal` aborts
 * @example
 * const w = new Float32Array(n * n).fill(-Infinity);
 * w[0 * n + 1] = w[1 * n + 0] = 2.5; // users 0 and 1 may meet, with weight 2.5
 * const { pairs, totalWeight, upperBound } = await matchWeights(w, n);
 */
export async function matchWeights(weights: Float32Array, n: number, options: MatchWeightsOptions = {}): Promise<MatchResult> {
  const callSite = new Error();
  float32Array(weights, 'weights');
  integerInRange(n, 'n', 0, MAX_POOL);
  matrixLength(weights, 'weights', n, n, 'n x n');
  const opts = optionsObject<MatchWeightsOptions>(options, 'options');
  const tuning = matchTuning(opts, 'options');
  const signal = optionalSignal(opts.signal, 'options.signal');
  const result = await runAbortable((cancel) => native().matchWeights(weights, n, tuning, cancel), callSite, signal);
  return toMatchResult(result);
}
