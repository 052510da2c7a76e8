/**
 * The embedded {@link ActionLog}: per-user arrays in this process, with the same ordering,
 * window and retention semantics as {@link RedisActionLog}. Writes are stored synchronously, so
 * `record()` always resolves `'stored'` and `pending` is 0. Users whose last write is older than
 * `maxAgeMs` are dropped (the TTL of the Redis keys), in O(1) amortized per write.
 */
import { AbortError, ClosedError } from '../core/errors.js';
import { optionsObject } from '../core/validate.js';
import {
  checkRetention,
  checkTime,
  checkUserAction,
  checkUserId,
  checkWaitOptions,
  emptyMetrics,
  type ActionLog,
  type ActionLogMetrics,
  type ActionLogRetentionOptions,
  type ActionLogFlushOptions,
  type LoggedAction,
  type RecentActionsOptions,
  type RecordOutcome,
  type Retention,
  type UserAction,
} from './action-log.js';
import { nextActionId } from './action-codec.js';

/** Options of {@link MemoryActionLog}: retention only. */
export type MemoryActionLogOptions = ActionLogRetentionOptions;

interface UserLog {
  /** Sorted by `at`, then by recording order. */
  actions: LoggedAction[];
  /** When the user is forgotten: last write + maxAgeMs (like PEXPIRE on every write). */
  expiresAt: number;
}

/** Index of the first action with `at > time` (`strict`) or `at >= time`. */
function searchAt(actions: readonly LoggedAction[], time: number, strict: boolean): number {
  let lo = 0;
  let hi = actions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = actions[mid]!.at;
    if (at < time || (strict && at === time)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * An in-process action log (the default when no Redis is configured).
 *
 * @example
 * const log = new MemoryActionLog({ maxAgeMs: 86_400_000, maxPerUser: 500 });
 * await log.record({ userId: 'u1', itemId: 'i9', action: 'impression', at: Date.now() });
 * const lastHour = await log.recent('u1', Date.now() - 3_600_000);
 */
export class MemoryActionLog implements ActionLog {
  readonly #retention: Retention;
  // Map order = order of last write, so the users to forget are always at the front.
  readonly #users = new Map<string, UserLog>();
  readonly #metrics = emptyMetrics();
  #closed = false;

  /** @throws InvalidArgumentError naming the bad option */
  constructor(options?: MemoryActionLogOptions) {
    this.#retention = checkRetention(optionsObject<MemoryActionLogOptions>(options, 'options'));
  }

  get pending(): number {
    return 0;
  }

  /** Number of users currently held (after expiry). */
  get users(): number {
    this.#forgetExpired(this.#retention.now());
    return this.#users.size;
  }

  async record(entry: UserAction): Promise<RecordOutcome> {
    const checked = checkUserAction(entry);
    if (this.#closed) throw new ClosedError('action log');
    const now = this.#retention.now();
    this.#forgetExpired(now);
    let user = this.#users.get(checked.userId);
    if (user === undefined) user = { actions: [], expiresAt: 0 };
    else this.#users.delete(checked.userId);
    user.expiresAt = now + this.#retention.maxAgeMs;
    this.#users.set(checked.userId, user);

    const logged: LoggedAction = { id: nextActionId(), ...checked };
    // After every action with the same `at`: ties keep recording order.
    user.actions.splice(searchAt(user.actions, logged.at, true), 0, logged);
    const tooOld = searchAt(user.actions, now - this.#retention.maxAgeMs, false);
    const tooMany = user.actions.length - this.#retention.maxPerUser;
    const drop = Math.max(tooOld, tooMany);
    if (drop > 0) user.actions.splice(0, drop);
    this.#metrics.recorded++;
    this.#metrics.written++;
    return 'stored';
  }

  async recent(userId: string, sinceMs: number, options?: RecentActionsOptions): Promise<LoggedAction[]> {
    checkUserId(userId);
    checkTime(sinceMs, 'sinceMs');
    // Nothing here waits, so only the signal matters; the timeout is checked for conformance.
    const { signal } = checkWaitOptions(options, 'options', 1000, 60_000);
    if (this.#closed) throw new ClosedError('action log');
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    return this.#read(userId, sinceMs);
  }

  async flush(options?: ActionLogFlushOptions): Promise<void> {
    checkWaitOptions(options, 'options', 5000, 3_600_000);
  }

  metrics(): ActionLogMetrics {
    return { ...this.#metrics, pending: 0 };
  }

  /** Stops accepting actions and forgets every user. */
  async close(options?: ActionLogFlushOptions): Promise<void> {
    checkWaitOptions(options, 'options', 5000, 3_600_000);
    this.#closed = true;
    this.#users.clear();
  }

  #read(userId: string, sinceMs: number): LoggedAction[] {
    const now = this.#retention.now();
    const user = this.#users.get(userId);
    if (user === undefined || user.expiresAt <= now) return [];
    const from = searchAt(user.actions, Math.max(sinceMs, now - this.#retention.maxAgeMs), false);
    // Copies, so a caller cannot edit the log through the result.
    return user.actions.slice(from).map((a) => ({ ...a }));
  }

  #forgetExpired(now: number): void {
    for (const [userId, user] of this.#users) {
      if (user.expiresAt > now) break;
      this.#users.delete(userId);
    }
  }
}
