/**
 * Per-user memo of PinnerSage anchors, keyed by a fingerprint of the clustered history.
 *
 * Why it is exact: the clusters and medoids depend only on the history's vectors, and the anchors'
 * order only on importance = Σ exp(−λ·(now − t)) = exp(−λ·now) · Σ exp(λ·t). Moving `now` scales every
 * cluster's importance by the same factor, so the anchors (and their order) stay the same and their
 * importances are rescaled on a hit. This holds while no history time is after `now` (such times are
 * clamped to `now`, which breaks the factorization): those requests bypass the memo.
 */
import type { ItemId } from '../retrieve/item-index.js';

const MS_PER_DAY = 86_400_000;

/** A float64 and its two 32-bit words (for hashing numbers exactly). */
const FLOAT = new Float64Array(1);
const WORDS = new Uint32Array(FLOAT.buffer);

/** A memoized anchor. */
export interface MemoAnchor {
  readonly itemId: ItemId;
  readonly vector: Float32Array;
  readonly importance: number;
}

interface Entry {
  readonly fingerprint: string;
  readonly now: number;
  readonly anchors: readonly MemoAnchor[];
}

/** LRU of each user's last anchors. */
export class AnchorMemo {
  readonly #entries = new Map<string, Entry>();
  readonly #maxUsers: number;
  readonly #lambdaPerDay: number;
  hits = 0;
  misses = 0;

  constructor(maxUsers: number, lambdaPerDay: number) {
    this.#maxUsers = maxUsers;
    this.#lambdaPerDay = lambdaPerDay;
  }

  /**
   * A fingerprint of the clustered rows (ids and times, in order): two independent 32-bit hashes
   * of the rows' words (id type, id as its float64 words or its UTF-16 code units, time as its
   * float64 words), with the row count and the last time. Hashing numbers directly, without a text
   * form of the history, keeps this off the allocation path of every request.
   */
  static fingerprint(rows: ReadonlyArray<{ id: ItemId; at: number }>): string {
    let h1 = 2166136261;
    let h2 = 0x9747b28c;
    const mix = (word: number) => {
      h1 = Math.imul(h1 ^ word, 16777619);
      h2 = Math.imul(h2 ^ Math.imul(word, 0xcc9e2d51), 0x1b873593);
      h2 = (h2 << 13) | (h2 >>> 19);
    };
    for (const r of rows) {
      const id = r.id;
      if (typeof id === 'number') {
        mix(1);
        FLOAT[0] = id;
        mix(WORDS[0]!);
        mix(WORDS[1]!);
      } else {
        mix(2);
        mix(id.length);
        for (let k = 0; k < id.length; k++) mix(id.charCodeAt(k));
      }
      FLOAT[0] = r.at;
      mix(WORDS[0]!);
      mix(WORDS[1]!);
    }
    const last = rows[rows.length - 1];
    return `${rows.length}:${last?.at ?? 0}:${h1 >>> 0}:${h2 >>> 0}`;
  }

  /** The user's anchors at `now` if the fingerprint matches, importances rescaled; else undefined. */
  get(userId: string, fingerprint: string, now: number): MemoAnchor[] | undefined {
    const entry = this.#entries.get(userId);
    if (entry === undefined || entry.fingerprint !== fingerprint) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#entries.delete(userId);
    this.#entries.set(userId, entry);
    const scale = Math.exp((-this.#lambdaPerDay * (now - entry.now)) / MS_PER_DAY);
    return entry.anchors.map((a) => ({ itemId: a.itemId, vector: a.vector, importance: a.importance * scale }));
  }

  set(userId: string, fingerprint: string, now: number, anchors: readonly MemoAnchor[]): void {
    this.#entries.delete(userId);
    this.#entries.set(userId, { fingerprint, now, anchors });
    while (this.#entries.size > this.#maxUsers) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  get size(): number {
    return this.#entries.size;
  }
}
