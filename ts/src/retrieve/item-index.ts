/**
 * The item index: the store of item vectors that feed retrieval searches. Two implementations share
 * this interface: {@link ExactIndex} (native GEMM + top-k on any backend, exact) and
 * {@link HnswIndex} (usearch's HNSW graph, approximate, sub-linear).
 */

/** An item's id: a string or a finite number (`1` and `'1'` are different items). */
export type ItemId = string | number;

/**
 * How a query scores an item: `'ip'` is the inner product of the vectors as given; `'cos'` is the
 * cosine similarity (vectors are normalized when added and queried, so zero vectors are rejected).
 */
export type IndexMetric = 'ip' | 'cos';

/** One search result: an item and its score (higher is closer). */
export interface ItemHit {
  readonly id: ItemId;
  readonly score: number;
}

/** Options of {@link ItemIndex.search}. */
export interface ItemSearchOptions {
  /** Cancels the search; it then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * A mutable set of items (id + vector) searchable by top-k score.
 *
 * Every mutation (`add`, `remove` that removed something) changes {@link ItemIndex.version}, so a
 * cache of search results keyed by version can never serve results from an older item set.
 */
export interface ItemIndex {
  /** Length of every vector. */
  readonly dim: number;
  /** How queries score items. */
  readonly metric: IndexMetric;
  /** Number of items held. */
  readonly size: number;
  /** Changes on every mutation; never repeats for this index. */
  readonly version: number;

  /**
   * Adds items: `vectors` holds `ids.length` rows of `dim` floats, row-major. All or nothing: a bad
   * id or vector adds none of them.
   * @throws {InvalidArgumentError} for a non-array or bad id (naming `ids[i]`), an id already
   *   present or repeated, a wrong vector length, NaN/±Infinity (naming the row), or a zero vector
   *   under `'cos'`
   */
  add(ids: readonly ItemId[], vectors: Float32Array): void;

  /**
   * Removes the items with these ids; ids not present are ignored.
   * @returns how many items were removed
   */
  remove(ids: readonly ItemId[]): number;

  /** Whether an item with this id is held. */
  has(id: ItemId): boolean;

  /**
   * The best `k` items for each query (`queries` holds q rows of `dim` floats), best first. A query
   * gets fewer than k hits when the index holds fewer than k items.
   * @throws {InvalidArgumentError} (as a rejection) for a wrong length, NaN/±Infinity, or k not a
   *   positive integer
   * @throws {AbortError} when `options.signal` aborts
   */
  search(queries: Float32Array, k: number, options?: ItemSearchOptions): Promise<ItemHit[][]>;
}
