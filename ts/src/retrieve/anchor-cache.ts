/**
 * AnchorCache: nearest-neighbour results cached by anchor *item* (PinnerSage's medoid cache), and
 * the merge of several anchors' results into one candidate list.
 *
 * An anchor is a real item (a cluster medoid), so its neighbours depend only on the item and the
 * index contents: the cache key is (index version, anchor item id, k). Hot items are anchors for
 * many users, so lookups hit across users; any index mutation changes the version and retires
 * every entry.
 */
import { AbortError, InvalidArgumentError } from '../core/errors.js';
import { describe, invalidArgument, optionalSignal, optionsObject } from '../core/validate.js';
import { mergeCandidates } from './candidate-merge.js';
import { itemId, optionalInteger, topK, vectorRows } from './index-arguments.js';
import type { ItemHit, ItemId, ItemIndex } from './item-index.js';

export { compareIds } from './candidate-merge.js';

/** A retrieval anchor: a real item (e.g. a PinnerSage medoid), its vector and its importance. */
export interface Anchor {
  /** The item the anchor is; results are cached under this id. */
  itemId: ItemId;
  /** The item's vector (`index.dim` finite floats). It must be the vector the item has in the index. */
  vector: Float32Array;
  /** The anchor's weight (finite, ≥ 0), e.g. its cluster's recency-weighted size. */
  importance: number;
}

/** Which anchor found a candidate, and with what score. */
export interface AnchorMatch {
  anchorId: ItemId;
  score: number;
  importance: number;
}

/** A retrieved item with every anchor that found it, best first; `score` is the best of them. */
export interface RetrievedCandidate {
  id: ItemId;
  score: number;
  anchors: AnchorMatch[];
}

/** Options of {@link AnchorCache}. */
export interface AnchorCacheOptions {
  /** Most entries (anchor × k) kept; the least recently used goes first. Default 10,000. */
  maxEntries?: number;
  /** Milliseconds an entry stays valid (> 0, may be Infinity). Default 60,000. */
  ttlMs?: number;
  /** Clock in milliseconds (default `Date.now`); tests inject their own. */
  now?: () => number;
}

/** Options of {@link AnchorCache.retrieve}. */
export interface RetrieveOptions {
  /** Items never to return, e.g. the user's history. The anchors' own items are always left out. */
  exclude?: ReadonlySet<ItemId> | readonly ItemId[];
  /** Stops waiting: rejects with an AbortError. A search already started still fills the cache. */
  signal?: AbortSignal;
}

/** Counters of {@link AnchorCache.stats}. */
export interface AnchorCacheStats {
  /** Lookups answered from a fresh entry. */
  hits: number;
  /** Lookups that started a search. */
  misses: number;
  /** Lookups that joined a search another caller had already started for the same key. */
  coalesced: number;
  /** Entries dropped to stay within `maxEntries`. */
  evictions: number;
  /** Entries found past their TTL (each also counts as a miss). */
  expirations: number;
  /** Entries dropped because the index changed. */
  invalidations: number;
  /** Entries held now. */
  size: number;
}

interface Entry {
  hits: readonly ItemHit[];
  expiresAt: number;
}

/**
 * Caches each anchor's top-k neighbours by (index version, anchor item id, k), LRU with a size cap
 * and a TTL, and merges anchors' results into candidates.
 *
 * @example
 * const cache = new AnchorCache(index, { maxEntries: 50_000, ttlMs: 300_000 });
 * const candidates = await cache.retrieve(anchors, 100, { exclude: historyIds });
 */
export class AnchorCache {
  readonly #index: ItemIndex;
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Map order is recency order: the first key is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<readonly ItemHit[]>>();
  #seenVersion: number;
  #hits = 0;
  #misses = 0;
  #coalesced = 0;
  #evictions = 0;
  #expirations = 0;
  #invalidations = 0;

  /** @throws {InvalidArgumentError} for a missing index or a bad option */
  constructor(index: ItemIndex, options?: AnchorCacheOptions) {
    if (typeof index !== 'object' || index === null || typeof index.search !== 'function') {
      throw invalidArgument('index', 'an ItemIndex', index);
    }
    const opts = optionsObject<AnchorCacheOptions>(options, 'options');
    this.#index = index;
    this.#maxEntries = optionalInteger(opts.maxEntries, 'options.maxEntries', 1, 2 ** 31 - 1, 10_000);
    const ttl = opts.ttlMs ?? 60_000;
    if (typeof ttl !== 'number' || !(ttl > 0)) {
      throw invalidArgument('options.ttlMs', 'a number > 0 (or Infinity)', ttl);
    }
    this.#ttlMs = ttl;
    if (opts.now !== undefined && typeof opts.now !== 'function') {
      throw invalidArgument('options.now', 'a function', opts.now);
    }
    this.#now = opts.now ?? Date.now;
    this.#seenVersion = index.version;
  }

  /** The counters so far, and the current number of entries. */
  stats(): AnchorCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      coalesced: this.#coalesced,
      evictions: this.#evictions,
      expirations: this.#expirations,
      invalidations: this.#invalidations,
      size: this.#entries.size,
    };
  }

  /** Drops every entry (counters are kept). */
  clear(): void {
    this.#entries.clear();
  }

  /**
   * Each anchor's top-k neighbours in the index (the anchor's own item included), from the cache
   * when a fresh entry exists; the misses are searched together in one call.
   * @returns one frozen hit list per anchor, in the anchors' order
   * @throws {InvalidArgumentError} (as a rejection) for a bad anchor or k
   * @throws {AbortError} when `signal` aborts
   */
  async neighbours(
    anchors: ReadonlyArray<Pick<Anchor, 'itemId' | 'vector'>>,
    k: number,
    signal?: AbortSignal,
  ): Promise<ReadonlyArray<readonly ItemHit[]>> {
    this.#checkAnchors(anchors, false);
    topK(k, 'k');
    optionalSignal(signal, 'signal');
    return this.#lookup(anchors, k, signal);
  }

  /**
   * Retrieves candidates for a user: every anchor's top `kPerAnchor` neighbours, merged. Items in
   * `options.exclude` and the anchors' own items are removed, an item found by several anchors
   * appears once, tagged with each anchor that found it, and its score is the best of theirs.
   * Order: best score first, then id (numbers ascending before strings in code-unit order), so
   * equal inputs give equal outputs.
   *
   * @param anchors distinct anchor items, e.g. the user's top PinnerSage medoids
   * @param kPerAnchor neighbours fetched per anchor (before exclusion)
   * @throws {InvalidArgumentError} (as a rejection) naming the bad anchor field, kPerAnchor or option
   * @throws {AbortError} when `options.signal` aborts
   */
  async retrieve(anchors: readonly Anchor[], kPerAnchor: number, options?: RetrieveOptions): Promise<RetrievedCandidate[]> {
    this.#checkAnchors(anchors, true);
    topK(kPerAnchor, 'kPerAnchor');
    const opts = optionsObject<RetrieveOptions>(options, 'options');
    const exclude = excludeSet(opts.exclude);
    const signal = optionalSignal(opts.signal, 'options.signal');
    const lists = await this.#lookup(anchors, kPerAnchor, signal);

    const merged = mergeCandidates(anchors, lists, exclude, true);
    return merged.ids.map((id, p) => ({ id, score: merged.scores[p]!, anchors: merged.matches!(p) }));
  }

  async #lookup(
    anchors: ReadonlyArray<Pick<Anchor, 'itemId' | 'vector'>>,
    k: number,
    signal: AbortSignal | undefined,
  ): Promise<ReadonlyArray<readonly ItemHit[]>> {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const version = this.#index.version;
    if (version !== this.#seenVersion) {
      // The items changed: no entry can be served again, so free them now.
      this.#invalidations += this.#entries.size;
      this.#entries.clear();
      this.#pending.clear();
      this.#seenVersion = version;
    }
    const now = this.#now();
    const results: Array<Promise<readonly ItemHit[]> | readonly ItemHit[]> = [];
    const missing: number[] = [];
    const missingKeys: string[] = [];
    anchors.forEach((anchor, a) => {
      const key = cacheKey(version, anchor.itemId, k);
      const entry = this.#entries.get(key);
      if (entry !== undefined && now < entry.expiresAt) {
        this.#hits++;
        this.#entries.delete(key);
        this.#entries.set(key, entry);
        results.push(entry.hits);
        return;
      }
      if (entry !== undefined) {
        this.#expirations++;
        this.#entries.delete(key);
      }
      const pending = this.#pending.get(key);
      if (pending !== undefined) {
        this.#coalesced++;
        results.push(pending);
        return;
      }
      this.#misses++;
      missing.push(a);
      missingKeys.push(key);
      results.push([]); // replaced below
    });

    if (missing.length > 0) {
      const dim = this.#index.dim;
      const queries = new Float32Array(missing.length * dim);
      missing.forEach((a, i) => queries.set(anchors[a]!.vector, i * dim));
      // The shared search runs without the caller's signal: other callers may be waiting on it.
      const batch = this.#index.search(queries, k);
      missing.forEach((a, i) => {
        const key = missingKeys[i]!;
        const one = batch.then((lists) => freeze(lists[i]!));
        this.#pending.set(key, one);
        results[a] = one;
        one.then(
          (hits) => {
            if (this.#pending.get(key) === one) this.#pending.delete(key);
            if (this.#index.version === version && this.#seenVersion === version) this.#store(key, hits);
          },
          () => {
            if (this.#pending.get(key) === one) this.#pending.delete(key);
          },
        );
      });
    }
    return abortable(Promise.all(results), signal);
  }

  #store(key: string, hits: readonly ItemHit[]): void {
    this.#entries.delete(key);
    this.#entries.set(key, { hits, expiresAt: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.#evictions++;
    }
  }

  #checkAnchors(anchors: unknown, needImportance: boolean): void {
    if (!Array.isArray(anchors)) throw invalidArgument('anchors', 'an array of anchors', anchors);
    const seen = new Set<ItemId>();
    anchors.forEach((anchor: unknown, i) => {
      if (typeof anchor !== 'object' || anchor === null) {
        throw invalidArgument(`anchors[${i}]`, 'an anchor object', anchor);
      }
      const { itemId: id, vector, importance } = anchor as Partial<Anchor>;
      const checked = itemId(id, `anchors[${i}].itemId`);
      if (seen.has(checked)) {
        throw invalidArgument(`anchors[${i}].itemId`, 'an item id not used by another anchor', checked);
      }
      seen.add(checked);
      vectorRows(vector, `anchors[${i}].vector`, 1, this.#index.dim, this.#index.metric);
      if (needImportance && (typeof importance !== 'number' || !Number.isFinite(importance) || importance < 0)) {
        throw invalidArgument(`anchors[${i}].importance`, 'a finite number >= 0', importance);
      }
    });
  }
}

/** Key of one cache entry; the id's type is part of it, since 1 and '1' are different items. */
function cacheKey(version: number, id: ItemId, k: number): string {
  return `${version}\u0000${typeof id === 'number' ? 'n' : 's'}${id}\u0000${k}`;
}


function excludeSet(value: unknown): ReadonlySet<ItemId> {
  if (value === undefined) return new Set();
  if (value instanceof Set) return value as ReadonlySet<ItemId>;
  if (Array.isArray(value)) return new Set(value as ItemId[]);
  throw new InvalidArgumentError('options.exclude', 'a Set or an array of item ids', describe(value));
}

function freeze(hits: ItemHit[]): readonly ItemHit[] {
  for (const hit of hits) Object.freeze(hit);
  return Object.freeze(hits);
}

/** `promise`, or an AbortError as soon as `signal` aborts (the work itself goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
