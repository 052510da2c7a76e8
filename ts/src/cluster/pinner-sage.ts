/**
 * pinnerSage: a user's retrieval anchors from their engagement history (PinnerSage): Ward
 * clustering cut at a distance threshold, a medoid per cluster, importance by frequency × recency,
 * and the medoids of the most important clusters as anchors. Short-dwell clicks are false
 * positives and stay out of the clustering.
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
import { finiteSeries, nonNegative } from './series.js';

const MS_PER_DAY = 86_400_000;

/** Options of {@link pinnerSage}. `Id` is the type of the caller's item ids. */
export interface PinnerSageOptions<Id = string | number> {
  /** History embeddings, n×dim row-major (one row per engagement; the same item may appear twice). */
  embeddings: Float32Array;
  /** Rows of `embeddings`, 0 ≤ n ≤ 20,000. */
  n: number;
  /** Length of every embedding. */
  dim: number;
  /** When each engagement happened, epoch ms, one per row; none may be after `now`. */
  timestamps: Float64Array | readonly number[];
  /** The time ages are measured from, epoch ms. */
  now: number;
  /** The item of each row, echoed back as `itemId` of medoids and anchors. */
  itemIds?: readonly Id[];
  /** Cut height in SciPy's Ward units (`fcluster(Z, threshold, 'distance')`), >= 0. */
  threshold: number;
  /** Importance decay λ per day of age: importance = Σ exp(−λ · ageDays). Default 0.01. */
  lambdaPerDay?: number;
  /** How many anchors to return at most. Default 3. */
  maxAnchors?: number;
  /** Dwell time of each engagement in ms, one per row (needed for `minDwellMs`). */
  dwellMs?: Float64Array | readonly number[];
  /** Engagements with a dwell below this are false positives: not clustered, listed apart. Default 0. */
  minDwellMs?: number;
  /** Cancels the call; it then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** One cluster of the history. */
export interface PinnerSageCluster<Id = string | number> {
  /** Row of the medoid in `embeddings`. */
  medoid: number;
  /** `itemIds[medoid]`, or undefined without `itemIds`. */
  itemId: Id | undefined;
  /** Number of member rows. */
  size: number;
  /** Σ over members of exp(−λ · ageDays). */
  importance: number;
  /** Member rows, ascending. */
  members: number[];
}

/** One retrieval anchor: the medoid of one of the most important clusters. */
export interface PinnerSageAnchor<Id = string | number> {
  medoid: number;
  itemId: Id | undefined;
  importance: number;
}

/** What {@link pinnerSage} resolves with. */
export interface PinnerSageResult<Id = string | number> {
  /** Every cluster, most important first (ties: the lower medoid row first). */
  clusters: PinnerSageCluster<Id>[];
  /** The medoids of the first `maxAnchors` clusters, in the same order. */
  anchors: PinnerSageAnchor<Id>[];
  /** Rows whose dwell was below `minDwellMs`, ascending. */
  falsePositives: number[];
  /**
   * The Ward linkage of the clustered rows (SciPy layout). Its point ids count the clustered rows —
   * every row not in `falsePositives`, in ascending order — not rows of `embeddings`.
   */
  linkage: Float64Array;
}

/**
 * Clusters a user's engagement history into interests and picks retrieval anchors (PinnerSage).
 *
 * Ward clustering of the rows (identical to SciPy's `linkage(X, 'ward')`), cut at `threshold`
 * (`fcluster(…, 'distance')`); per cluster the medoid — the member with the smallest sum of
 * Euclidean distances to the others; in a 2-member cluster the one with the larger L2 norm; ties to
 * the lowest row — and the importance Σ exp(−λ · ageDays). Anchors are the medoids of the
 * `maxAnchors` most important clusters: real items, never averages, so a cache keyed by the anchor's
 * item id is shared across users.
 *
 * The same item engaged twice is two identical rows: they always share a cluster (they merge at
 * height 0 <= threshold), count twice in its importance, and the lower row is the one that can be
 * the medoid. Rows with `dwellMs < minDwellMs` are false positives: excluded and returned apart.
 *
 * @returns clusters and anchors, most important first; row indices refer to `embeddings`
 * @throws {InvalidArgumentError} naming the argument: wrong types or lengths, n above 20,000, NaN or
 *   ±Infinity in `embeddings`, a timestamp after `now`, a negative threshold, λ, dwell or minDwellMs
 * @throws {AbortError} when `signal` aborts
 * @throws {NativeError} when the n × n distance matrix (8·n² bytes) cannot be allocated
 * @example
 * const { anchors } = await pinnerSage({ embeddings, n, dim: 64, timestamps, now: Date.now(), itemIds,
 *   threshold: 1.0, dwellMs, minDwellMs: 3000 });
 */
export async function pinnerSage<Id = string | number>(options: PinnerSageOptions<Id>): Promise<PinnerSageResult<Id>> {
  const callSite = new Error();
  if (options === undefined) throw invalidArgument('options', 'an options object', options);
  const opts = optionsObject<PinnerSageOptions<Id>>(options, 'options');
  const embeddings = float32Array(opts.embeddings, 'options.embeddings');
  const n = integerInRange(opts.n, 'options.n', 0, MAX_CLUSTER_POINTS);
  const dim = integerInRange(opts.dim, 'options.dim', 1, MAX_CLUSTER_DIM);
  matrixLength(embeddings, 'options.embeddings', n, dim, 'n x dim');
  const now = opts.now;
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw invalidArgument('options.now', 'a finite number (epoch ms)', now);
  }
  const timestamps = finiteSeries(opts.timestamps, 'options.timestamps', n);
  for (let i = 0; i < n; i++) {
    if (timestamps[i]! > now) {
      throw invalidArgument(`options.timestamps[${i}]`, `a time not after options.now (${now})`, timestamps[i]);
    }
  }
  const threshold = opts.threshold;
  if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < 0) {
    throw invalidArgument('options.threshold', 'a number >= 0', threshold);
  }
  const lambdaPerDay = nonNegative(opts.lambdaPerDay, 'options.lambdaPerDay', 0.01);
  const maxAnchors =
    opts.maxAnchors === undefined ? 3 : integerInRange(opts.maxAnchors, 'options.maxAnchors', 0, 2 ** 31 - 1);
  const itemIds = opts.itemIds;
  if (itemIds !== undefined && (!Array.isArray(itemIds) || itemIds.length !== n)) {
    throw invalidArgument('options.itemIds', `an array of ${n} item ids (one per row)`, itemIds);
  }
  const minDwellMs = nonNegative(opts.minDwellMs, 'options.minDwellMs', 0);
  let dwellMs: Float64Array | undefined;
  if (opts.dwellMs !== undefined) {
    dwellMs = finiteSeries(opts.dwellMs, 'options.dwellMs', n);
    for (let i = 0; i < n; i++) {
      if (dwellMs[i]! < 0) throw invalidArgument(`options.dwellMs[${i}]`, 'a dwell >= 0', dwellMs[i]);
    }
  } else if (opts.minDwellMs !== undefined && opts.minDwellMs > 0) {
    throw invalidArgument('options.dwellMs', 'a dwell per row (options.minDwellMs is set)', opts.dwellMs);
  }
  const signal = optionalSignal(opts.signal, 'options.signal');
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });

  // Split off the false positives; the rest keep their order.
  const kept: number[] = [];
  const falsePositives: number[] = [];
  for (let i = 0; i < n; i++) {
    if (dwellMs !== undefined && dwellMs[i]! < minDwellMs) falsePositives.push(i);
    else kept.push(i);
  }
  const m = kept.length;
  if (m === 0) return { clusters: [], anchors: [], falsePositives, linkage: new Float64Array(0) };
  let points = embeddings;
  if (m < n) {
    points = new Float32Array(m * dim);
    kept.forEach((row, i) => points.set(embeddings.subarray(row * dim, (row + 1) * dim), i * dim));
  }
  const ageDays = new Float64Array(m);
  kept.forEach((row, i) => (ageDays[i] = (now - timestamps[row]!) / MS_PER_DAY));

  const result = await runAbortable(
    (cancel) => native().pinnerSage(points, m, dim, ageDays, threshold, lambdaPerDay, maxAnchors, cancel),
    callSite,
    signal,
    { embeddings: 'options.embeddings', ageDays: 'options.timestamps' },
  );

  const k = result.medoids.length;
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < m; i++) members[result.labels[i]! - 1]!.push(kept[i]!);
  const itemOf = (row: number): Id | undefined => (itemIds === undefined ? undefined : itemIds[row]);
  const cluster = (c: number): PinnerSageCluster<Id> => {
    const medoid = kept[result.medoids[c]!]!;
    const rows = members[c]!;
    return { medoid, itemId: itemOf(medoid), size: rows.length, importance: result.importance[c]!, members: rows };
  };
  // The anchors' order, extended to every cluster (the same rule: importance, then medoid row).
  const order = Array.from({ length: k }, (_, c) => c).sort(
    (x, y) => result.importance[y]! - result.importance[x]! || result.medoids[x]! - result.medoids[y]!,
  );
  const clusters = order.map(cluster);
  const anchors = Array.from(result.anchors, (c) => {
    const { medoid, itemId, importance } = cluster(c);
    return { medoid, itemId, importance };
  });
  return { clusters, anchors, falsePositives, linkage: result.linkage };
}
