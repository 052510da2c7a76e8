/**
 * The embedded default {@link EmbeddingMemory}: an LRU map (lru-cache) with a cap on entries (and
 * an optional TTL), for a single service instance.
 */
import { EventEmitter } from 'node:events';

import { LRUCache } from 'lru-cache';

import { integerInRange, optionsObject } from '../core/validate.js';
import type { EmbeddingBatch, EmbeddingLookup, EmbeddingMemory, EmbeddingWrite, SessionEmbedding } from './embedding-memory.js';
import { checkId, checkIds, checkWrite, emptyBatch } from './memory-arguments.js';
import { StalenessTracker, type StalenessMetrics } from './staleness.js';

/** Options of {@link InProcessEmbeddingMemory}. */
export interface InProcessEmbeddingMemoryOptions {
  /** Floats per side. 1..65536, default 64. */
  dim?: number;
  /** Most users kept; the least recently used is evicted beyond it. 1..1e8, default 100000. */
  maxEntries?: number;
  /** Entries older than this (by write time) read as missing. ms, 0 = never (default). */
  ttlMs?: number;
  /** The clock, ms since the epoch (tests inject one). Default `Date.now`. */
  now?: () => number;
}

interface Entry extends SessionEmbedding {
  readonly writtenAt: number;
}

/**
 * An LRU-capped, in-process embedding memory.
 *
 * @example
 * const memory = new InProcessEmbeddingMemory({ dim: 64, maxEntries: 50_000 });
 * await memory.put('u1', { user, peer, version: Date.now() });
 * const hit = await memory.get('u1');
 */
export class InProcessEmbeddingMemory extends EventEmitter implements EmbeddingMemory {
  readonly dim: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  // lru-cache: a read moves an entry to the recent end without the delete + set that made a Map
  // rebuild its hash table (a matchPool call reads every user of its pool). Bounded by a size of 1
  // per entry rather than `max`, which would allocate room for maxEntries (up to 1e8) up front.
  readonly #entries: LRUCache<string, Entry>;
  readonly #tracker = new StalenessTracker();

  /** @throws InvalidArgumentError naming the bad option */
  constructor(options?: InProcessEmbeddingMemoryOptions) {
    super();
    const o = optionsObject<InProcessEmbeddingMemoryOptions>(options, 'options');
    this.dim = integerInRange(o.dim ?? 64, 'options.dim', 1, 65536);
    const maxEntries = integerInRange(o.maxEntries ?? 100_000, 'options.maxEntries', 1, 100_000_000);
    this.#ttlMs = integerInRange(o.ttlMs ?? 0, 'options.ttlMs', 0, Number.MAX_SAFE_INTEGER);
    this.#now = o.now ?? Date.now;
    this.#entries = new LRUCache<string, Entry>({ maxSize: maxEntries, sizeCalculation: () => 1 });
  }

  /** Users stored now. */
  get size(): number {
    return this.#entries.size;
  }

  async get(id: string): Promise<EmbeddingLookup> {
    checkId(id);
    const entry = this.#read(id);
    if (entry === undefined) {
      this.#tracker.miss(false);
      return { found: false, degraded: false };
    }
    const ageMs = this.#now() - entry.updatedAt;
    this.#tracker.hit(ageMs);
    const embedding = { user: entry.user.slice(), peer: entry.peer.slice(), version: entry.version, updatedAt: entry.updatedAt };
    return { found: true, embedding, ageMs, degraded: false };
  }

  async getMany(ids: readonly string[]): Promise<EmbeddingBatch> {
    checkIds(ids);
    const batch = emptyBatch(ids, this.dim, false);
    const now = this.#now();
    ids.forEach((id, i) => {
      const entry = this.#read(id);
      if (entry === undefined) {
        this.#tracker.miss(false);
        return;
      }
      batch.user.set(entry.user, i * this.dim);
      batch.peer.set(entry.peer, i * this.dim);
      batch.found[i] = 1;
      batch.versions[i] = entry.version;
      batch.ageMs[i] = now - entry.updatedAt;
      batch.hits++;
      this.#tracker.hit(batch.ageMs[i]!);
    });
    return batch;
  }

  async put(id: string, write: EmbeddingWrite): Promise<boolean> {
    checkId(id);
    const now = this.#now();
    const w = checkWrite(write, this.dim, now);
    const current = this.#read(id, false);
    if (current !== undefined && current.version >= w.version) {
      this.#tracker.write(false);
      return false;
    }
    // set() makes it the most recently used and evicts the least recently used beyond maxEntries.
    this.#entries.set(id, { user: w.user.slice(), peer: w.peer.slice(), version: w.version, updatedAt: w.updatedAt, writtenAt: now });
    this.#tracker.write(true);
    return true;
  }

  async delete(id: string): Promise<void> {
    checkId(id);
    this.#entries.delete(id);
  }

  staleness(): StalenessMetrics {
    return this.#tracker.snapshot();
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  /** The live entry for `id` (expired ones are dropped); a read makes it the most recently used. */
  #read(id: string, touch = true): Entry | undefined {
    const entry = touch ? this.#entries.get(id) : this.#entries.peek(id);
    if (entry === undefined) return undefined;
    if (this.#ttlMs > 0 && this.#now() - entry.writtenAt >= this.#ttlMs) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }
}
