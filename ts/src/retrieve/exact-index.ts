/**
 * ExactIndex: exact top-k retrieval on kindred's native backends (cuda, blas, portable). Queries ×
 * items are scored by GEMM in bounded blocks and each query keeps its best k in a native heap, off
 * the main thread; the item vectors live in one growable Float32Array handed to native without a
 * copy.
 */
import { AbortError, InvalidArgumentError } from '../core/errors.js';
import { optionalSignal, optionsObject } from '../core/validate.js';
import { runAbortable } from '../match/abortable.js';
import { type BackendChoice, resolveBackend } from '../native/backends.js';
import { native } from '../native/binding.js';
import {
  MAX_INDEX_ITEMS,
  indexOptions,
  itemId,
  itemsToAdd,
  optionalInteger,
  queryRows,
  storedRows,
  topK,
  writeNormalized,
} from './index-arguments.js';
import type { IndexMetric, ItemHit, ItemId, ItemIndex, ItemSearchOptions } from './item-index.js';

// The most results one search returns (q × k): the largest typed array this Node can allocate.
const MAX_RESULTS = Math.floor(Number.MAX_SAFE_INTEGER / 4);

/** Options of {@link ExactIndex}. */
export interface ExactIndexOptions {
  /** Length of every vector, 1 ≤ dim ≤ 2^20. */
  dim: number;
  /** `'cos'` (default) or `'ip'`. */
  metric?: IndexMetric;
  /** Backend for every search; default: the one set with `useBackend()`, resolved at each search. */
  backend?: BackendChoice;
  /** Items to make room for up front (default 1024); the store doubles when full. */
  initialCapacity?: number;
}

/**
 * An exact {@link ItemIndex}: every search scores every item.
 *
 * Search cost is O(q·n·dim) on the chosen backend and needs no training or build step; use it up to
 * a few million items, as the ground truth for {@link HnswIndex}, or when results must be exact.
 * Scores are computed in blocks of at most 4 Mi floats, so memory stays bounded for any q × n.
 * Ties keep the item added earlier first (removal moves the last item into the freed row).
 *
 * @example
 * const index = new ExactIndex({ dim: 64, metric: 'cos' });
 * index.add(['a', 'b'], vectors);           // 2 × 64 floats
 * const [hits] = await index.search(query, 10);
 */
export class ExactIndex implements ItemIndex {
  readonly dim: number;
  readonly metric: IndexMetric;
  readonly #backend: BackendChoice | undefined;
  /** capacity × dim floats; rows [0, size) hold the items (unit length under 'cos'). */
  #data: Float32Array;
  /** Row → id. */
  #ids: ItemId[] = [];
  /** Id → row. */
  #rows = new Map<ItemId, number>();
  #version = 0;
  /** Searches whose native call may still read #data / #ids: in-place changes must copy first. */
  #reading = 0;

  /**
   * @throws {InvalidArgumentError} for a bad dim, metric, backend or capacity
   * @throws {BackendUnavailableError} when `options.backend` names a backend that cannot run here
   */
  constructor(options: ExactIndexOptions) {
    const { opts, dim, metric } = indexOptions(options);
    this.dim = dim;
    this.metric = metric;
    if (opts.backend !== undefined) resolveBackend(opts.backend, 'options.backend');
    this.#backend = opts.backend;
    const capacity = optionalInteger(opts.initialCapacity, 'options.initialCapacity', 0, MAX_INDEX_ITEMS, 1024);
    this.#data = new Float32Array(capacity * this.dim);
  }

  get size(): number {
    return this.#ids.length;
  }

  get version(): number {
    return this.#version;
  }

  /** Rows the store holds before it must grow. */
  get capacity(): number {
    return this.#data.length / this.dim;
  }

  has(id: ItemId): boolean {
    return this.#rows.has(id);
  }

  add(ids: readonly ItemId[], vectors: Float32Array): void {
    const rows = itemsToAdd(ids, vectors, this).length;
    if (rows === 0) return;
    this.#reserve(this.size + rows);
    // Appending is safe during a search: it reads rows [0, its size) only.
    const offset = this.size * this.dim;
    if (this.metric === 'cos') writeNormalized(vectors, rows, this.dim, this.#data, offset);
    else this.#data.set(vectors, offset);
    for (const id of ids) {
      this.#rows.set(id, this.#ids.length);
      this.#ids.push(id);
    }
    this.#version++;
  }

  remove(ids: readonly ItemId[]): number {
    if (!Array.isArray(ids)) throw new InvalidArgumentError('ids', 'an array of item ids', typeof ids);
    ids.forEach((id, i) => itemId(id, `ids[${i}]`));
    if (!ids.some((id) => this.#rows.has(id))) return 0;
    if (this.#reading > 0) {
      // A search is reading the current arrays: move to copies instead of changing them under it.
      this.#data = this.#data.slice();
      this.#ids = this.#ids.slice();
    }
    let removed = 0;
    for (const id of ids) {
      const row = this.#rows.get(id);
      if (row === undefined) continue;
      const last = this.#ids.length - 1;
      if (row !== last) {
        // Move the last item into the freed row: O(dim), no gap.
        this.#data.copyWithin(row * this.dim, last * this.dim, (last + 1) * this.dim);
        const moved = this.#ids[last]!;
        this.#ids[row] = moved;
        this.#rows.set(moved, row);
      }
      this.#ids.pop();
      this.#rows.delete(id);
      removed++;
    }
    this.#version++;
    return removed;
  }

  async search(queries: Float32Array, k: number, options?: ItemSearchOptions): Promise<ItemHit[][]> {
    const callSite = new Error();
    const kWanted = topK(k, 'k');
    const q = queryRows(queries, 'queries', this.dim, this.metric);
    const signal = optionalSignal(optionsObject<ItemSearchOptions>(options, 'options').signal, 'options.signal');
    const backend = resolveBackend(this.#backend, 'options.backend');
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const n = this.size;
    const kept = Math.min(kWanted, n);
    if (q === 0 || kept === 0) return Array.from({ length: q }, () => []);
    if (q * kept > MAX_RESULTS) throw new InvalidArgumentError('k', `at most ${MAX_RESULTS} results in all`, `${q} x ${kept}`);

    const stored = storedRows(queries, q, this.dim, this.metric);
    const ids = this.#ids;
    const items = this.#data.subarray(0, n * this.dim);
    const outIndices = new Int32Array(q * kept);
    const outScores = new Float32Array(q * kept);
    this.#reading++;
    try {
      await runAbortable(
        (cancel) => native().topK(stored, items, q, n, this.dim, kept, backend, outIndices, outScores, cancel),
        callSite,
        signal,
      );
    } finally {
      this.#reading--;
    }
    const results: ItemHit[][] = [];
    for (let r = 0; r < q; r++) {
      const hits: ItemHit[] = [];
      for (let j = r * kept; j < (r + 1) * kept; j++) hits.push({ id: ids[outIndices[j]!]!, score: outScores[j]! });
      results.push(hits);
    }
    return results;
  }

  /** Grows the store to hold `rows` items, at least doubling, so adds are amortized O(1) per float. */
  #reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const grown = Math.min(MAX_INDEX_ITEMS, Math.max(rows, this.capacity * 2, 16));
    const next = new Float32Array(grown * this.dim);
    next.set(this.#data.subarray(0, this.size * this.dim));
    this.#data = next;
  }
}
