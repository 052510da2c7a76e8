/**
 * Per-user match history, kept in process for the session tower's recomputation after each match:
 * the last `maxEntries` matches of each user (oldest first) and the side information the user last
 * came with. Bounded twice: entries per user, and users (least recently touched evicted first).
 */
import { LRUCache } from 'lru-cache';

import { integerInRange, optionsObject } from '../core/validate.js';
import type { HistoryEntry } from '../embed/session-tower.js';
import type { UserSideInfo } from '../embed/side-info.js';

/** Options of {@link MatchHistory}. */
export interface MatchHistoryOptions {
  /** Users kept; the least recently touched is forgotten beyond it. 1..1e8, default 100,000. */
  maxUsers?: number;
  /** Matches kept per user (the session tower reads at most its `maxHistory`). 1..65536, default 128. */
  maxEntries?: number;
}

interface UserHistory {
  entries: HistoryEntry[];
  side: UserSideInfo | undefined;
}

/**
 * A bounded, LRU map of user id → recent matches and last side information.
 *
 * @example
 * const history = new MatchHistory({ maxUsers: 50_000, maxEntries: 128 });
 * history.remember('u1', sideInfo);
 * history.append('u1', { peerId: 'u2', durationSeconds: 95 });
 * history.get('u1'); // { entries: [...], side }
 */
export class MatchHistory {
  readonly maxUsers: number;
  readonly maxEntries: number;
  // lru-cache rather than a Map kept in order by delete + set: every matchPool call touches each of
  // its users, and at N = 2,000 the Map's re-insertions rebuilt its hash table about twice per call,
  // garbage that grew the old generation into a full collection every ~35 calls. Bounded by a size
  // of 1 per user rather than `max`, which would allocate room for maxUsers (up to 1e8) up front.
  readonly #users: LRUCache<string, UserHistory>;
  #evicted = 0;

  /** @throws InvalidArgumentError naming the bad option */
  constructor(options?: MatchHistoryOptions) {
    const o = optionsObject<MatchHistoryOptions>(options, 'options');
    this.maxUsers = integerInRange(o.maxUsers ?? 100_000, 'options.maxUsers', 1, 100_000_000);
    this.maxEntries = integerInRange(o.maxEntries ?? 128, 'options.maxEntries', 1, 65536);
    this.#users = new LRUCache<string, UserHistory>({
      maxSize: this.maxUsers,
      sizeCalculation: () => 1,
      dispose: (_user, _id, reason) => {
        if (reason === 'evict') this.#evicted++;
      },
    });
  }

  /** Users held now. */
  get size(): number {
    return this.#users.size;
  }

  /** Users forgotten because of `maxUsers`. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Records the side information `id` came with (the session tower encodes it). */
  remember(id: string, side: UserSideInfo): void {
    this.#touch(id).side = side;
  }

  /** Appends a match to `id`'s history (dropping the oldest beyond `maxEntries`); returns the user's record. */
  append(id: string, entry: HistoryEntry): { readonly entries: readonly HistoryEntry[]; readonly side: UserSideInfo | undefined } {
    const user = this.#touch(id);
    user.entries.push(entry);
    if (user.entries.length > this.maxEntries) user.entries.splice(0, user.entries.length - this.maxEntries);
    return user;
  }

  /** `id`'s matches (oldest first) and last side information, or undefined when unknown. */
  get(id: string): { readonly entries: readonly HistoryEntry[]; readonly side: UserSideInfo | undefined } | undefined {
    return this.#users.peek(id);
  }

  /** The user's record, moved to the most recently used end (created if missing, evicting beyond the cap). */
  #touch(id: string): UserHistory {
    let user = this.#users.get(id);
    if (user === undefined) {
      user = { entries: [], side: undefined };
      this.#users.set(id, user);
    }
    return user;
  }
}
