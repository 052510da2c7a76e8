/**
 * Per-user memo of PinnerSage anchors, keyed by a fingerprint of the clustered history.
 *
 * Why it is exact: the clusters and medoids depend only on the history's vectors, and the anchors'
 * order only on importance = Σ exp(−λ·(now − t)) = exp(−λ·now) · Σ exp(λ·t). Moving `now` scales every
 * cluster's importance by the same factor, so the anchors (and their order) stay the same and their
 * importances are rescaled on a hit. This holds while no history time is after `now` (such times are
 * clamped to `now`, which breaks the factorization): those requests bypass the memo.
 */
import { fnv1a32 } from '../embed/fnv1a.js';
import type { ItemId } from '../retrieve/item-index.js';

const MS_PER_DAY = 86_400_000;

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

  /** A fingerprint of the clustered rows (ids and times, in order). */
  static fingerprint(rows: ReadonlyArray<{ id: ItemId; at: number }>): string {
    let text = '';
    for (const r of rows) text += `${typeof r.id === 'number' ? 'n' : 's'}${r.id}@${r.at};`;
    const last = rows[rows.length - 1];
    // Two independent hashes (of the text and of its reverse order's halves would be costlier): the
    // length and last time make a collision between two histories of one user even less likely.
    return `${rows.length}:${last?.at ?? 0}:${fnv1a32(text)}:${fnv1a32(text.slice(text.length >> 1))}`;
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
