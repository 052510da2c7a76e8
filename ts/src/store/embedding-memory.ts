/**
 * The embedding memory: where the session tower's asynchronously computed embeddings wait for
 * requests to read them. One entry per user (its user and peer vectors), tagged with the version
 * that produced it and when; writes never go back in version. Two implementations share this
 * interface: {@link InProcessEmbeddingMemory} (the embedded default) and {@link RedisEmbeddingMemory}.
 */
import type { StalenessMetrics } from './staleness.js';

/** A stored session embedding of one user. */
export interface SessionEmbedding {
  /** The user (chooser) side, `dim` floats. */
  readonly user: Float32Array;
  /** The peer (partner) side, `dim` floats. */
  readonly peer: Float32Array;
  /** The version that produced it; a write with a version ≤ the stored one is ignored. */
  readonly version: number;
  /** When it was computed (ms since the epoch). */
  readonly updatedAt: number;
}

/** What a writer stores. `updatedAt` defaults to the memory's clock. */
export interface EmbeddingWrite {
  user: Float32Array;
  peer: Float32Array;
  /** A finite number ≥ 0, increasing per user (e.g. the time the triggering match ended). */
  version: number;
  updatedAt?: number;
}

/** The result of reading one user. `degraded` means the store could not be asked (the entry may exist). */
export type EmbeddingLookup =
  | { readonly found: true; readonly embedding: SessionEmbedding; readonly ageMs: number; readonly degraded: false }
  | { readonly found: false; readonly degraded: boolean };

/** The result of reading many users, as flat rows ready for batch math (zero rows for the missing). */
export interface EmbeddingBatch {
  readonly ids: readonly string[];
  readonly dim: number;
  /** `ids.length × dim` floats; row i is zero when `found[i]` is 0. */
  readonly user: Float32Array;
  readonly peer: Float32Array;
  /** 1 where an embedding was found. */
  readonly found: Uint8Array;
  /** The stored versions (0 where missing). */
  readonly versions: Float64Array;
  /** Age of each hit in ms (NaN where missing). */
  readonly ageMs: Float64Array;
  /** How many were found. */
  readonly hits: number;
  /** True when the store could not be read: every row is then reported missing. */
  readonly degraded: boolean;
}

/** Options of {@link EmbeddingMemory.getMany}. */
export interface EmbeddingReadOptions {
  /**
   * Arrays of `ids.length × dim` floats the memory may write the batch's rows into (and return as
   * its `user` and `peer`, with the rows of missing users zeroed), so that a caller reading every
   * pool can reuse them instead of allocating two new arrays per read. Read the rows from the
   * batch, not from these arrays: a memory may ignore them (a degraded read does). Do not reuse
   * them before the read has settled.
   */
  into?: { user: Float32Array; peer: Float32Array };
}

/**
 * Stores the latest session embedding per user. Reads never throw because the store is down:
 * they come back missing with `degraded: true`, and the error is counted and emitted as
 * `'store-error'` (implementations are EventEmitters).
 */
export interface EmbeddingMemory {
  /** Floats per side (e.g. 64). */
  readonly dim: number;
  /** Reads one user. */
  get(id: string): Promise<EmbeddingLookup>;
  /**
   * Reads many users in one round trip; the result's rows follow `ids`.
   *
   * @throws (rejects) InvalidArgumentError for bad ids or a bad `options.into`
   */
  getMany(ids: readonly string[], options?: EmbeddingReadOptions): Promise<EmbeddingBatch>;
  /**
   * Stores `write` unless an entry with the same or a newer version is there.
   *
   * @returns true when stored, false when a version ≥ `write.version` was kept
   * @throws (rejects) InvalidArgumentError for bad ids or vectors; StoreError when the store is unreachable
   */
  put(id: string, write: EmbeddingWrite): Promise<boolean>;
  /** Forgets a user. */
  delete(id: string): Promise<void>;
  /** Read ages, hit rates and errors since creation (ages over a recent window). */
  staleness(): StalenessMetrics;
  /** Releases resources (a Redis connection the memory opened itself). */
  close(): Promise<void>;
}
