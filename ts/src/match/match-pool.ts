/**
 * MatchPool: reciprocal 1:1 matching of a live pool of users, end to end (seed 000, "CUPID").
 *
 * Per request: feature embeddings of the batch (ONNX on the worker pool) while the session
 * embeddings are *read* from the embedding memory (never computed on the request path) → full
 * user/peer vectors → the model's heads (transform, projections) → native scores, hard filters and
 * max-weight matching. After a chat, {@link MatchPool.onMatchEnded} appends to both users' histories
 * and queues their session recomputation in the background.
 */
import { AbortError, ClosedError, InvalidArgumentError } from '../core/errors.js';
import { describe, integerInRange, invalidArgument, optionalSignal, optionsObject } from '../core/validate.js';
import { defaultModelPath } from '../embed/default-models.js';
import type { FeatureCacheMetrics } from '../embed/feature-cache.js';
import { type EmbedOptions, embedInto, FeatureTower, sideInfoChecked } from '../embed/feature-tower.js';
import { addSessionEmbeddings } from '../embed/full-embedding.js';
import { ModelPool } from '../embed/model-pool.js';
import { SessionTower, type SessionTowerMetrics, type SessionTowerOptions } from '../embed/session-tower.js';
import { checkSideInfo, type UserSideInfo } from '../embed/side-info.js';
import { type BackendChoice, type BackendName, resolveBackend } from '../native/backends.js';
import type { EmbeddingBatch, EmbeddingMemory } from '../store/embedding-memory.js';
import { InProcessEmbeddingMemory } from '../store/in-process-embedding-memory.js';
import { checkId, isId } from '../store/memory-arguments.js';
import { matchEmbeddings } from './match-embeddings.js';
import { headsOf, parseMatchHeads, type MatchHeadSpec } from './match-heads.js';
import { MatchHistory, type MatchHistoryOptions } from './match-history.js';
import { MAX_POOL, matchTuning, type MatchTuning } from './match-result.js';
import { checkBlocked, filterOrder, languageBits, poolFilters, type PoolFilterSettings } from './pool-filters.js';

/** One user waiting in the pool. */
export interface PoolUser {
  /** Unique in the pool; a non-empty string of at most 512 characters (the embedding memory's key). */
  id: string;
  /**
   * The side information the feature tower reads (models/CONTRACT.md), exactly these eight fields.
   * `side.gender` and `side.wants` (a bitmask over genders) are also the mutual hard filter.
   */
  side: UserSideInfo;
  /**
   * Languages (ids 0–31) the user can chat in; two users meet only if they share one.
   * Default: `[side.language, side.deviceLanguage]`.
   */
  languages?: readonly number[];
  /** Users this one must never meet (either side's block forbids the pair). Ids not in the pool are ignored. */
  blocked?: readonly string[];
}

/** What can degrade a {@link MatchPool.matchPool} call without failing it. */
export type MatchPoolDegradation =
  /** The embedding memory failed or timed out: every session vector was zero (feature embeddings only). */
  'embedding-memory';

/** One matched pair of a {@link MatchPoolResult}. */
export interface MatchedPair {
  /** A user id. */
  a: string;
  /** Its partner's id. */
  b: string;
  /** The pair weight the matcher maximized: Σ over heads of weight·(ŷ(a→b) + ŷ(b→a)) (as the native core computed it, float32). */
  weight: number;
  /** Σ over heads of weight·ŷ in each direction (double precision): `aToB + bToA ≈ weight`. */
  predicted: { aToB: number; bToA: number };
}

/** What {@link MatchPool.matchPool} returns. */
export interface MatchPoolResult {
  pairs: MatchedPair[];
  /** Ids left without a partner (no allowed partner, or an odd one out), in pool order. */
  unmatched: string[];
  /** Σ of the pairs' weights. */
  totalWeight: number;
  /** A certified upper bound on the best possible total weight: `totalWeight / upperBound` is a guaranteed quality. */
  upperBound: number;
  /**
   * Milliseconds per stage. `embed` (feature tower) and `memory` (session read) run concurrently;
   * `scores` = head projections + score GEMMs; `filters` = building the filter arrays + transform and
   * filters in the native pass; `matching`; `total` = the whole call.
   */
  timings: { embed: number; memory: number; scores: number; filters: number; matching: number; total: number };
  /** Empty when every part worked. */
  degraded: MatchPoolDegradation[];
  /** Users whose session embedding was found in the memory (the others used a zero session vector). */
  sessionHits: number;
  /** The backend that computed the scores. */
  backend: BackendName | null;
}

/** Options of {@link MatchPool.create}. */
export interface MatchPoolOptions {
  /**
   * Where session embeddings are read (requests) and written (after matches). Default: a new
   * {@link InProcessEmbeddingMemory} of the model's width, closed by {@link MatchPool.close}.
   */
  memory?: EmbeddingMemory;
  /**
   * A model pool to run the towers on. The models `'feature-tower'` and `'session-tower'` are loaded
   * into it unless already there. It stays open after {@link MatchPool.close}. Default: a pool of
   * `threads` workers that the MatchPool creates and closes.
   */
  pool?: ModelPool;
  /** Worker threads of the pool the MatchPool creates. 1..64, default 1. */
  threads?: number;
  /** Model files. Default: the shipped models (`defaultModelPath`). */
  models?: { featureTower?: string; sessionTower?: string };
  /** Backend of the score GEMMs; default: the one set with `useBackend()`. */
  backend?: BackendChoice;
  /**
   * Matcher tuning. Default: the matcher's own below 5,000 users (48 candidates, at most 4 rounds,
   * stopping once the assignment is within 0.2% of its bound), and 96 candidates from 5,000 up. On
   * pools of the synthetic world (hard filters forbid most pairs, so few partners per user are
   * good) the default reached 99.89% of the exact optimum at N = 2,000 and 99.82% at 3,000; larger
   * pools need longer lists (README, "Matcher tuning"). Fewer rounds trade the bound for time.
   */
  matching?: MatchTuning;
  /**
   * Feature-tower outputs kept per side-information tuple (LRU), 0..10,000,000; default 50,000
   * (~32 MB at dim 64: about 0.63 KB an entry, measured). Users who come back to the pool with the same side information skip the
   * model (the output is the same floats); 0 runs the tower for every user of every call.
   */
  featureCacheEntries?: number;
  /** How long a request waits for the embedding memory before going on without it (degraded). 1..60,000 ms, default 100. */
  memoryTimeoutMs?: number;
  /** Bounds of the in-process match history (users kept, matches per user). */
  history?: MatchHistoryOptions;
  /** The session tower's background queue (`maxPending`, `concurrency`). */
  session?: Pick<SessionTowerOptions, 'maxPending' | 'concurrency'>;
  /**
   * Score buffers kept for reuse between calls (an n×n Float32Array per call; a fresh one costs a
   * first touch of n²·4 bytes). At most `maxFreeBuffers` (0..64, default 2) of at most
   * `maxFreeBufferBytes` in all (default 512 MiB).
   */
  maxFreeBuffers?: number;
  maxFreeBufferBytes?: number;
}

/** Per-call options of {@link MatchPool.matchPool}. */
export interface MatchPoolCallOptions {
  /** Cancels the call: it rejects with an `AbortError` (a running model batch finishes and is dropped). */
  signal?: AbortSignal;
}

/** What happened in a chat, reported by {@link MatchPool.onMatchEnded}. */
export interface MatchOutcome {
  /** How long the chat lasted, in seconds (finite, ≥ 0). */
  durationSeconds: number;
}

/** Counters of a {@link MatchPool}. */
export interface MatchPoolMetrics {
  /** matchPool calls finished (resolved or rejected) and running now. */
  calls: number;
  inFlight: number;
  /** Calls that came back degraded. */
  degradedCalls: number;
  /** The session tower's queue (queued, inFlight, completed, failed, dropped…). */
  session: SessionTowerMetrics;
  /** Recomputations not queued: the user's side information was unknown (never seen in a pool, or forgotten). */
  sessionSkipped: number;
  /** Recomputations the session tower refused at once (counted, never thrown). */
  sessionRejected: number;
  /** Users in the match history, and users it forgot (LRU). */
  historyUsers: number;
  historyEvicted: number;
  /** The feature-tower cache: rows served from it, rows computed, entries, evictions (zeros when off). */
  featureCache: FeatureCacheMetrics;
  /** Score buffers waiting for reuse, and their bytes. */
  freeBuffers: number;
  freeBufferBytes: number;
}

const SIDE_FIELDS: readonly (keyof UserSideInfo)[] = [
  'country',
  'language',
  'gender',
  'wants',
  'ageBucket',
  'deviceLanguage',
  'accountAgeDays',
  'recentReports',
];
const SIDE_FIELD_SET: ReadonlySet<string> = new Set(SIDE_FIELDS);
const USER_KEYS = new Set(['id', 'side', 'languages', 'blocked']);

/**
 * Whether `side` has every side-info field, asked by name (each `in` stays monomorphic; a Set
 * lookup per enumerated key cost ~0.35 ms per 2,000 users). The record below makes the compiler
 * reject this list when UserSideInfo gains or loses a field.
 */
function hasEverySideField(side: object): boolean {
  return (
    'country' in side &&
    'language' in side &&
    'gender' in side &&
    'wants' in side &&
    'ageBucket' in side &&
    'deviceLanguage' in side &&
    'accountAgeDays' in side &&
    'recentReports' in side
  );
}
const _sideFieldsAsked: Record<keyof UserSideInfo, true> = {
  country: true,
  language: true,
  gender: true,
  wants: true,
  ageBucket: true,
  deviceLanguage: true,
  accountAgeDays: true,
  recentReports: true,
};
void _sideFieldsAsked;
/** Candidates per user by default (see MatchPoolOptions.matching): more for large pools. */
function tuningFor(tuning: MatchTuning, n: number): MatchTuning {
  const candidates = tuning.candidates ?? defaultCandidates(n);
  return {
    ...(candidates !== undefined ? { candidates } : {}),
    ...(tuning.rounds !== undefined ? { rounds: tuning.rounds } : {}),
  };
}

/** The matcher's own 48 below 5,000 users; 96 from 5,000 up (see {@link MatchPoolOptions.matching}). */
const defaultCandidates = (n: number): number | undefined => (n >= 5000 ? 96 : undefined);

interface CheckedUser extends PoolFilterSettings {
  readonly id: string;
  readonly side: UserSideInfo;
}

/**
 * Matches live pools 1:1 with the shipped (or your) feature and session towers.
 *
 * Safe for concurrent calls: each call works in its own n×n buffer (buffers are recycled through
 * a small free list), and concurrent feature-tower runs are micro-batched by the model pool.
 *
 * @example
 * const matcher = await MatchPool.create({ memory: new RedisEmbeddingMemory({ url, dim: 64 }) });
 * const { pairs, unmatched, degraded } = await matcher.matchPool([
 *   { id: 'u1', side: { country: 3, language: 1, gender: 0, wants: 2, ageBucket: 2, deviceLanguage: 1, accountAgeDays: 30, recentReports: 0 } },
 *   { id: 'u2', side: { country: 3, language: 1, gender: 1, wants: 1, ageBucket: 2, deviceLanguage: 1, accountAgeDays: 9, recentReports: 0 }, blocked: ['u9'] },
 * ]);
 * // … after the chat:
 * matcher.onMatchEnded({ a: 'u1', b: 'u2', outcome: { durationSeconds: 95 } });
 * await matcher.close();
 */
export class MatchPool {
  readonly #pool: ModelPool;
  readonly #ownsPool: boolean;
  readonly #memory: EmbeddingMemory;
  readonly #ownsMemory: boolean;
  readonly #features: FeatureTower;
  readonly #sessions: SessionTower;
  readonly #history: MatchHistory;
  readonly #heads: readonly MatchHeadSpec[];
  readonly #backend: BackendChoice | undefined;
  readonly #tuning: MatchTuning;
  readonly #memoryTimeoutMs: number;
  readonly #buffers: BufferFreeList;
  /**
   * Arrays for each call's feature rows and session rows (n × dim each), reused: two fresh pairs
   * per call were ~2 MB of ArrayBuffers at N = 2,000, and that external memory often made V8 run a
   * full collection every ~13 calls (3–14 ms, with marking steps of up to 24 ms on the main
   * thread). A lone MatchPool, 200 calls, seven alternating runs: full collections 2–18 → 1–2 per
   * run, p99 23.8–30.9 → 21.5–26.4 ms, the slowest call 28.3–34.4 → 23.3–29.3 ms.
   */
  readonly #rowBuffers = new BufferFreeList(8, 2 ** 28);
  readonly #running = new Set<Promise<unknown>>();
  readonly #counts = { calls: 0, degradedCalls: 0, sessionSkipped: 0, sessionRejected: 0 };
  #closed = false;
  /** Floats per side of the embeddings. */
  readonly dim: number;
  /** The parsed match heads of the feature tower (`kindred.heads`). */
  readonly heads: readonly MatchHeadSpec[];

  private constructor(parts: {
    pool: ModelPool;
    ownsPool: boolean;
    memory: EmbeddingMemory;
    ownsMemory: boolean;
    features: FeatureTower;
    sessions: SessionTower;
    history: MatchHistory;
    heads: MatchHeadSpec[];
    backend: BackendChoice | undefined;
    tuning: MatchTuning;
    memoryTimeoutMs: number;
    buffers: BufferFreeList;
  }) {
    this.#pool = parts.pool;
    this.#ownsPool = parts.ownsPool;
    this.#memory = parts.memory;
    this.#ownsMemory = parts.ownsMemory;
    this.#features = parts.features;
    this.#sessions = parts.sessions;
    this.#history = parts.history;
    this.#heads = parts.heads;
    this.heads = parts.heads;
    this.#backend = parts.backend;
    this.#tuning = parts.tuning;
    this.#memoryTimeoutMs = parts.memoryTimeoutMs;
    this.#buffers = parts.buffers;
    this.dim = parts.features.dim;
  }

  /**
   * Loads the towers and builds a MatchPool.
   *
   * @throws InvalidArgumentError naming the bad option (e.g. `options.memory` of the wrong dim)
   * @throws ModelError when a model is missing, corrupt, breaks its contract, or has malformed `kindred.heads`
   * @example
   * const matcher = await MatchPool.create({ threads: 1, matching: { rounds: 2 } });
   */
  static async create(options?: MatchPoolOptions): Promise<MatchPool> {
    const o = optionsObject<MatchPoolOptions>(options, 'options');
    if (o.pool !== undefined && !(o.pool instanceof ModelPool)) throw invalidArgument('options.pool', 'a ModelPool', o.pool);
    if (o.memory !== undefined && !isMemory(o.memory)) throw invalidArgument('options.memory', 'an EmbeddingMemory', o.memory);
    const threads = integerInRange(o.threads ?? 1, 'options.threads', 1, 64);
    const models = optionsObject<NonNullable<MatchPoolOptions['models']>>(o.models, 'options.models');
    for (const key of ['featureTower', 'sessionTower'] as const) {
      if (models[key] !== undefined && (typeof models[key] !== 'string' || models[key].length === 0)) {
        throw invalidArgument(`options.models.${key}`, 'a path to an ONNX file', models[key]);
      }
    }
    if (o.backend !== undefined) resolveBackend(o.backend, 'options.backend');
    const tuning = matchTuning(o.matching ?? {}, 'options.matching');
    const memoryTimeoutMs = integerInRange(o.memoryTimeoutMs ?? 100, 'options.memoryTimeoutMs', 1, 60_000);
    const cacheEntries = integerInRange(o.featureCacheEntries ?? 50_000, 'options.featureCacheEntries', 0, 10_000_000);
    const historyOptions = optionsObject<MatchHistoryOptions>(o.history, 'options.history');
    const buffers = new BufferFreeList(
      integerInRange(o.maxFreeBuffers ?? 2, 'options.maxFreeBuffers', 0, 64),
      integerInRange(o.maxFreeBufferBytes ?? 2 ** 29, 'options.maxFreeBufferBytes', 0, Number.MAX_SAFE_INTEGER),
    );
    const session = optionsObject<NonNullable<MatchPoolOptions['session']>>(o.session, 'options.session');

    const ownsPool = o.pool === undefined;
    const pool = o.pool ?? new ModelPool({ threads, logSeverityLevel: 4 });
    try {
      await Promise.all([
        pool.describe('feature-tower') ?? pool.load('feature-tower', models.featureTower ?? defaultModelPath('feature-tower')),
        pool.describe('session-tower') ?? pool.load('session-tower', models.sessionTower ?? defaultModelPath('session-tower')),
      ]);
      const features = new FeatureTower(pool, { cacheEntries });
      const heads = parseMatchHeads(features.heads, features.dim);
      const ownsMemory = o.memory === undefined;
      const memory = o.memory ?? new InProcessEmbeddingMemory({ dim: features.dim });
      if (memory.dim !== features.dim) {
        throw invalidArgument('options.memory', `an embedding memory of dim ${features.dim} (the feature tower's width)`, `dim ${memory.dim}`);
      }
      const sessions = new SessionTower(pool, memory, {
        ...(session.maxPending !== undefined ? { maxPending: session.maxPending } : {}),
        ...(session.concurrency !== undefined ? { concurrency: session.concurrency } : {}),
      });
      // History beyond what the session tower reads would only cost memory.
      const history = new MatchHistory({ maxEntries: sessions.maxHistory, ...historyOptions });
      return new MatchPool({
        pool,
        ownsPool,
        memory,
        ownsMemory,
        features,
        sessions,
        history,
        heads,
        backend: o.backend,
        tuning,
        memoryTimeoutMs,
        buffers,
      });
    } catch (error) {
      if (ownsPool) await pool.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Matches a pool 1:1, maximizing the total predicted outcome of both sides under the hard filters
   * (mutual gender/wants, a shared language, blocks).
   *
   * @param users the pool: at least one user, unique ids (a pool of 1 gives no pairs and one unmatched user)
   * @returns pairs with their weight and per-direction predictions, unmatched ids, the certified
   *   upper bound, per-stage timings and what degraded
   * @throws {InvalidArgumentError} (as a rejection) naming the bad user field: `users` empty or over
   *   46,340, `users[3].id` duplicated, `users[2].side.country` missing or out of the vocabulary,
   *   `users[1].side.foo` unknown, `users[0].languages[1]` not in 0–31, `users[4].blocked[0]` not a string
   * @throws {AbortError} when `options.signal` aborts
   * @throws {ClosedError} after {@link MatchPool.close}
   * @throws (rejects) ModelError, QueueFullError, WorkerError from the feature tower; NativeError from the core
   * @example
   * const { pairs } = await matcher.matchPool(users, { signal: AbortSignal.timeout(200) });
   * for (const { a, b, predicted } of pairs) console.log(a, '↔', b, predicted.aToB, predicted.bToA);
   */
  async matchPool(users: readonly PoolUser[], options?: MatchPoolCallOptions): Promise<MatchPoolResult> {
    if (this.#closed) throw new ClosedError('match pool');
    const held: Held[] = [];
    const run = this.#match(users, options, held);
    this.#running.add(run);
    try {
      return await run;
    } finally {
      this.#running.delete(run);
      this.#counts.calls++;
      // The call is over; each array it took goes back once whatever writes into it has settled
      // as well: an aborted embed, or a memory read that outlived its timeout, still finishes later.
      for (const { writer, release } of held) void writer.then(release, release);
    }
  }

  /** Two reusable arrays of n × dim floats (see #rowBuffers). */
  #takeRows(n: number): RowPair {
    return { user: this.#rowBuffers.take(n * this.dim), peer: this.#rowBuffers.take(n * this.dim) };
  }

  #giveRows(rows: RowPair): void {
    this.#rowBuffers.give(rows.user);
    this.#rowBuffers.give(rows.peer);
  }

  async #match(users: readonly PoolUser[], options: MatchPoolCallOptions | undefined, held: Held[]): Promise<MatchPoolResult> {
    const start = performance.now();
    const signal = optionalSignal(optionsObject<MatchPoolCallOptions>(options, 'options').signal, 'options.signal');
    const pool = this.#checkUsers(users);
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    // From here on, users are in filter order (row k is pool user order[k]): the native scores
    // skip tiles the filters forbid outright. Answers go back in pool terms.
    const order = filterOrder(pool);
    const checked = Array.from(order, (i) => pool[i]!);
    const n = checked.length;
    const ids = checked.map((u) => u.id);

    let embedMs = 0;
    let memoryMs = 0;
    // #checkUsers already checked the side information against the tower's vocabulary.
    const featureRows = this.#takeRows(n);
    const embedding = this.#features.embed(checked.map((u) => u.side), {
      ...(signal === undefined ? {} : { signal }),
      [sideInfoChecked]: true,
      [embedInto]: featureRows,
    } as EmbedOptions);
    held.push({ writer: embedding, release: () => this.#giveRows(featureRows) });
    const tracked = embedding.then(() => (embedMs = performance.now() - start));
    tracked.catch(() => undefined);
    const session = this.#readMemory(ids, held).then((batch) => {
      memoryMs = performance.now() - start;
      return batch;
    });
    const filtersStart = performance.now();
    const filters = poolFilters(checked, ids);
    const filterBuildMs = performance.now() - filtersStart;
    const [feature, sessionRows] = await Promise.all([embedding, session, tracked]);

    const degraded: MatchPoolDegradation[] = [];
    if (sessionRows === undefined) degraded.push('embedding-memory');
    // The tower's output arrays are this call's own: add the session rows into them.
    const { user, peer } = sessionRows === undefined ? feature : addSessionEmbeddings(feature, sessionRows, { inPlace: true });
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });

    const heads = headsOf(this.#heads, user, peer, this.dim);

    const buffer = this.#buffers.take(n * n);
    const matching = matchEmbeddings({
      n,
      heads,
      filters,
      buffer,
      ...(this.#backend !== undefined ? { backend: this.#backend } : {}),
      ...tuningFor(this.#tuning, n),
      ...(signal !== undefined ? { signal } : {}),
    });
    held.push({ writer: matching, release: () => this.#buffers.give(buffer) });
    // The users' side information, for onMatchEnded's recomputations: remembered while the native
    // call runs (0.3 ms of main thread at N = 2,000, off the critical path).
    for (const user of pool) this.#history.remember(user.id, user.side);
    const result = await matching;
    const pairs: MatchedPair[] = [];
    // The native call computed each pair's two directions (pair_predictions) where the vectors were.
    const predicted = result.predicted!;
    for (let p = 0; p < result.pairs.length; p += 2) {
      const a = result.pairs[p]!;
      const b = result.pairs[p + 1]!;
      pairs.push({ a: ids[a]!, b: ids[b]!, weight: buffer[a * n + b]!, predicted: { aToB: predicted[p]!, bToA: predicted[p + 1]! } });
    }
    if (degraded.length > 0) this.#counts.degradedCalls++;
    return {
      pairs,
      unmatched: Array.from(result.unmatched, (k) => order[k]!)
        .sort((a, b) => a - b)
        .map((i) => pool[i]!.id),
      totalWeight: result.totalWeight,
      upperBound: result.upperBound,
      timings: {
        embed: embedMs,
        memory: memoryMs,
        scores: result.timings.scores,
        filters: filterBuildMs + result.timings.filters,
        matching: result.timings.matching,
        total: performance.now() - start,
      },
      degraded,
      sessionHits: sessionRows?.hits ?? 0,
      backend: result.backend,
    };
  }

  /**
   * Reports a finished chat: appends it to both users' histories and queues the recomputation of
   * both session embeddings (fire-and-forget; the next requests read the new vectors once stored).
   * Recomputation failures are counted in {@link MatchPool.metrics}, never thrown here. A user whose
   * side information is unknown (never seen in a pool since it was forgotten) keeps the history
   * entry but is not recomputed (`sessionSkipped`).
   *
   * @throws InvalidArgumentError naming a bad field (`event.a`, `event.outcome.durationSeconds`…)
   * @throws ClosedError after {@link MatchPool.close}
   * @example
   * matcher.onMatchEnded({ a: 'u1', b: 'u2', outcome: { durationSeconds: 95 } });
   */
  onMatchEnded(event: { a: string; b: string; outcome: MatchOutcome }): void {
    if (this.#closed) throw new ClosedError('match pool');
    if (typeof event !== 'object' || event === null) throw invalidArgument('event', 'an object { a, b, outcome }', event);
    const { a, b, outcome } = event;
    for (const [name, id] of [
      ['event.a', a],
      ['event.b', b],
    ] as const) {
      checkId(id, name);
    }
    if (a === b) throw invalidArgument('event.b', `an id other than event.a (${JSON.stringify(a)})`, b);
    const o = optionsObject<MatchOutcome>(outcome, 'event.outcome');
    const seconds = o.durationSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw invalidArgument('event.outcome.durationSeconds', 'a finite number >= 0', seconds);
    }
    for (const [self, partner] of [
      [a, b],
      [b, a],
    ] as const) {
      const record = this.#history.append(self, { peerId: partner, durationSeconds: seconds });
      if (record.side === undefined) {
        this.#counts.sessionSkipped++;
        continue;
      }
      try {
        this.#sessions.update(self, record.entries.slice(), record.side);
      } catch {
        this.#counts.sessionRejected++;
      }
    }
  }

  /** Resolves when every queued session recomputation has run (for tests and shutdown). */
  async flush(): Promise<void> {
    await this.#sessions.flush();
  }

  /** Counters: calls, degraded calls, the session queue, history and buffer free list. */
  metrics(): MatchPoolMetrics {
    return {
      calls: this.#counts.calls,
      inFlight: this.#running.size,
      degradedCalls: this.#counts.degradedCalls,
      session: this.#sessions.metrics(),
      sessionSkipped: this.#counts.sessionSkipped,
      sessionRejected: this.#counts.sessionRejected,
      historyUsers: this.#history.size,
      historyEvicted: this.#history.evicted,
      featureCache: this.#features.cacheMetrics() ?? { hits: 0, misses: 0, size: 0, evictions: 0 },
      freeBuffers: this.#buffers.count,
      freeBufferBytes: this.#buffers.bytes,
    };
  }

  /**
   * Stops accepting calls, lets running calls and queued session recomputations finish, then closes
   * the model pool and the memory if this MatchPool created them (not ones passed in).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
    await this.#sessions.close();
    this.#buffers.clear();
    if (this.#ownsPool) await this.#pool.close();
    if (this.#ownsMemory) await this.#memory.close();
  }

  /**
   * The memory's rows for `ids`, or undefined when it failed, was degraded or timed out. The rows
   * may be written into reused arrays, held (in `held`) until the read settles.
   */
  async #readMemory(ids: readonly string[], held: Held[]): Promise<EmbeddingBatch | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const rows = this.#takeRows(ids.length);
      const reading = this.#memory.getMany(ids, { into: rows });
      held.push({ writer: reading, release: () => this.#giveRows(rows) });
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(resolve, this.#memoryTimeoutMs, undefined);
      });
      const batch = await Promise.race([reading, timeout]);
      if (batch === undefined || batch.degraded) return undefined;
      if (batch.dim !== this.dim || batch.user.length !== ids.length * this.dim || batch.peer.length !== ids.length * this.dim) return undefined;
      return batch;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  #checkUsers(users: unknown): CheckedUser[] {
    if (!Array.isArray(users) || users.length === 0 || users.length > MAX_POOL) {
      throw invalidArgument('users', `a non-empty array of at most ${MAX_POOL} users`, users);
    }
    const seen = new Map<string, number>();
    // One loop without per-user allocations (names are built only for an error): at N = 2,000
    // this check ran on every call's critical path.
    const checked = new Array<CheckedUser>(users.length);
    for (let i = 0; i < users.length; i++) {
      const value: unknown = users[i];
      const at = () => `users[${i}]`;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(at(), 'an object { id, side }', value);
      const user = value as Record<string, unknown>;
      // Unknown fields: counting the keys and asking for the known ones by name costs less than a
      // Set lookup per key; only a user with an unknown field goes through the Set to name it.
      let keys = 0;
      for (const _key in user) keys++;
      if (keys !== +('id' in user) + +('side' in user) + +('languages' in user) + +('blocked' in user)) {
        for (const key in user) {
          if (!USER_KEYS.has(key)) throw new InvalidArgumentError(`${at()}.${key}`, `one of the known fields (${[...USER_KEYS].join(', ')})`, `an unknown field`);
        }
      }
      // The argument's name is built only for a bad id (checkId throws).
      const id = isId(user.id) ? user.id : checkId(user.id, `${at()}.id`);
      const first = seen.get(id);
      if (first !== undefined) throw new InvalidArgumentError(`${at()}.id`, `an id unique in the pool (users[${first}] has it)`, describe(id));
      seen.set(id, i);
      const side = user.side;
      if (typeof side !== 'object' || side === null || Array.isArray(side)) throw invalidArgument(`${at()}.side`, 'a side-info object', side);
      let fields = 0;
      for (const _key in side) fields++;
      const s = side as UserSideInfo;
      // Exactly the side-info fields: as many keys, and each one present. Otherwise name the first
      // unknown field, or the first missing one.
      if (fields !== SIDE_FIELDS.length || !hasEverySideField(s)) {
        for (const key in side) {
          if (!SIDE_FIELD_SET.has(key)) {
            throw new InvalidArgumentError(`${at()}.side.${key}`, `one of the side-info fields (${SIDE_FIELDS.join(', ')})`, 'an unknown field');
          }
        }
        for (const key of SIDE_FIELDS) {
          if (!(key in side)) throw new InvalidArgumentError(`${at()}.side.${key}`, 'a value (the feature tower needs every side-info field)', 'nothing');
        }
      }
      const languages = user.languages ?? [s.language, s.deviceLanguage];
      languageBits(languages, () => `${at()}.languages`);
      const blocked = user.blocked === undefined ? undefined : checkBlocked(user.blocked, `${at()}.blocked`);
      checked[i] = { id, side: s, gender: s.gender, wants: s.wants, languages: languages as number[], blocked };
    }
    // Ranges against the model's vocabulary (gender 0–2, wants 1–7, …), named users[i].side.<field>.
    checkSideInfo(
      checked.map((u) => u.side),
      this.#features.vocab,
      'users',
      (i) => `users[${i}].side`,
    );
    return checked;
  }
}

/** A call's user and peer rows (n × dim each), in arrays reused between calls. */
interface RowPair {
  user: Float32Array;
  peer: Float32Array;
}

/** An array a call took from a free list: `release` gives it back once `writer`, which may still write into it, has settled. */
interface Held {
  writer: Promise<unknown>;
  release: () => void;
}

function isMemory(value: unknown): value is EmbeddingMemory {
  const m = value as Partial<EmbeddingMemory> | null;
  return typeof m === 'object' && m !== null && typeof m.getMany === 'function' && typeof m.put === 'function' && Number.isInteger(m.dim);
}

/**
 * A small free list of score buffers. A call takes the smallest free buffer that holds n² floats
 * without wasting more than 4× (as a view of its first n² floats), else allocates; it gives the
 * buffer back when done. Beyond the caps the oldest free buffers are dropped.
 */
class BufferFreeList {
  readonly #free: Float32Array[] = [];
  readonly #maxCount: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
  }

  get count(): number {
    return this.#free.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  take(length: number): Float32Array {
    let best = -1;
    this.#free.forEach((buffer, k) => {
      if (buffer.length >= length && buffer.length <= 4 * length + 1024 && (best < 0 || buffer.length < this.#free[best]!.length)) best = k;
    });
    if (best < 0) return new Float32Array(length);
    const [buffer] = this.#free.splice(best, 1);
    this.#bytes -= buffer!.byteLength;
    return buffer!.length === length ? buffer! : buffer!.subarray(0, length);
  }

  give(view: Float32Array): void {
    const whole = view.byteOffset === 0 && view.length * 4 === view.buffer.byteLength ? view : new Float32Array(view.buffer as ArrayBuffer);
    if (whole.byteLength > this.#maxBytes || this.#maxCount === 0) return;
    this.#free.push(whole);
    this.#bytes += whole.byteLength;
    while (this.#free.length > this.#maxCount || this.#bytes > this.#maxBytes) this.#bytes -= this.#free.shift()!.byteLength;
  }

  clear(): void {
    this.#free.length = 0;
    this.#bytes = 0;
  }
}
