/**
 * Per-user match history, kept in process for the session tower's recomputation after each match:
 * the last `maxEntries` matches of each user (oldest first) and the side information the user last
 * came with. Bounded twice: entries per user, and users (least recently touched evicted first).
 */
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
  readonly #users = new Map<string, UserHistory>();
  #evicted = 0;

  /** @throws InvalidArgumentError naming the bad option */
  constructor(options?: MatchHistoryOptions) {
    const o = optionsObject<MatchHistoryOptions>(options, 'options');
    this.maxUsers = integerInRange(o.maxUsers ?? 100_000, 'options.maxUsers', 1, 100_000_000);
    this.maxEntries = integerInRange(o.maxEntries ?? 128, 'options.maxEntries', 1, 65536);
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
    return this.#users.get(id);
  }

  /** The user's record, moved to the most recently used end (created if missing, evicting beyond the cap). */
  #touch(id: string): UserHistory {
    let user = this.#users.get(id);
    if (user !== undefined) {
      this.#users.delete(id);
    } else {
      user = { entries: [], side: undefined };
      if (this.#users.size >= this.maxUsers) {
        const [oldest] = this.#users.keys();
        this.#users.delete(oldest!);
        this.#evicted++;
      }
    }
    this.#users.set(id, user);
    return user;
  }
}
