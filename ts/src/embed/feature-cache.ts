/**
 * A bounded cache of feature-tower outputs keyed by the whole side information. The tower is a pure
 * function of those eight values, so a hit is what the model would compute again; in a live pool
 * the same users come back round after round, and the tower was a fifth of a matchPool call.
 */
import { RowPages } from '../store/row-pages.js';
import type { UserSideInfo } from './side-info.js';

/** Counters of a {@link FeatureCache}. */
export interface FeatureCacheMetrics {
  /** Rows served from the cache, and rows the model had to compute. */
  hits: number;
  misses: number;
  /** Entries held now, and entries dropped to stay within `maxEntries`. */
  size: number;
  evictions: number;
}

const float = new Float32Array(1);
const floatBits = new Int32Array(float.buffer);

/** The eight values as the model reads them: six ids, then the two counts' float32 bits. */
function tupleOf(s: UserSideInfo, out: Int32Array): Int32Array {
  out[0] = s.country;
  out[1] = s.language;
  out[2] = s.gender;
  out[3] = s.wants;
  out[4] = s.ageBucket;
  out[5] = s.deviceLanguage;
  float[0] = s.accountAgeDays;
  out[6] = floatBits[0]!;
  float[0] = s.recentReports;
  out[7] = floatBits[0]!;
  return out;
}

/**
 * A 30-bit hash of the tuple (a small integer is the cheapest Map key in V8: no string to build
 * and hash). Entries keep their tuple, so a collision is a miss that replaces the entry, never a
 * wrong row.
 */
function hashOf(t: Int32Array): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < 8; k++) h = Math.imul(h ^ t[k]!, 0x01000193) ^ (h >>> 15);
  return h & 0x3fffffff;
}

/** Entries per page of the cache's arrays: slot s is entry s & (PAGE − 1) of page s >>> PAGE_BITS. */
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;

/**
 * Entries live in pages of flat typed arrays (rows, tuples, hashes, recency stamps) addressed by
 * slot, with a Map from hash to slot: a hit reads the Map and one tuple, and the hits' rows are
 * copied by one gather (RowPages). Kept as an object per entry with its own three typed arrays, a
 * hit went through seven objects, cold in cache after every matching (the fill of an N = 2,000
 * call, with the embed call's other work: 1.3–1.9 → 1.0–1.3 ms of main thread), and an entry cost
 * ~1.7 KB instead of ~0.63.
 */
export class FeatureCache {
  readonly #slots = new Map<number, number>();
  /** Each slot's user row then peer row (2·dim floats). */
  readonly #rows: RowPages;
  /** Per page: each slot's eight tuple values, its hash and its last use (a fill/store call's stamp). */
  readonly #tuples: Int32Array[] = [];
  readonly #hashes: Int32Array[] = [];
  readonly #used: Float64Array[] = [];
  readonly #free: number[] = [];
  #nextSlot = 0;
  readonly #tuple = new Int32Array(8);
  readonly #maxEntries: number;
  readonly #dim: number;
  #clock = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /** @param maxEntries ≥ 1 (callers that want no cache build none) */
  constructor(maxEntries: number, dim: number) {
    this.#maxEntries = maxEntries;
    this.#dim = dim;
    this.#rows = new RowPages(2 * dim);
  }

  /**
   * Copies the cached rows of `sides` into `user`/`peer` (row i at i·dim) and returns the indices
   * it could not fill, in order.
   */
  fill(sides: readonly UserSideInfo[], user: Float32Array, peer: Float32Array): number[] {
    const now = ++this.#clock;
    const unfilled: number[] = [];
    const slots = new Int32Array(sides.length);
    for (let i = 0; i < sides.length; i++) {
      const tuple = tupleOf(sides[i]!, this.#tuple);
      const slot = this.#slots.get(hashOf(tuple));
      if (slot === undefined || !sameTuple(this.#tuples[slot >>> PAGE_BITS]!, (slot & (PAGE - 1)) * 8, tuple)) {
        unfilled.push(i);
        slots[i] = -1;
        continue;
      }
      this.#used[slot >>> PAGE_BITS]![slot & (PAGE - 1)] = now;
      slots[i] = slot;
    }
    this.#rows.gather(slots, [user, peer]);
    this.#hits += sides.length - unfilled.length;
    this.#misses += unfilled.length;
    return unfilled;
  }

  /**
   * Stores computed rows (row r of `computed` belongs to `sides[r]`), then, past `maxEntries`,
   * drops the least recently used tenth of the entries at once (a sort per many stores, not per
   * store: recency is a stamp, so a hit costs one lookup). A tuple whose hash collides with a
   * stored one replaces it.
   */
  store(sides: readonly UserSideInfo[], computed: { user: Float32Array; peer: Float32Array }): void {
    const d = this.#dim;
    const now = ++this.#clock;
    for (let r = 0; r < sides.length; r++) {
      const tuple = tupleOf(sides[r]!, this.#tuple);
      const hash = hashOf(tuple);
      let slot = this.#slots.get(hash);
      if (slot === undefined) {
        slot = this.#free.pop() ?? this.#newSlot();
        this.#slots.set(hash, slot);
      }
      const page = slot >>> PAGE_BITS;
      const at = slot & (PAGE - 1);
      this.#tuples[page]!.set(tuple, at * 8);
      this.#hashes[page]![at] = hash;
      this.#used[page]![at] = now;
      this.#rows.write(slot, computed.user.subarray(r * d, (r + 1) * d));
      this.#rows.write(slot, computed.peer.subarray(r * d, (r + 1) * d), d);
    }
    if (this.#slots.size <= this.#maxEntries) return;
    const keep = Math.floor(0.9 * this.#maxEntries);
    const byAge = [...this.#slots.values()].sort((a, b) => this.#usedOf(a) - this.#usedOf(b));
    for (let k = 0; k < byAge.length - keep; k++) {
      const slot = byAge[k]!;
      this.#slots.delete(this.#hashes[slot >>> PAGE_BITS]![slot & (PAGE - 1)]!);
      this.#free.push(slot);
    }
    this.#evictions += byAge.length - keep;
  }

  clear(): void {
    this.#slots.clear();
    this.#rows.clear();
    this.#tuples.length = 0;
    this.#hashes.length = 0;
    this.#used.length = 0;
    this.#free.length = 0;
    this.#nextSlot = 0;
  }

  metrics(): FeatureCacheMetrics {
    return { hits: this.#hits, misses: this.#misses, size: this.#slots.size, evictions: this.#evictions };
  }

  #usedOf(slot: number): number {
    return this.#used[slot >>> PAGE_BITS]![slot & (PAGE - 1)]!;
  }

  /** A slot never used before, on a new page every PAGE slots. */
  #newSlot(): number {
    if (this.#nextSlot % PAGE === 0) {
      this.#tuples.push(new Int32Array(PAGE * 8));
      this.#hashes.push(new Int32Array(PAGE));
      this.#used.push(new Float64Array(PAGE));
    }
    return this.#nextSlot++;
  }
}

/** Whether tuples[at..at+8) holds `tuple`. */
function sameTuple(tuples: Int32Array, at: number, tuple: Int32Array): boolean {
  for (let k = 0; k < 8; k++) if (tuples[at + k] !== tuple[k]) return false;
  return true;
}
