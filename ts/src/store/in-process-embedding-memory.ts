/**
 * The embedded default {@link EmbeddingMemory}: an LRU map (lru-cache) with a cap on entries (and
 * an optional TTL), for a single service instance.
 */
import { EventEmitter } from 'node:events';

import { LRUCache } from 'lru-cache';

import { integerInRange, optionsObject } from '../core/validate.js';
import type {
  EmbeddingBatch,
  EmbeddingLookup,
  EmbeddingMemory,
  EmbeddingReadOptions,
  EmbeddingWrite,
  SessionEmbedding,
} from './embedding-memory.js';
import { checkId, checkIds, checkInto, checkWrite, emptyBatch, zeroRow } from './memory-arguments.js';
import { RowPages } from './row-pages.js';
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
  // lru-cache, from id to the entry's slot: a read moves an entry to the recent end without the
  // delete + set that made a Map rebuild its hash table (a matchPool call reads every user of its
  // pool). Bounded by a size of 1 per entry rather than `max`, which would allocate room for
  // maxEntries (up to 1e8) up front. A slot freed by eviction or deletion is used again.
  readonly #entries: LRUCache<string, number>;
  /** Per slot: the user row then the peer row (2·dim floats), read by one gather per getMany. */
  readonly #rows: RowPages;
  /** Per slot: the entry's version, updatedAt and write time (ms). */
  readonly #versions: number[] = [];
  readonly #updatedAt: number[] = [];
  readonly #writtenAt: number[] = [];
  readonly #freeSlots: number[] = [];
  readonly #tracker = new StalenessTracker();

  /** @throws InvalidArgumentError naming the bad option */
  constructor(options?: InProcessEmbeddingMemoryOptions) {
    super();
    const o = optionsObject<InProcessEmbeddingMemoryOptions>(options, 'options');
    this.dim = integerInRange(o.dim ?? 64, 'options.dim', 1, 65536);
    const maxEntries = integerInRange(o.maxEntries ?? 100_000, 'options.maxEntries', 1, 100_000_000);
    this.#ttlMs = integerInRange(o.ttlMs ?? 0, 'options.ttlMs', 0, Number.MAX_SAFE_INTEGER);
    this.#now = o.now ?? Date.now;
    this.#rows = new RowPages(2 * this.dim);
    this.#entries = new LRUCache<string, number>({
      maxSize: maxEntries,
      sizeCalculation: () => 1,
      // Evicted, deleted or cleared (never a write over the same slot: the value is unchanged).
      dispose: (slot) => this.#freeSlots.push(slot),
    });
  }

  /** Users stored now. */
  get size(): number {
    return this.#entries.size;
  }

  async get(id: string): Promise<EmbeddingLookup> {
    checkId(id);
    const slot = this.#read(id);
    if (slot === undefined) {
      this.#tracker.miss(false);
      return { found: false, degraded: false };
    }
    const updatedAt = this.#updatedAt[slot]!;
    const ageMs = this.#now() - updatedAt;
    this.#tracker.hit(ageMs);
    const embedding: SessionEmbedding = {
      user: this.#rows.view(slot, 0, this.dim).slice(),
      peer: this.#rows.view(slot, this.dim, this.dim).slice(),
      version: this.#versions[slot]!,
      updatedAt,
    };
    return { found: true, embedding, ageMs, degraded: false };
  }

  async getMany(ids: readonly string[], options?: EmbeddingReadOptions): Promise<EmbeddingBatch> {
    checkIds(ids);
    const into = checkInto(options, ids.length, this.dim);
    const batch = emptyBatch(ids, this.dim, false, into);
    const now = this.#now();
    const slots = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const slot = this.#read(ids[i]!);
      if (slot === undefined) {
        this.#tracker.miss(false);
        slots[i] = -1;
        if (into !== undefined) zeroRow(batch, i);
        continue;
      }
      slots[i] = slot;
      batch.found[i] = 1;
      batch.versions[i] = this.#versions[slot]!;
      batch.ageMs[i] = now - this.#updatedAt[slot]!;
      batch.hits++;
      this.#tracker.hit(batch.ageMs[i]!);
    }
    this.#rows.gather(slots, [batch.user, batch.peer]);
    return batch;
  }

  async put(id: string, write: EmbeddingWrite): Promise<boolean> {
    checkId(id);
    const now = this.#now();
    const w = checkWrite(write, this.dim, now);
    const current = this.#read(id, false);
    if (current !== undefined && this.#versions[current]! >= w.version) {
      this.#tracker.write(false);
      return false;
    }
    // A new entry takes a slot before set() may evict another (whose slot is then freed).
    const slot = current ?? this.#freeSlots.pop() ?? this.#versions.length;
    this.#rows.write(slot, w.user);
    this.#rows.write(slot, w.peer, this.dim);
    this.#versions[slot] = w.version;
    this.#updatedAt[slot] = w.updatedAt;
    this.#writtenAt[slot] = now;
    // set() makes it the most recently used and evicts the least recently used beyond maxEntries.
    this.#entries.set(id, slot);
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
    this.#rows.clear();
    this.#versions.length = 0;
    this.#updatedAt.length = 0;
    this.#writtenAt.length = 0;
    this.#freeSlots.length = 0;
  }

  /** The live entry's slot for `id` (expired ones are dropped); a read makes it the most recently used. */
  #read(id: string, touch = true): number | undefined {
    const slot = touch ? this.#entries.get(id) : this.#entries.peek(id);
    if (slot === undefined) return undefined;
    if (this.#ttlMs > 0 && this.#now() - this.#writtenAt[slot]! >= this.#ttlMs) {
      this.#entries.delete(id);
      return undefined;
    }
    return slot;
  }
}
