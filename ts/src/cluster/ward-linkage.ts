/**
 * wardLinkage: Ward agglomerative clustering with SciPy's result, computed natively off the main
 * thread.
 */
import { AbortError } from '../core/errors.js';
import {
  float32Array,
  integerInRange,
  invalidArgument,
  matrixLength,
  optionalSignal,
  optionsObject,
} from '../core/validate.js';
import { runAbortable } from '../match/abortable.js';
import { native } from '../native/binding.js';
import { MAX_CLUSTER_DIM, MAX_CLUSTER_POINTS } from './limits.js';

/** Options of {@link wardLinkage}. */
export interface WardLinkageOptions {
  /** Number of points (rows of `embeddings`), 0 ≤ n ≤ 20,000. */
  n: number;
  /** Length of every point. */
  dim: number;
  /** Cancels the call; it then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * The Ward linkage of n points, identical to SciPy's `linkage(X, 'ward')`: (n − 1) rows of
 * `[a, b, height, size]` (row-major, a < b; ids below n are points, id n + k is the cluster formed
 * by row k), the same merges in the same order, heights in SciPy's units (two single points merge at
 * their Euclidean distance). Computed in float64 from the float32 input with a nearest-neighbour
 * chain: O(n² · dim) time, 8·n² bytes of memory (800 MB at n = 10,000).
 *
 * @param embeddings n×dim, row-major; read in place: do not modify it until the Promise settles
 * @returns the linkage, `(n − 1) * 4` values (empty for n ≤ 1)
 * @throws {InvalidArgumentError} for a wrong type, length or size, or a NaN/±Infinity in `embeddings`
 * @throws {AbortError} when `options.signal` aborts
 * @throws {NativeError} when the matrix cannot be allocated
 * @example
 * const z = await wardLinkage(vectors, { n: 500, dim: 64 });
 * const labels = cutTree(z, { n: 500, threshold: 1.2 });
 */
export async function wardLinkage(embeddings: Float32Array, options: WardLinkageOptions): Promise<Float64Array> {
  const callSite = new Error();
  if (options === undefined) throw invalidArgument('options', 'an options object with n and dim', options);
  const opts = optionsObject<WardLinkageOptions>(options, 'options');
  float32Array(embeddings, 'embeddings');
  const n = integerInRange(opts.n, 'options.n', 0, MAX_CLUSTER_POINTS);
  const dim = integerInRange(opts.dim, 'options.dim', 1, MAX_CLUSTER_DIM);
  matrixLength(embeddings, 'embeddings', n, dim, 'n x dim');
  const signal = optionalSignal(opts.signal, 'options.signal');
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  return runAbortable((cancel) => native().wardLinkage(embeddings, n, dim, cancel), callSite, signal);
}
