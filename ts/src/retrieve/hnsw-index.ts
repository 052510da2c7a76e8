/**
 * HnswIndex: approximate top-k retrieval on usearch's HNSW graph (https://github.com/unum-cloud/usearch).
 * kindred does not implement HNSW itself; this class maps kindred's item ids onto usearch's bigint
 * keys and gives it the {@link ItemIndex} contract (validation, versions, scores as similarities).
 */
import { createRequire } from 'node:module';

import type usearchModule from 'usearch';

import { AbortError, InvalidArgumentError } from '../core/errors.js';
import { optionalSignal, optionsObject } from '../core/validate.js';
import {
  indexOptions,
  itemId,
  itemsToAdd,
  optionalInteger,
  queryRows,
  storedRows,
  topK,
} from './index-arguments.js';
import type { IndexMetric, ItemHit, ItemId, ItemIndex, ItemSearchOptions } from './item-index.js';

type Usearch = typeof usearchModule;
type UsearchIndex = InstanceType<Usearch['Index']>;

let usearch: Usearch | undefined;

/**
 * usearch, loaded on first use through its CommonJS build: its ESM build finds its native binary by
 * walking up from the *caller's* package root and loads the first `build/` it meets (kindred's own
 * addon, inside this repository), so `import usearch from 'usearch'` fails here.
 */
function loadUsearch(): Usearch {
  usearch ??= createRequire(import.meta.url)('usearch') as Usearch;
  return usearch;
}

/** Options of {@link HnswIndex}. */
export interface HnswIndexOptions {
  /** Length of every vector, 1 ≤ dim ≤ 2^20. */
  dim: number;
  /** `'cos'` (default) or `'ip'`. */
  metric?: IndexMetric;
  /** Graph degree M (default 16): higher gives better recall, more memory and slower adds. */
  connectivity?: number;
  /** Candidate list size while building (default 128): higher gives a better graph, slower adds. */
  expansionAdd?: number;
  /** Candidate list size while searching (default 64): higher gives better recall, slower searches. */
  expansionSearch?: number;
  /** Threads usearch uses per add/search call (default 0: its own choice). */
  threads?: number;
}

/**
 * An approximate {@link ItemIndex} backed by usearch's HNSW graph: searches cost about
 * O(log n · expansionSearch · dim) instead of O(n · dim), at the price of recall below 1.
 *
 * Scores are `1 − distance` as usearch computes it in float32: the inner product (`'ip'`) or the
 * cosine of the unit-length vectors (`'cos'`), so they are comparable with {@link ExactIndex}'s to
 * about 1e-6 relative. usearch runs synchronously on the calling thread: a search of a few queries
 * takes a few milliseconds, but `add` blocks the event loop while the graph grows (about 7,000
 * items/s at dim 64 with the defaults on 2 cores): build large indexes at startup or in a worker.
 *
 * @example
 * const index = new HnswIndex({ dim: 64, metric: 'cos', expansionSearch: 128 });
 * index.add(ids, vectors);
 * const [hits] = await index.search(query, 10);
 */
export class HnswIndex implements ItemIndex {
  readonly dim: number;
  readonly metric: IndexMetric;
  readonly #index: UsearchIndex;
  readonly #threads: number;
  /** Id → usearch key; keys are never reused, so a removed item's key cannot come back. */
  #keys = new Map<ItemId, bigint>();
  #ids = new Map<bigint, ItemId>();
  #nextKey = 0n;
  #version = 0;

  /** @throws {InvalidArgumentError} for a bad dim, metric or tuning option */
  constructor(options: HnswIndexOptions) {
    const { opts, dim, metric } = indexOptions(options);
    this.dim = dim;
    this.metric = metric;
    const connectivity = optionalInteger(opts.connectivity, 'options.connectivity', 2, 1024, 16);
    const expansionAdd = optionalInteger(opts.expansionAdd, 'options.expansionAdd', 1, 1 << 20, 128);
    const expansionSearch = optionalInteger(opts.expansionSearch, 'options.expansionSearch', 1, 1 << 20, 64);
    this.#threads = optionalInteger(opts.threads, 'options.threads', 0, 1024, 0);
    const { Index, MetricKind, ScalarKind } = loadUsearch();
    // Vectors are normalized here under 'cos', so usearch scores them by inner product either way.
    this.#index = new Index({
      dimensions: this.dim,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity,
      expansion_add: expansionAdd,
      expansion_search: expansionSearch,
      multi: false,
    });
  }

  get size(): number {
    return this.#keys.size;
  }

  get version(): number {
    return this.#version;
  }

  has(id: ItemId): boolean {
    return this.#keys.has(id);
  }

  add(ids: readonly ItemId[], vectors: Float32Array): void {
    const rows = itemsToAdd(ids, vectors, this).length;
    if (rows === 0) return;
    const keys = new BigUint64Array(rows);
    for (let i = 0; i < rows; i++) keys[i] = this.#nextKey + BigInt(i);
    this.#index.add(keys, storedRows(vectors, rows, this.dim, this.metric), this.#threads);
    // Recorded only once usearch has accepted the batch.
    ids.forEach((id, i) => {
      this.#keys.set(id, keys[i]!);
      this.#ids.set(keys[i]!, id);
    });
    this.#nextKey += BigInt(rows);
    this.#version++;
  }

  remove(ids: readonly ItemId[]): number {
    if (!Array.isArray(ids)) throw new InvalidArgumentError('ids', 'an array of item ids', typeof ids);
    ids.forEach((id, i) => itemId(id, `ids[${i}]`));
    let removed = 0;
    for (const id of ids) {
      const key = this.#keys.get(id);
      if (key === undefined) continue;
      this.#index.remove(key);
      this.#keys.delete(id);
      this.#ids.delete(key);
      removed++;
    }
    if (removed > 0) this.#version++;
    return removed;
  }

  async search(queries: Float32Array, k: number, options?: ItemSearchOptions): Promise<ItemHit[][]> {
    const kWanted = topK(k, 'k');
    const q = queryRows(queries, 'queries', this.dim, this.metric);
    const signal = optionalSignal(optionsObject<ItemSearchOptions>(options, 'options').signal, 'options.signal');
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const kept = Math.min(kWanted, this.size);
    if (q === 0 || kept === 0) return Array.from({ length: q }, () => []);
    const stored = storedRows(queries, q, this.dim, this.metric);
    const found = this.#index.search(stored, kept, this.#threads) as unknown as {
      keys: BigUint64Array;
      distances: Float32Array;
      counts?: BigUint64Array;
    };
    const results: ItemHit[][] = [];
    for (let r = 0; r < q; r++) {
      // One query gives Matches (no counts); several give BatchMatches, k slots per query.
      const count = found.counts ? Number(found.counts[r]) : found.keys.length;
      const base = found.counts ? r * kept : 0;
      const hits: ItemHit[] = [];
      for (let j = base; j < base + count; j++) {
        const id = this.#ids.get(found.keys[j]!);
        if (id !== undefined) hits.push({ id, score: 1 - found.distances[j]! });
      }
      results.push(hits);
    }
    return results;
  }
}
