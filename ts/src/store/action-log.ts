/**
 * The action log: what each user recently did to which item (impressions, clicks with dwell…),
 * read by the downrank twiddler and the false-positive-click filter. Two implementations share
 * these semantics and one conformance suite: {@link MemoryActionLog} (embedded, one process) and
 * {@link RedisActionLog} (sorted sets, shared by service instances).
 *
 * Semantics both implementations keep:
 * - `recent(userId, sinceMs)` returns the user's actions with `at >= sinceMs` (inclusive; no upper
 *   bound, so future-dated actions are included), oldest first; actions with the same `at` come in
 *   the order they were recorded (by one process).
 * - Two identical actions (same user, item, action and millisecond) are two entries: each gets a
 *   unique `id` when recorded.
 * - Retention: an action older than `maxAgeMs` (by the log's clock) is never returned and is
 *   trimmed on the next write to that user; a user keeps at most `maxPerUser` actions (the newest
 *   by `at`); a user with no write for `maxAgeMs` is forgotten entirely (Redis: key TTL).
 */
import { integerInRange, invalidArgument, optionalSignal, optionsObject } from '../core/validate.js';

/** One thing a user did, as given to {@link ActionLog.record}. */
export interface UserAction {
  /** The user, a non-empty string of at most 256 characters. */
  userId: string;
  /** The item, a non-empty string of at most 256 characters. */
  itemId: string;
  /** The action type, e.g. `'impression'`, `'click'`, `'like'`: a non-empty string of at most 64 characters. */
  action: string;
  /** When it happened, ms since the epoch (a finite number). */
  at: number;
  /** How long the user stayed (clicks), ms, a finite number >= 0; absent when unknown. */
  dwellMs?: number;
}

/** An action as returned by {@link ActionLog.recent}: what was recorded, plus its unique id. */
export interface LoggedAction extends UserAction {
  /** Unique per recorded action (also across processes sharing one Redis). */
  id: string;
}

/**
 * What happened to a recorded action:
 * - `'stored'`: the store has it (Redis acknowledged the write; the memory log always).
 * - `'buffered'`: Redis was unavailable, slow (no answer within `writeTimeoutMs`), refusing
 *   writes for now (e.g. OOM), or a replay backlog was ahead of it; the action waits in this
 *   process's bounded buffer and will be written, in order, when Redis answers again (see
 *   `pending`, `flush()`). It is lost only if the process dies or `close()` cannot drain it
 *   (close then rejects, naming the count).
 */
export type RecordOutcome = 'stored' | 'buffered';

/** Options of {@link ActionLog.recent}. */
export interface RecentActionsOptions {
  /** Give up after this many ms with an ActionLogUnavailableError. 1..60000; default: the log's `readTimeoutMs`. */
  timeoutMs?: number;
  /** Cancels the read with an AbortError. */
  signal?: AbortSignal;
}

/** Options of {@link ActionLog.flush}. */
export interface ActionLogFlushOptions {
  /** Give up after this many ms with an ActionLogUnavailableError. 1..3600000; default 5000. */
  timeoutMs?: number;
  /** Cancels the wait with an AbortError (the buffered actions stay buffered). */
  signal?: AbortSignal;
}

/** Counters since the log was created. */
export interface ActionLogMetrics {
  /** Actions accepted by `record()` (stored or buffered). */
  recorded: number;
  /** Actions the store has acknowledged. */
  written: number;
  /** Actions whose `record()` resolved `'buffered'` (the store was unavailable or slow). */
  buffered: number;
  /** Buffered actions written later (a subset of `written`). */
  replayed: number;
  /** Actions accepted now and not yet acknowledged (the buffer's length). */
  pending: number;
  /** `record()` calls rejected because the buffer was full (ActionLogBufferFullError). */
  rejected: number;
  /** Accepted actions the store refused for good (e.g. a key of the wrong type); each was reported. */
  failed: number;
  /** Write attempts that failed and will be retried (connection lost, timeouts). */
  writeRetries: number;
  /** `recent()` calls that rejected with ActionLogUnavailableError. */
  readFailures: number;
  /** Stored entries that could not be decoded and were skipped (reported). */
  corrupt: number;
}

/** Retention options shared by every implementation. */
export interface ActionLogRetentionOptions {
  /** Forget actions older than this, ms. 1..2^53-1, default 7 days. */
  maxAgeMs?: number;
  /** Keep at most this many actions per user (the newest). 1..10^7, default 1000. */
  maxPerUser?: number;
  /** The clock used for ages, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * A per-user log of recent actions.
 *
 * @example
 * await log.record({ userId: 'u1', itemId: 'i9', action: 'click', at: Date.now(), dwellMs: 1200 });
 * try {
 *   const seen = await log.recent('u1', Date.now() - 3_600_000, { timeoutMs: 50 });
 * } catch (error) {
 *   if (error instanceof ActionLogUnavailableError) serveDegraded();
 * }
 */
export interface ActionLog {
  /**
   * Records one action. Resolves once the write is accepted: see {@link RecordOutcome}.
   *
   * @throws (rejects) InvalidArgumentError naming the bad field (`entry.userId`, `entry.at`…);
   *   ActionLogBufferFullError when the buffer is full (the action is NOT recorded);
   *   ClosedError after `close()`
   */
  record(entry: UserAction): Promise<RecordOutcome>;

  /**
   * The user's actions with `at >= sinceMs`, oldest first (never older than `maxAgeMs`).
   *
   * @param userId the user
   * @param sinceMs the window's inclusive lower bound, ms since the epoch (finite)
   * @throws (rejects) InvalidArgumentError; ActionLogUnavailableError when the store does not
   *   answer within the timeout (never hangs); AbortError when `options.signal` aborts
   */
  recent(userId: string, sinceMs: number, options?: RecentActionsOptions): Promise<LoggedAction[]>;

  /** Actions accepted but not yet acknowledged by the store (0 for the memory log). */
  readonly pending: number;

  /**
   * Resolves once every action accepted so far is stored.
   *
   * @throws (rejects) ActionLogUnavailableError on timeout; AbortError
   */
  flush(options?: ActionLogFlushOptions): Promise<void>;

  /** A snapshot of the counters. */
  metrics(): ActionLogMetrics;

  /**
   * Stops accepting actions, drains the buffer (within `options.timeoutMs`) and releases what the
   * log opened.
   *
   * @throws (rejects) ActionLogUnavailableError when buffered actions could not be written (their
   *   count is in the message); the log is closed anyway
   */
  close(options?: ActionLogFlushOptions): Promise<void>;
}

/** Default retention: 7 days, 1000 actions per user. */
export const defaultMaxAgeMs = 7 * 24 * 3600 * 1000;
export const defaultMaxPerUser = 1000;

const maxIdLength = 256;
const maxActionLength = 64;

function checkName(value: unknown, argument: string, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw invalidArgument(argument, `a non-empty string of at most ${maxLength} characters`, value);
  }
  return value;
}

/** `value` as a user id, or an InvalidArgumentError naming `argument`. */
export function checkUserId(value: unknown, argument = 'userId'): string {
  return checkName(value, argument, maxIdLength);
}

/** `value` as a finite number (a time in ms), or an InvalidArgumentError naming `argument`. */
export function checkTime(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(argument, 'a finite number (ms since the epoch)', value);
  return value;
}

/**
 * Checks a `record()` argument and returns a copy holding only the known fields (so a caller
 * mutating its object later changes nothing).
 */
export function checkUserAction(value: unknown): UserAction {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument('entry', 'an object { userId, itemId, action, at, dwellMs? }', value);
  }
  const v = value as Record<string, unknown>;
  const entry: UserAction = {
    userId: checkName(v.userId, 'entry.userId', maxIdLength),
    itemId: checkName(v.itemId, 'entry.itemId', maxIdLength),
    action: checkName(v.action, 'entry.action', maxActionLength),
    at: checkTime(v.at, 'entry.at'),
  };
  if (v.dwellMs !== undefined) {
    if (typeof v.dwellMs !== 'number' || !Number.isFinite(v.dwellMs) || v.dwellMs < 0) {
      throw invalidArgument('entry.dwellMs', 'a finite number >= 0 (ms) or undefined', v.dwellMs);
    }
    entry.dwellMs = v.dwellMs;
  }
  return entry;
}

/** Checked `recent()` / `flush()` options. */
export interface CheckedWaitOptions {
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** Checks `recent()`/`flush()`/`close()` options; `defaultTimeoutMs` fills a missing timeout. */
export function checkWaitOptions(value: unknown, argument: string, defaultTimeoutMs: number, maxTimeoutMs: number): CheckedWaitOptions {
  const o = optionsObject<RecentActionsOptions>(value, argument);
  return {
    timeoutMs: integerInRange(o.timeoutMs ?? defaultTimeoutMs, `${argument}.timeoutMs`, 1, maxTimeoutMs),
    signal: optionalSignal(o.signal, `${argument}.signal`),
  };
}

/** Checked retention options. */
export interface Retention {
  maxAgeMs: number;
  maxPerUser: number;
  now: () => number;
}

/** Checks the retention options of a log's constructor options `o`. */
export function checkRetention(o: ActionLogRetentionOptions): Retention {
  const now = o.now ?? Date.now;
  if (typeof now !== 'function') throw invalidArgument('options.now', 'a function returning ms since the epoch', now);
  return {
    maxAgeMs: integerInRange(o.maxAgeMs ?? defaultMaxAgeMs, 'options.maxAgeMs', 1, Number.MAX_SAFE_INTEGER),
    maxPerUser: integerInRange(o.maxPerUser ?? defaultMaxPerUser, 'options.maxPerUser', 1, 10_000_000),
    now,
  };
}

/** Zeroed counters. */
export function emptyMetrics(): ActionLogMetrics {
  return {
    recorded: 0,
    written: 0,
    buffered: 0,
    replayed: 0,
    pending: 0,
    rejected: 0,
    failed: 0,
    writeRetries: 0,
    readFailures: 0,
    corrupt: 0,
  };
}
