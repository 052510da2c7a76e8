/**
 * A bounded cache of feature-tower outputs keyed by the whole side information. The tower is a pure
 * function of those eight values, so a hit is what the model would compute again; in a live pool
 * the same users come back round after round, and the tower was a fifth of a matchPool call.
 */
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

interface Entry {
  readonly tuple: Int32Array;
  /** The user row and the peer row (dim floats each): whole arrays, so a hit is two `set` calls. */
  readonly user: Float32Array;
  readonly peer: Float32Array;
  /** The fill/store call that last used it: the least recently used go first. */
  used: number;
}

export class FeatureCache {
  readonly #entries = new Map<number, Entry>();
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
  }

  /**
   * Copies the cached rows of `sides` into `user`/`peer` (row i at i·dim) and returns the indices
   * it could not fill, in order.
   */
  fill(sides: readonly UserSideInfo[], user: Float32Array, peer: Float32Array): number[] {
    const d = this.#dim;
    const now = ++this.#clock;
    const unfilled: number[] = [];
    for (let i = 0; i < sides.length; i++) {
      const tuple = tupleOf(sides[i]!, this.#tuple);
      const entry = this.#entries.get(hashOf(tuple));
      if (entry === undefined || !sameTuple(entry.tuple, tuple)) {
        unfilled.push(i);
        continue;
      }
      entry.used = now;
      user.set(entry.user, i * d);
      peer.set(entry.peer, i * d);
    }
    this.#hits += sides.length - unfilled.length;
    this.#misses += unfilled.length;
    return unfilled;
  }

  /**
   * Stores computed rows (row r of `computed` belongs to `sides[r]`), then, past `maxEntries`,
   * drops the least recently used tenth of the entries at once (a sort per many stores, not per
   * store: recency is a stamp, so a hit costs one lookup).
   */
  store(sides: readonly UserSideInfo[], computed: { user: Float32Array; peer: Float32Array }): void {
    const d = this.#dim;
    const now = ++this.#clock;
    sides.forEach((side, r) => {
      const tuple = tupleOf(side, new Int32Array(8));
      const user = computed.user.slice(r * d, (r + 1) * d);
      const peer = computed.peer.slice(r * d, (r + 1) * d);
      this.#entries.set(hashOf(tuple), { tuple, user, peer, used: now });
    });
    if (this.#entries.size <= this.#maxEntries) return;
    const keep = Math.floor(0.9 * this.#maxEntries);
    const byAge = [...this.#entries].sort((a, b) => a[1].used - b[1].used);
    for (let k = 0; k < byAge.length - keep; k++) this.#entries.delete(byAge[k]![0]);
    this.#evictions += byAge.length - keep;
  }

  clear(): void {
    this.#entries.clear();
  }

  metrics(): FeatureCacheMetrics {
    return { hits: this.#hits, misses: this.#misses, size: this.#entries.size, evictions: this.#evictions };
  }
}

/** to[at..at+d) = from[offset..offset+d): a plain loop, cheaper than subarray + set for a short row. */
export function copyRow(from: Float32Array, offset: number, to: Float32Array, at: number, d: number): void {
  for (let k = 0; k < d; k++) to[at + k] = from[offset + k]!;
}

function sameTuple(a: Int32Array, b: Int32Array): boolean {
  for (let k = 0; k < 8; k++) if (a[k] !== b[k]) return false;
  return true;
}
