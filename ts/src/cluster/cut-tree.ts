/** cutTree: flat clusters from a linkage at a distance threshold (SciPy's fcluster 'distance'). */
import { InvalidArgumentError, fromNative } from '../core/errors.js';
import { integerInRange, invalidArgument, optionsObject } from '../core/validate.js';
import { native } from '../native/binding.js';

/** Options of {@link cutTree}. */
export interface CutTreeOptions {
  /** Number of points the linkage clusters (it has n − 1 rows). */
  n: number;
  /** Merges at heights <= threshold stay inside a cluster; >= 0 (Infinity allowed: one cluster). */
  threshold: number;
}

/**
 * Cuts a linkage at a distance threshold, as SciPy's `fcluster(Z, threshold, 'distance')`: two
 * points share a cluster when every merge on the way up to their common ancestor is at a height
 * <= threshold. Labels are 1..k, numbered in SciPy's order. Synchronous: O(n).
 *
 * @param linkage (n − 1) × 4 values in SciPy's layout, e.g. from {@link wardLinkage}
 * @returns one label in 1..k per point
 * @throws {InvalidArgumentError} for a wrong type or length, a negative or NaN threshold, or a
 *   linkage that is not a valid SciPy linkage (the message names the row)
 * @example
 * const labels = cutTree(await wardLinkage(x, { n, dim }), { n, threshold: 1.5 });
 */
export function cutTree(linkage: Float64Array, options: CutTreeOptions): Int32Array {
  const callSite = new Error();
  if (options === undefined) throw invalidArgument('options', 'an options object with n and threshold', options);
  const opts = optionsObject<CutTreeOptions>(options, 'options');
  const n = integerInRange(opts.n, 'options.n', 0, 2 ** 30);
  if (!(linkage instanceof Float64Array)) throw invalidArgument('linkage', 'a Float64Array', linkage);
  const rows = Math.max(n - 1, 0);
  if (linkage.length !== rows * 4) {
    throw invalidArgument('linkage', `a Float64Array of length ${rows * 4} ((n - 1) x 4 = ${rows} x 4)`, linkage);
  }
  const threshold = opts.threshold;
  if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < 0) {
    throw invalidArgument('options.threshold', 'a number >= 0', threshold);
  }
  try {
    return native().cutTree(linkage, n, threshold);
  } catch (error) {
    const mapped = fromNative(error, callSite);
    // The core's message names the bad row: keep it as what was received.
    if (mapped.code === 'ERR_KINDRED_INVALID_ARGUMENT' && error instanceof Error) {
      throw new InvalidArgumentError('linkage', 'a valid SciPy linkage', error.message);
    }
    throw mapped;
  }
}
