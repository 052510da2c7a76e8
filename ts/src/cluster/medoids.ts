/** medoids: the most central real member of each flat cluster, computed natively. */
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
import { MAX_CLUSTER_DIM } from './limits.js';

/** Options of {@link medoids}. */
export interface MedoidsOptions {
  /** Number of points (rows of `embeddings`). */
  n: number;
  /** Length of every point. */
  dim: number;
  /** Cancels the call; it then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * The medoid of each cluster: the member with the smallest sum of Euclidean distances to the other
 * members (float64). A 2-member cluster takes the member with the larger L2 norm. Ties (equal sums
 * or norms, e.g. exact duplicates) go to the lowest row index. Cost: Σ size² · dim over clusters,
 * on all cores.
 *
 * @param embeddings n×dim, row-major; read in place until the Promise settles
 * @param labels one label per row, using every value 1..k (as {@link cutTree} returns)
 * @returns the medoid row of cluster c at index c − 1 (length k)
 * @throws {InvalidArgumentError} for a wrong type or length, a label outside 1..k or an unused
 *   label, or a NaN/±Infinity in `embeddings`
 * @throws {AbortError} when `options.signal` aborts
 */
export async function medoids(
  embeddings: Float32Array,
  labels: Int32Array,
  options: MedoidsOptions,
): Promise<Int32Array> {
  const callSite = new Error();
  if (options === undefined) throw invalidArgument('options', 'an options object with n and dim', options);
  const opts = optionsObject<MedoidsOptions>(options, 'options');
  float32Array(embeddings, 'embeddings');
  const n = integerInRange(opts.n, 'options.n', 0, 2 ** 30);
  const dim = integerInRange(opts.dim, 'options.dim', 1, MAX_CLUSTER_DIM);
  matrixLength(embeddings, 'embeddings', n, dim, 'n x dim');
  if (!(labels instanceof Int32Array)) throw invalidArgument('labels', 'an Int32Array', labels);
  if (labels.length !== n) throw invalidArgument('labels', `an Int32Array of length ${n} (one label per row)`, labels);
  const clusters = countClusters(labels);
  const signal = optionalSignal(opts.signal, 'options.signal');
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  return runAbortable(
    (cancel) => native().clusterMedoids(embeddings, n, dim, labels, clusters, cancel),
    callSite,
    signal,
  );
}

/** k for labels that use exactly 1..k, or an InvalidArgumentError naming the first bad one. */
function countClusters(labels: Int32Array): number {
  let k = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label < 1 || label > labels.length) {
      throw invalidArgument(`labels[${i}]`, `a label in 1..${labels.length}`, label);
    }
    if (label > k) k = label;
  }
  const used = new Uint8Array(k + 1);
  for (const label of labels) used[label] = 1;
  for (let c = 1; c <= k; c++) {
    if (!used[c]) throw invalidArgument('labels', `every label in 1..${k} used (no gaps)`, `no row labelled ${c}`);
  }
  return k;
}
