/**
 * The session tower (a causal transformer over [user id, side info, past matches]) is too slow
 * for the request path, so it runs asynchronously after each match: {@link SessionTower.update}
 * queues a recomputation and returns at once; the result lands in an {@link EmbeddingMemory},
 * where requests read whatever is there (seconds of staleness cost little).
 */
import { EventEmitter } from 'node:events';

import { ClosedError, InvalidArgumentError, QueueFullError } from '../core/errors.js';
import { integerInRange, invalidArgument, optionsObject } from '../core/validate.js';
import type { EmbeddingMemory } from '../store/embedding-memory.js';
import type { StalenessMetrics } from '../store/staleness.js';
import { hashBucket, parseHashing, type HashingSpec } from './fnv1a.js';
import type { ModelPool } from './model-pool.js';
import { metadataJson } from './onnx-metadata.js';
import { readVocab, sideInfoFeeds, type SideInfoVocab, type UserSideInfo } from './side-info.js';
import { towerModel } from './tower-model.js';

/** One past match of the user, oldest first in a history. */
export interface HistoryEntry {
  /** The partner's id (hashed into the model's table). */
  peerId: string | number;
  /** How long the chat lasted, in seconds (finite, ≥ 0). */
  durationSeconds: number;
}

/** Options of {@link SessionTower}. */
export interface SessionTowerOptions {
  /** The model's name in the pool. Default `'session-tower'`. */
  model?: string;
  /** Updates waiting to run; beyond it the oldest waiting update is dropped. 1..1e7, default 10000. */
  maxPending?: number;
  /** Updates running at once (the pool batches them). 1..4096, default 64. */
  concurrency?: number;
  /** Most recent matches fed to the model. Default: metadata `kindred.max_history`, else 128. */
  maxHistory?: number;
  /** Hashing of `user_hash`/`history_peer_hash`. Default: metadata `kindred.hashing`; required without it. */
  hashing?: HashingSpec;
}

/** Per-call options of {@link SessionTower.update}. */
export interface SessionUpdateOptions {
  /** The version the result is stored under (a late, older one never overwrites a newer one). Default: a monotonic clock in ms. */
  version?: number;
}

/** The tower's queue and throughput, next to the memory's read staleness. */
export interface SessionTowerMetrics {
  /** Updates waiting. */
  queued: number;
  /** Updates running now. */
  inFlight: number;
  /** Updates stored (or found stale against a newer version). */
  completed: number;
  /** Updates that failed (model or store errors). */
  failed: number;
  /** Updates dropped because the queue was full. */
  dropped: number;
  /** Waiting updates replaced by a newer update of the same user before they ran. */
  superseded: number;
  /** Completions per second over the last minute. */
  recomputeRatePerSec: number;
}

interface Job {
  readonly userId: string;
  readonly feeds: Record<string, BigInt64Array | Float32Array>;
  readonly version: number;
}

const rateWindowMs = 60_000;

/**
 * Recomputes session embeddings in the background and stores them in an embedding memory.
 *
 * Events (never `'error'`, so nothing throws at a caller later): `'updated'` (userId, version,
 * stored: boolean) and `'failed'` (error, userId).
 *
 * @example
 * const tower = new SessionTower(pool, memory);
 * tower.update('u42', [{ peerId: 'u7', durationSeconds: 95 }], sideInfo); // returns at once
 */
export class SessionTower extends EventEmitter {
  readonly #pool: ModelPool;
  readonly #memory: EmbeddingMemory;
  readonly #model: string;
  readonly #maxPending: number;
  readonly #concurrency: number;
  readonly #pending = new Map<string, Job>();
  readonly #completions: number[] = [];
  readonly #idle: Array<() => void> = [];
  readonly #counts = { completed: 0, failed: 0, dropped: 0, superseded: 0 };
  #inFlight = 0;
  #lastVersion = 0;
  #closed = false;
  /** Floats per side. */
  readonly dim: number;
  readonly maxHistory: number;
  readonly vocab: SideInfoVocab;
  readonly hashing: HashingSpec;

  /**
   * @param pool a pool where the session-tower model is loaded
   * @param memory where results are stored (its `dim` must match the model's)
   * @throws InvalidArgumentError for bad options, a model not loaded, a dim mismatch or no hashing spec
   * @throws ModelError when the model breaks the session-tower contract
   */
  constructor(pool: ModelPool, memory: EmbeddingMemory, options?: SessionTowerOptions) {
    super();
    const o = optionsObject<SessionTowerOptions>(options, 'options');
    this.#pool = pool;
    this.#memory = memory;
    this.#model = o.model ?? 'session-tower';
    this.#maxPending = integerInRange(o.maxPending ?? 10_000, 'options.maxPending', 1, 10_000_000);
    this.#concurrency = integerInRange(o.concurrency ?? 64, 'options.concurrency', 1, 4096);
    const { model, dim } = towerModel(pool, this.#model, ['user_hash', 'history_peer_hash', 'history_log_duration', 'history_length']);
    if (memory.dim !== dim) throw invalidArgument('memory', `an embedding memory of dim ${dim} (the model's width)`, `dim ${memory.dim}`);
    this.dim = dim;
    this.vocab = readVocab(model.metadata);
    const declaredMax = metadataJson(model.metadata, 'kindred.max_history');
    this.maxHistory = integerInRange(o.maxHistory ?? (Number.isInteger(declaredMax) ? declaredMax : 128), 'options.maxHistory', 1, 65536);
    const hashing = o.hashing ?? parseHashing(metadataJson(model.metadata, 'kindred.hashing'));
    if (hashing === undefined || parseHashing(hashing) === undefined) {
      throw new InvalidArgumentError('options.hashing', '{ buckets, shift } (the model has no kindred.hashing metadata)', String(hashing));
    }
    this.hashing = hashing;
  }

  /**
   * Queues a recomputation of `userId`'s session embedding and returns at once. A waiting update
   * of the same user is replaced by this one. Failures are counted and emitted as `'failed'`.
   * An empty history (a cold user) stores nothing: readers use a zero session vector.
   *
   * @param history past matches, oldest first (only the last `maxHistory` are used)
   * @param sideInfo the user's side information now
   * @throws InvalidArgumentError naming a bad argument (checked before queueing); ClosedError after close()
   */
  update(userId: string, history: readonly HistoryEntry[], sideInfo: UserSideInfo, options?: SessionUpdateOptions): void {
    if (this.#closed) throw new ClosedError('session tower');
    if (typeof userId !== 'string' || userId.length === 0) throw invalidArgument('userId', 'a non-empty string', userId);
    if (!Array.isArray(history)) throw invalidArgument('history', 'an array of { peerId, durationSeconds }', history);
    const o = optionsObject<SessionUpdateOptions>(options, 'options');
    const version = o.version ?? this.#nextVersion();
    if (typeof version !== 'number' || !Number.isFinite(version) || version < 0) {
      throw invalidArgument('options.version', 'a finite number >= 0', version);
    }
    const feeds = this.#encode(userId, history, sideInfo);
    if (feeds === undefined) return;
    if (this.#pending.has(userId)) {
      this.#counts.superseded++;
    } else if (this.#pending.size >= this.#maxPending) {
      const [oldest] = this.#pending.keys();
      this.#pending.delete(oldest!);
      this.#counts.dropped++;
      this.#emitFailed(new QueueFullError('session tower', this.#maxPending), oldest!);
    }
    this.#pending.set(userId, { userId, feeds, version });
    this.#pump();
  }

  /** Queue, throughput and failure counters. */
  metrics(): SessionTowerMetrics {
    this.#trimRate(Date.now());
    return {
      queued: this.#pending.size,
      inFlight: this.#inFlight,
      ...this.#counts,
      recomputeRatePerSec: this.#completions.length / (rateWindowMs / 1000),
    };
  }

  /** The memory's read staleness together with this tower's queue and recompute rate. */
  staleness(): StalenessMetrics & { tower: SessionTowerMetrics } {
    return { ...this.#memory.staleness(), tower: this.metrics() };
  }

  /** Resolves when nothing is waiting or running (for shutdown and tests). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0 || this.#inFlight > 0) await new Promise<void>((r) => this.#idle.push(r));
  }

  /** Stops accepting updates and waits for the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #nextVersion(): number {
    this.#lastVersion = Math.max(Date.now(), this.#lastVersion + 1);
    return this.#lastVersion;
  }

  /** The model inputs of one user (one row), or undefined for a cold user. */
  #encode(userId: string, history: readonly HistoryEntry[], sideInfo: UserSideInfo): Job['feeds'] | undefined {
    const side = sideInfoFeeds([sideInfo], this.vocab, 'sideInfo', () => 'sideInfo');
    const recent = history.slice(Math.max(0, history.length - this.maxHistory));
    recent.forEach((entry, i) => {
      const at = `history[${history.length - recent.length + i}]`;
      if (typeof entry !== 'object' || entry === null) throw invalidArgument(at, 'a { peerId, durationSeconds } object', entry);
      if (!(typeof entry.peerId === 'string' || (typeof entry.peerId === 'number' && Number.isFinite(entry.peerId)))) {
        throw invalidArgument(`${at}.peerId`, 'a string or a finite number', entry.peerId);
      }
      if (typeof entry.durationSeconds !== 'number' || !Number.isFinite(entry.durationSeconds) || entry.durationSeconds < 0) {
        throw invalidArgument(`${at}.durationSeconds`, 'a finite number >= 0', entry.durationSeconds);
      }
    });
    if (recent.length === 0) return undefined;
    // Pad to a power of two so users with similar history lengths share a batch (padding has
    // duration 0 and lies past history_length).
    let seq = 1;
    while (seq < recent.length) seq *= 2;
    seq = Math.min(seq, this.maxHistory);
    const peers = new BigInt64Array(seq);
    const durations = new Float32Array(seq);
    recent.forEach((entry, t) => {
      peers[t] = BigInt(hashBucket(this.hashing, 'history_peer_hash', entry.peerId));
      durations[t] = Math.log1p(entry.durationSeconds);
    });
    return {
      ...side,
      user_hash: BigInt64Array.of(BigInt(hashBucket(this.hashing, 'user_hash', userId))),
      history_peer_hash: peers,
      history_log_duration: durations,
      history_length: BigInt64Array.of(BigInt(recent.length)),
    };
  }

  #pump(): void {
    while (this.#inFlight < this.#concurrency && this.#pending.size > 0) {
      const [userId, job] = this.#pending.entries().next().value as [string, Job];
      this.#pending.delete(userId);
      this.#inFlight++;
      void this.#run(job);
    }
    if (this.#pending.size === 0 && this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #run(job: Job): Promise<void> {
    try {
      const seq = job.feeds.history_peer_hash!.length;
      const out = await this.#pool.run(this.#model, {
        ...job.feeds,
        history_peer_hash: { data: job.feeds.history_peer_hash!, dims: [1, seq] },
        history_log_duration: { data: job.feeds.history_log_duration!, dims: [1, seq] },
      });
      const stored = await this.#memory.put(job.userId, { user: out.user!, peer: out.peer!, version: job.version });
      this.#counts.completed++;
      const now = Date.now();
      this.#completions.push(now);
      this.#trimRate(now);
      if (this.listenerCount('updated') > 0) this.emit('updated', job.userId, job.version, stored);
    } catch (error) {
      this.#counts.failed++;
      this.#emitFailed(error, job.userId);
    } finally {
      this.#inFlight--;
      this.#pump();
    }
  }

  #emitFailed(error: unknown, userId: string): void {
    if (this.listenerCount('failed') > 0) this.emit('failed', error, userId);
  }

  #trimRate(now: number): void {
    let drop = 0;
    while (drop < this.#completions.length && this.#completions[drop]! < now - rateWindowMs) drop++;
    if (drop > 0) this.#completions.splice(0, drop);
  }
}
