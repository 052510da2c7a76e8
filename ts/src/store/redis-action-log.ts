/**
 * An {@link ActionLog} in Redis, shared by every service instance. One sorted set per user,
 * `<keyPrefix><userId>`: score = `at` (ms), member = the compact serialized action (see
 * action-codec.ts). A window is one `ZRANGE key min +inf BYSCORE` (Redis >= 6.2); every write also
 * trims by age (`ZREMRANGEBYSCORE`) and count (`ZREMRANGEBYRANK`) and renews the key's TTL
 * (`PEXPIRE maxAgeMs`).
 *
 * Writes go through one in-process FIFO buffer, drained by a single writer that sends up to
 * `batchSize` actions per pipeline (concurrent `record()` calls share one round trip) and
 * one pipeline at a time, so actions reach Redis in the order they were recorded. When Redis is
 * down or slow the buffer keeps them (bounded by `maxBuffered`) and the writer replays them, in
 * order, once the connection is ready again. A replayed action is the same member as before, so
 * a batch that Redis applied but whose reply was lost is not duplicated by the replay.
 *
 * "Accepted" ({@link RecordOutcome}): `record()` resolves `'stored'` once Redis acknowledged the
 * write, or `'buffered'` as soon as Redis is known to be unavailable (disconnected, last write
 * failed, replay backlog ahead) or has not answered within `writeTimeoutMs`; so it never waits
 * much longer than `writeTimeoutMs`. It rejects with ActionLogBufferFullError when the buffer is
 * full: an action is never dropped silently. `pending` and `flush()` expose the buffer. A write
 * Redis refuses for good (WRONGTYPE…) rejects its `record()` with StoreError, or, if that already
 * resolved `'buffered'`, is counted in `failed` and emitted as `'store-error'`.
 *
 * Reads never wait for a reconnect: while the connection is not ready, `recent()` rejects at once
 * with ActionLogUnavailableError, and otherwise after `timeoutMs` at most. A successful read also
 * includes the user's actions still in this process's buffer (read-your-writes during a replay).
 *
 * Redis Cluster is not supported by this class (its pipelines span users' keys).
 */
import { EventEmitter } from 'node:events';

import { Redis, ReplyError } from 'ioredis';

import { AbortError, ActionLogBufferFullError, ActionLogUnavailableError, ClosedError, StoreError } from '../core/errors.js';
import { integerInRange, invalidArgument, optionsObject } from '../core/validate.js';
import { redisClient } from './redis-client.js';
import { withDeadline } from './action-log-deadline.js';
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
import { decodeAction, encodeAction, nextActionId } from './action-codec.js';

/** Options of {@link RedisActionLog}: a connection (exactly one of `url` and `client`), retention, timeouts and the buffer. */
export interface RedisActionLogOptions extends ActionLogRetentionOptions {
  /**
   * A Redis URL (`redis://host:port/db`). The log opens its own connection, configured to fail
   * fast while Redis is down (no offline queue, no per-command retries, 1 s connect timeout,
   * reconnect every 50..1000 ms forever), and closes it in `close()`.
   */
  url?: string;
  /**
   * An ioredis client you own; `close()` leaves it open. For fast failure configure it with
   * `enableOfflineQueue: false`, `maxRetriesPerRequest: 0` and a `retryStrategy` that keeps
   * reconnecting; the log's own deadlines apply either way.
   */
  client?: Redis;
  /** Key prefix. Default `'kindred:actions:'`. */
  keyPrefix?: string;
  /** Default deadline of `recent()`, ms. 1..60000, default 100. */
  readTimeoutMs?: number;
  /** `record()` resolves `'buffered'` when Redis has not acknowledged within this many ms. 1..60000, default 250. */
  writeTimeoutMs?: number;
  /** Most actions held while Redis is unavailable; beyond, `record()` rejects. 1..10^7, default 10000. */
  maxBuffered?: number;
  /** Most actions per pipeline. 1..10000, default 256. */
  batchSize?: number;
}

/** One accepted action on its way to Redis. */
interface PendingWrite {
  readonly key: string;
  readonly member: string;
  readonly action: LoggedAction;
  /** Set until `record()` has settled. */
  resolve: ((outcome: RecordOutcome) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

/** Redis replies that say "not now" rather than "never": the batch is retried. */
const transientReplies = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|OOM|NOREPLICAS|MISCONF)\b/;

function isPermanent(error: Error): boolean {
  return error instanceof ReplyError && !transientReplies.test(error.message);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Redis action log. Emits `'store-error'` (StoreError) for every Redis failure it absorbs
 * (failed writes that will be retried, actions Redis refused for good, corrupt members).
 *
 * @example
 * const log = new RedisActionLog({ url: 'redis://127.0.0.1:6379', maxAgeMs: 86_400_000 });
 * await log.record({ userId: 'u1', itemId: 'i9', action: 'click', at: Date.now(), dwellMs: 800 });
 * const day = await log.recent('u1', Date.now() - 86_400_000, { timeoutMs: 50 });
 * await log.close();
 */
export class RedisActionLog extends EventEmitter implements ActionLog {
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #retention: Retention;
  readonly #readTimeoutMs: number;
  readonly #writeTimeoutMs: number;
  // A pipeline that gets no answer at all is abandoned (and its actions resent) after this long.
  readonly #sendTimeoutMs: number;
  readonly #maxBuffered: number;
  readonly #batchSize: number;
  readonly #metrics = emptyMetrics();
  readonly #queue: PendingWrite[] = [];
  readonly #drained = new Set<() => void>();
  readonly #onReady = (): void => this.#wakeWriter();
  readonly #onError = (error: unknown): void => void this.#report('connection', error, true);
  #writing = false;
  // The last pipeline failed or took longer than writeTimeoutMs: until one succeeds, answer new
  // records 'buffered' at once instead of making them wait for the retry.
  #stalled = false;
  #wake: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #disposed = false;

  /** @throws InvalidArgumentError naming the bad option */
  constructor(options: RedisActionLogOptions) {
    super();
    const o = optionsObject<RedisActionLogOptions>(options, 'options');
    this.#retention = checkRetention(o);
    this.#readTimeoutMs = integerInRange(o.readTimeoutMs ?? 100, 'options.readTimeoutMs', 1, 60_000);
    this.#writeTimeoutMs = integerInRange(o.writeTimeoutMs ?? 250, 'options.writeTimeoutMs', 1, 60_000);
    this.#sendTimeoutMs = Math.max(2000, 4 * this.#writeTimeoutMs);
    this.#maxBuffered = integerInRange(o.maxBuffered ?? 10_000, 'options.maxBuffered', 1, 10_000_000);
    this.#batchSize = integerInRange(o.batchSize ?? 256, 'options.batchSize', 1, 10_000);
    this.#prefix = o.keyPrefix ?? 'kindred:actions:';
    if (typeof this.#prefix !== 'string') throw invalidArgument('options.keyPrefix', 'a string', this.#prefix);
    ({ client: this.#client, owned: this.#owned } = redisClient(o, {
      // Fail fast while disconnected: the log keeps its own ordered buffer and replays it,
      // so ioredis must neither queue commands offline nor resend them behind our back.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 1000,
      commandTimeout: this.#sendTimeoutMs,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
    }));
    this.#client.on('ready', this.#onReady);
    // ioredis reports connection errors as events; count them instead of letting them go unhandled.
    this.#client.on('error', this.#onError);
  }

  /** The key prefix; a user's actions live at `keyPrefix + userId`. */
  get keyPrefix(): string {
    return this.#prefix;
  }

  /** Actions accepted and not yet acknowledged by Redis. */
  get pending(): number {
    return this.#queue.length;
  }

  /** True while Redis is connected and the last write was answered in time. */
  get available(): boolean {
    return this.#client.status === 'ready' && !this.#stalled;
  }

  async record(entry: UserAction): Promise<RecordOutcome> {
    const checked = checkUserAction(entry);
    if (this.#closed) throw new ClosedError('action log');
    if (this.#queue.length >= this.#maxBuffered) {
      this.#metrics.rejected++;
      throw new ActionLogBufferFullError(this.#maxBuffered);
    }
    const action: LoggedAction = { id: nextActionId(), ...checked };
    return new Promise<RecordOutcome>((resolve, reject) => {
      const write: PendingWrite = { key: this.#prefix + action.userId, member: encodeAction(action.id, action), action, resolve, reject };
      this.#queue.push(write);
      this.#metrics.recorded++;
      // Behind a replay backlog (more than one pipeline ahead) it is buffered too, so
      // record() answers within about writeTimeoutMs even while a backlog drains.
      if (!this.available || this.#queue.length > this.#batchSize) this.#settleBuffered(write);
      // A microtask later, so records issued together in this tick share one pipeline.
      if (!this.#writing) queueMicrotask(() => void this.#drain());
    });
  }

  async recent(userId: string, sinceMs: number, options?: RecentActionsOptions): Promise<LoggedAction[]> {
    checkUserId(userId);
    checkTime(sinceMs, 'sinceMs');
    const { timeoutMs, signal } = checkWaitOptions(options, 'options', this.#readTimeoutMs, 60_000);
    if (this.#closed) throw new ClosedError('action log');
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const status = this.#client.status;
    if (status !== 'ready') {
      this.#metrics.readFailures++;
      throw new ActionLogUnavailableError(`The action log cannot read: the Redis connection is ${status}`);
    }
    const from = Math.max(sinceMs, this.#retention.now() - this.#retention.maxAgeMs);
    let members: string[];
    try {
      members = await withDeadline(
        this.#client.zrange(this.#prefix + userId, from, '+inf', 'BYSCORE'),
        timeoutMs,
        signal,
        () => new ActionLogUnavailableError(`The action log did not answer within ${timeoutMs} ms`),
      );
    } catch (error) {
      if (error instanceof AbortError) throw error;
      this.#metrics.readFailures++;
      if (error instanceof ActionLogUnavailableError) throw error;
      throw new ActionLogUnavailableError(`The action log cannot read: ${errorMessage(error)}`, { cause: error });
    }
    const actions: LoggedAction[] = [];
    for (const member of members) {
      const action = decodeAction(member);
      if (action === undefined) {
        this.#metrics.corrupt++;
        this.#report('read', new Error(`skipped a member of ${this.#prefix}${userId} that is not an action: ${member.slice(0, 80)}`), false);
      } else {
        actions.push(action);
      }
    }
    return this.#withBuffered(actions, userId, from);
  }

  async flush(options?: ActionLogFlushOptions): Promise<void> {
    const { timeoutMs, signal } = checkWaitOptions(options, 'options', 5000, 3_600_000);
    if (this.#queue.length === 0) return;
    let done: (() => void) | undefined;
    const drained = new Promise<void>((resolve) => {
      done = resolve;
      this.#drained.add(resolve);
    });
    this.#wakeWriter();
    try {
      await withDeadline(
        drained,
        timeoutMs,
        signal,
        () => new ActionLogUnavailableError(`The action log still holds ${this.#queue.length} unwritten actions after ${timeoutMs} ms`),
      );
    } finally {
      this.#drained.delete(done!);
    }
  }

  metrics(): ActionLogMetrics {
    return { ...this.#metrics, pending: this.#queue.length };
  }

  /**
   * Stops accepting actions, waits up to `options.timeoutMs` (default 5000) for the buffer to
   * drain, then stops the writer and closes the connection if the log opened it.
   *
   * @throws (rejects) ActionLogUnavailableError naming how many accepted actions were not written
   */
  close(options?: ActionLogFlushOptions): Promise<void> {
    let checked: ReturnType<typeof checkWaitOptions>;
    try {
      checked = checkWaitOptions(options, 'options', 5000, 3_600_000);
    } catch (error) {
      return Promise.reject(error);
    }
    // A second close() gets the first one's answer.
    this.#closing ??= this.#close(checked);
    return this.#closing;
  }

  async #close(checked: ActionLogFlushOptions): Promise<void> {
    this.#closed = true;
    let failure: unknown;
    try {
      await this.flush(checked);
    } catch (error) {
      failure = error;
    }
    this.#disposed = true;
    const unwritten = this.#queue.length;
    for (const write of this.#queue) this.#settleBuffered(write);
    this.#wakeWriter();
    this.#client.off('ready', this.#onReady);
    if (this.#owned) {
      if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect());
      else this.#client.disconnect();
    } else {
      // Our connection keeps its listener (a late socket error must not go unhandled); yours gets it back.
      this.#client.off('error', this.#onError);
    }
    if (unwritten > 0) {
      throw new ActionLogUnavailableError(`The action log closed with ${unwritten} accepted actions not written to Redis`, {
        cause: failure,
      });
    }
  }

  /** Adds the user's still-buffered actions in the window to what Redis returned, without duplicates. */
  #withBuffered(stored: LoggedAction[], userId: string, from: number): LoggedAction[] {
    if (this.#queue.length === 0) return stored;
    const key = this.#prefix + userId;
    const ids = new Set(stored.map((a) => a.id));
    let added = false;
    for (const write of this.#queue) {
      if (write.key === key && write.action.at >= from && !ids.has(write.action.id)) {
        stored.push({ ...write.action });
        added = true;
      }
    }
    if (!added) return stored;
    // The order Redis uses: score, then member bytes, which start with the fixed-width id.
    stored.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // What the count trim will leave once the buffer is written.
    return stored.length > this.#retention.maxPerUser ? stored.slice(-this.#retention.maxPerUser) : stored;
  }

  /** The single writer: sends the buffer's head, one pipeline at a time, until it is empty. */
  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    let failures = 0;
    try {
      while (this.#queue.length > 0 && !this.#disposed) {
        if (this.#client.status !== 'ready') {
          for (const write of this.#queue) this.#settleBuffered(write);
          await this.#sleep(1000); // woken early by 'ready' or close()
          continue;
        }
        if (await this.#send(this.#queue.slice(0, this.#batchSize))) {
          failures = 0;
        } else {
          failures++;
          for (const write of this.#queue) this.#settleBuffered(write);
          await this.#sleep(Math.min(25 * 2 ** failures, 1000));
        }
      }
    } finally {
      this.#writing = false;
      if (this.#queue.length === 0) {
        for (const done of this.#drained) done();
      }
    }
  }

  /** Writes `batch` (the head of the buffer) in one pipeline; false when it must be retried. */
  async #send(batch: PendingWrite[]): Promise<boolean> {
    const byKey = new Map<string, PendingWrite[]>();
    for (const write of batch) {
      const writes = byKey.get(write.key);
      if (writes === undefined) byKey.set(write.key, [write]);
      else writes.push(write);
    }
    const cutoff = this.#retention.now() - this.#retention.maxAgeMs;
    const pipeline = this.#client.pipeline();
    for (const [key, writes] of byKey) {
      const args: Array<string | number> = [];
      for (const write of writes) args.push(write.action.at, write.member);
      pipeline.zadd(key, ...args);
      pipeline.zremrangebyscore(key, '-inf', `(${cutoff}`);
      pipeline.zremrangebyrank(key, 0, -(this.#retention.maxPerUser + 1));
      pipeline.pexpire(key, this.#retention.maxAgeMs);
    }
    const stallTimer = setTimeout(() => {
      this.#stalled = true;
      for (const write of this.#queue) this.#settleBuffered(write);
    }, this.#writeTimeoutMs);
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await withDeadline(pipeline.exec(), this.#sendTimeoutMs, undefined, () => new Error(`no reply within ${this.#sendTimeoutMs} ms`));
      if (replies === null) throw new Error('the pipeline was discarded');
    } catch (error) {
      this.#retryLater(batch, error);
      return false;
    } finally {
      clearTimeout(stallTimer);
    }
    // Four replies per key, in byKey's order: ZADD, two trims, PEXPIRE.
    const refused = new Map<string, Error>();
    let index = 0;
    for (const key of byKey.keys()) {
      for (let command = 0; command < 4; command++, index++) {
        const reply = replies[index];
        const error = reply === undefined ? new Error('no reply') : reply[0];
        if (error === null) continue;
        if (!isPermanent(error)) {
          this.#retryLater(batch, error);
          return false;
        }
        // A refused ZADD loses the key's actions; a refused trim or PEXPIRE is only reported.
        if (command === 0) refused.set(key, error);
        else if (!refused.has(key)) this.#report(`trimming ${key}`, error, false);
      }
    }
    this.#queue.splice(0, batch.length);
    this.#stalled = false;
    for (const write of batch) {
      const error = refused.get(write.key);
      if (error !== undefined) this.#fail(write, error);
      else this.#settleStored(write);
    }
    return true;
  }

  #retryLater(batch: PendingWrite[], error: unknown): void {
    this.#metrics.writeRetries += batch.length;
    this.#stalled = true;
    this.#report('write (will retry)', error, true);
  }

  #settleStored(write: PendingWrite): void {
    this.#metrics.written++;
    if (write.resolve === undefined) {
      this.#metrics.replayed++;
      return;
    }
    write.resolve('stored');
    write.resolve = write.reject = undefined;
  }

  #settleBuffered(write: PendingWrite): void {
    if (write.resolve === undefined) return;
    this.#metrics.buffered++;
    write.resolve('buffered');
    write.resolve = write.reject = undefined;
  }

  /** Redis refused `write` for good: its `record()` rejects, or (already resolved) it is reported. */
  #fail(write: PendingWrite, cause: Error): void {
    this.#metrics.failed++;
    const error = this.#report(`write of an action for ${write.key}`, cause, false);
    if (write.reject !== undefined) {
      write.reject(error);
      write.resolve = write.reject = undefined;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  #wakeWriter(): void {
    if (this.#wake !== undefined) this.#wake();
    else if (!this.#writing && this.#queue.length > 0 && !this.#disposed) void this.#drain();
  }

  #report(what: string, error: unknown, retryable: boolean): StoreError {
    const storeError = new StoreError(`Redis action log ${what} failed: ${errorMessage(error)}`, { cause: error, retryable });
    if (this.listenerCount('store-error') > 0) this.emit('store-error', storeError);
    return storeError;
  }
}
