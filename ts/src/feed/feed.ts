/**
 * rankFeed: a personalized feed from one user's history, built once per feed and called per
 * request. History → (short-dwell clicks split off as false positives) → PinnerSage anchors →
 * retrieval per anchor through the medoid-keyed cache → FwFM pCTR of every candidate in one model
 * run → the twiddler chain (recent actions from the action log, false-positive vectors) → the top
 * `limit` items, with an explanation per item on request.
 *
 * Where the work runs: Ward clustering and the index search are native AsyncWorkers, the ranker
 * runs in the ModelPool's worker thread, the action log is I/O; the event loop only does the glue
 * (hashing, merging, twiddling: O(candidates)).
 */
import { AbortError, ActionLogUnavailableError } from '../core/errors.js';
import { integerInRange, invalidArgument, optionalSignal, optionsObject } from '../core/validate.js';
import { pinnerSage } from '../cluster/pinner-sage.js';
import type { FwFmRanker, RankerContext } from '../rank/fwfm-ranker.js';
import { AnchorCache, type AnchorCacheOptions, type AnchorCacheStats, type AnchorMatch } from '../retrieve/anchor-cache.js';
import { itemId as checkItemId } from '../retrieve/index-arguments.js';
import type { ItemId, ItemIndex } from '../retrieve/item-index.js';
import { checkUserId, type ActionLog, type LoggedAction } from '../store/action-log.js';
import { withDeadline } from '../store/action-log-deadline.js';
import { TwiddlerChain, type ItemExplanation, type TwiddleResult } from '../twiddle/twiddler-chain.js';
import type { RankedCandidate, TwiddleContext, TwiddleOverrides, TwiddlerRegistry, TwiddlerSpec } from '../twiddle/twiddler.js';
import { AnchorMemo, type MemoAnchor } from './anchor-memo.js';
import { mergeCandidates, type MergedCandidates } from '../retrieve/candidate-merge.js';
import { rankerOrder } from './ranker-order.js';
import { finiteVector, ItemCatalogue, type CatalogueEntry, type FeedItem } from './item-catalogue.js';

/** How anchors are made from the history (PinnerSage). */
export interface FeedAnchorOptions {
  /** Ward cut height in SciPy's units; depends on the scale of your vectors (the synthetic world: 6). Required. */
  threshold: number;
  /** Anchors per request, 1..64. Default 5. */
  maxAnchors?: number;
  /** Importance decay per day of age. Default 0.01. */
  lambdaPerDay?: number;
  /** Clicks with `dwellMs` below this are false positives. Default: the ranker's `falsePositiveDwellMs`, else 3000. */
  minDwellMs?: number;
  /** Only the most recent this many positive history entries are clustered, 1..20,000. Default 1000. */
  maxHistory?: number;
  /**
   * Users whose last anchors are memoized, 0..10^7 (0 = off). Default 10,000. A request whose clustered
   * history (ids and times) is unchanged reuses the anchors instead of clustering again; this is exact
   * (see {@link AnchorMemo}), so it only saves time.
   */
  memoUsers?: number;
}

/** Options of {@link Feed}. */
export interface FeedOptions {
  /** The items retrieval searches. Every item it may return should be in `items` (others are dropped). */
  index: ItemIndex;
  /** Category, author and vector of every item, as a catalogue or an array (copied into a new catalogue). */
  items: ItemCatalogue | readonly FeedItem[];
  /** The pCTR ranker (its model loaded in a ModelPool). */
  ranker: FwFmRanker;
  /** The twiddler chain, in order (e.g. downrank, false-positive, interval). Default: none. */
  twiddlers?: readonly TwiddlerSpec[];
  /** Where twiddler names are looked up. Default: the process-wide registry. */
  twiddlerRegistry?: TwiddlerRegistry;
  /** The users' recent actions (impressions, clicks) for the downrank twiddler. Default: none (no actions known). */
  actionLog?: ActionLog;
  /** How far back recent actions are read, ms (cover your downrank windows). Default 86,400,000 (a day). */
  actionWindowMs?: number;
  /** How long a request waits for the action log before going on without it ('action-log' degraded), 1..60000 ms. Default 25. */
  actionLogTimeoutMs?: number;
  /** How long a request waits for the ranker before falling back to retrieval order ('ranker' degraded), 1..60000 ms. Default 250. */
  rankerTimeoutMs?: number;
  /** Anchor options (PinnerSage). */
  anchors: FeedAnchorOptions;
  /** Neighbours fetched per anchor (before the history is removed), 1..100,000. Default 500. */
  candidatesPerAnchor?: number;
  /** Most candidates ranked (the best by retrieval score), 1..1,000,000. Default 2000. */
  maxCandidates?: number;
  /** Default `limit` of a request, 1..100,000. Default 50. */
  limit?: number;
  /**
   * The twiddler chain first runs on the best `max(twiddleDepth, 4 × limit)` ranked candidates, and on
   * twice as many (up to all) while a candidate below that window could still outrank the last item
   * returned (its score is above that item's final key). Twiddling is O(candidates) on the event loop:
   * the window keeps it proportional to what is returned. 1..10^6, default 200.
   */
  twiddleDepth?: number;
  /**
   * The medoid-keyed retrieval cache: an {@link AnchorCache} over `index` to share, options for a new
   * one (default `{ maxEntries: 50_000, ttlMs: 300_000 }`), or `false` to search on every request.
   */
  cache?: AnchorCache | AnchorCacheOptions | false;
}

/** One entry of a user's history. */
export interface FeedHistoryEntry {
  /** The item engaged with. Items neither in the catalogue nor given a `vector` are only excluded from the feed. */
  readonly itemId: ItemId;
  /** When, ms since the epoch. A time after `now` counts as `now`. */
  readonly at: number;
  /**
   * How long the user stayed (clicks); below the feed's `minDwellMs` the entry is a false positive
   * (unless the same item also has a positive entry). Unknown = a positive.
   */
  readonly dwellMs?: number;
  /** The item's vector, for items not in the catalogue (the catalogue's vector wins). */
  readonly vector?: Float32Array;
}

/** Options of {@link Feed.rankFeed}. */
export interface RankFeedOptions {
  /** The user's engagement history (any order). Its items never appear in the feed. */
  history: readonly FeedHistoryEntry[];
  /** The request's clock, ms since the epoch. Default `Date.now()`. */
  now?: number;
  /** Items returned, 1..100,000. Default: the feed's `limit`. */
  limit?: number;
  /** Request context for the ranker: hour (default: the UTC hour of `now`) and device (default 0). */
  context?: RankerContext;
  /** Per-request twiddler chain changes (A/B tests): replace, append, or patch params by label. */
  overrides?: TwiddleOverrides;
  /** Attach an explanation to each item. Default false. */
  explain?: boolean;
  /** Cancels the request: it rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Why an item is where it is. */
export interface FeedItemExplanation {
  /** The anchor that found it with the best retrieval score, and every anchor that found it. */
  readonly anchors: readonly AnchorMatch[];
  /** Its retrieval score (the best over anchors). */
  readonly retrievalScore: number;
  /** Its pCTR, or undefined when the ranker was degraded. */
  readonly pctr: number | undefined;
  /** Its position after ranking (0-based), before the twiddlers. */
  readonly rankerPosition: number;
  /** Each twiddler's move of this item, in chain order (items a twiddler left alone have none). */
  readonly moves: readonly ItemExplanation[];
}

/** One feed item. */
export interface FeedResultItem {
  readonly itemId: ItemId;
  /** The final rank key: pCTR (or the retrieval score when the ranker is degraded) after the twiddlers' adjustments. */
  readonly score: number;
  /** The model's pCTR, or undefined when the ranker was degraded. */
  readonly pctr: number | undefined;
  /** The anchor (history item) that found it with the best retrieval score. */
  readonly anchor: ItemId;
  readonly explain?: FeedItemExplanation;
}

/** Milliseconds spent per stage (wall clock; stages overlap with the action-log read). */
export interface FeedTimings {
  readonly totalMs: number;
  readonly anchorsMs: number;
  readonly retrievalMs: number;
  /** Ranker run (hashing, the model in its worker) and the sort by pCTR. */
  readonly rankingMs: number;
  /** Time spent waiting for the action log after ranking was done (the read starts with the request). */
  readonly actionLogWaitMs: number;
  readonly twiddleMs: number;
}

/** What {@link Feed.rankFeed} resolves with. */
export interface RankFeedResult {
  readonly items: FeedResultItem[];
  /**
   * Dependencies the answer went without: `'action-log'` (unavailable or slower than
   * `actionLogTimeoutMs`: downrank skipped), `'ranker'` (failed or slower than `rankerTimeoutMs`:
   * retrieval-score order, `pctr` undefined).
   */
  readonly degraded: string[];
  /** Candidates retrieved (after removing the history), anchors used, and the twiddler steps' reports. */
  readonly stats: {
    /** Candidates ranked (retrieved, minus the history, at most `maxCandidates`). */
    readonly candidates: number;
    readonly anchors: number;
    /** Distinct false-positive items (short dwell only, with a vector) fed to the twiddlers. */
    readonly falsePositives: number;
    /** Candidates the twiddler chain ran on (see `twiddleDepth`). */
    readonly twiddled: number;
    /** The anchors came from the per-user memo (no clustering). */
    readonly anchorsMemoized: boolean;
  };
  readonly timings: FeedTimings;
}

interface Candidate extends RankedCandidate {
  readonly entry: CatalogueEntry;
  /** Its position in the retrieval order (see {@link MergedCandidates}). */
  readonly retrievalPosition: number;
  readonly pctr: number | undefined;
}

interface CheckedHistory {
  /** Positive entries with a vector, oldest first. */
  readonly positives: Array<{ id: ItemId; at: number; vector: Float32Array }>;
  readonly falsePositiveVectors: Float32Array[];
  readonly exclude: Set<ItemId>;
  /** A positive entry's time was after `now` (clamped): the anchor memo is bypassed. */
  readonly clamped: boolean;
}

/** The ranker's order (`order[p]` = candidate index at position p) and a candidate object per position on demand. */
interface RankedList {
  readonly order: Int32Array;
  /** By candidate index: pCTR, or the retrieval score when the ranker is degraded. */
  readonly keys: Float64Array;
  at(position: number): Candidate;
}

/** A request without anchors retrieves nothing. */
const NO_CANDIDATES: MergedCandidates = mergeCandidates([], [], new Set());

type LogOutcome = { ok: true; actions: LoggedAction[] } | { ok: false; error: unknown };

/**
 * A feed: built once from an item index, an item catalogue, a ranker, a twiddler configuration and
 * an action log; {@link Feed.rankFeed} is called per request and is safe to call concurrently.
 *
 * @example
 * const pool = new ModelPool({ threads: 1 });
 * await pool.load('fwfm-ranker', defaultModelPath('fwfm-ranker'), { maxBatch: 8192 });
 * const feed = new Feed({
 *   index, items, ranker: new FwFmRanker(pool), actionLog: new RedisActionLog({ url }),
 *   anchors: { threshold: 6 },
 *   twiddlers: [
 *     { name: 'downrank', params: { windowMs: 86_400_000, rules: { impression: { threshold: 3, factor: 0.5 } } } },
 *     { name: 'false-positive', params: { threshold: 0.9, strength: 0.5 } },
 *     { name: 'interval', params: { keys: ['category', 'author'], minGap: 3 } },
 *   ],
 * });
 * const { items, degraded } = await feed.rankFeed('u42', { history: [{ itemId: 17, at: t, dwellMs: 30_000 }], limit: 20 });
 */
export class Feed {
  readonly #index: ItemIndex;
  readonly #items: ItemCatalogue;
  readonly #ranker: FwFmRanker;
  readonly #chain: TwiddlerChain;
  readonly #log: ActionLog | undefined;
  readonly #cache: AnchorCache | undefined;
  readonly #actionWindowMs: number;
  readonly #actionLogTimeoutMs: number;
  readonly #rankerTimeoutMs: number;
  readonly #threshold: number;
  readonly #maxAnchors: number;
  readonly #lambdaPerDay: number;
  readonly #minDwellMs: number;
  readonly #maxHistory: number;
  readonly #perAnchor: number;
  readonly #maxCandidates: number;
  readonly #limit: number;
  readonly #twiddleDepth: number;
  readonly #memo: AnchorMemo | undefined;

  /**
   * @throws InvalidArgumentError naming the bad option (e.g. `options.anchors.threshold`,
   *   `options.twiddlers[1].params.minGap`); UnknownTwiddlerError for an unregistered twiddler name
   */
  constructor(options: FeedOptions) {
    if (options === undefined) throw invalidArgument('options', 'an options object { index, items, ranker, anchors }', options);
    const o = optionsObject<FeedOptions>(options, 'options');
    const index = o.index;
    if (typeof index !== 'object' || index === null || typeof index.search !== 'function') throw invalidArgument('options.index', 'an ItemIndex', index);
    this.#index = index;
    if (o.items instanceof ItemCatalogue) {
      if (o.items.dim !== index.dim) throw invalidArgument('options.items', `a catalogue of dim ${index.dim} (the index's)`, o.items.dim);
      this.#items = o.items;
    } else {
      this.#items = new ItemCatalogue({ dim: index.dim });
      try {
        this.#items.add(o.items as readonly FeedItem[]);
      } catch (error) {
        throw prefixed(error, 'options.');
      }
    }
    const ranker = o.ranker;
    if (typeof ranker !== 'object' || ranker === null || typeof ranker.score !== 'function') throw invalidArgument('options.ranker', 'an FwFmRanker', ranker);
    this.#ranker = ranker;
    try {
      this.#chain = new TwiddlerChain(o.twiddlers ?? [], o.twiddlerRegistry === undefined ? {} : { registry: o.twiddlerRegistry });
    } catch (error) {
      throw prefixed(error, 'options.twiddlers', 'chain');
    }
    const log = o.actionLog;
    if (log !== undefined && (typeof log !== 'object' || log === null || typeof log.recent !== 'function')) {
      throw invalidArgument('options.actionLog', 'an ActionLog', log);
    }
    this.#log = log;
    this.#actionWindowMs = integerInRange(o.actionWindowMs ?? 86_400_000, 'options.actionWindowMs', 1, Number.MAX_SAFE_INTEGER);
    this.#actionLogTimeoutMs = integerInRange(o.actionLogTimeoutMs ?? 25, 'options.actionLogTimeoutMs', 1, 60_000);
    this.#rankerTimeoutMs = integerInRange(o.rankerTimeoutMs ?? 250, 'options.rankerTimeoutMs', 1, 60_000);
    const a = optionsObject<FeedAnchorOptions>(o.anchors, 'options.anchors');
    if (typeof a.threshold !== 'number' || !(a.threshold >= 0) || !Number.isFinite(a.threshold)) {
      throw invalidArgument('options.anchors.threshold', 'a finite number >= 0 (Ward cut height)', a.threshold);
    }
    this.#threshold = a.threshold;
    this.#maxAnchors = integerInRange(a.maxAnchors ?? 5, 'options.anchors.maxAnchors', 1, 64);
    this.#lambdaPerDay = nonNegative(a.lambdaPerDay ?? 0.01, 'options.anchors.lambdaPerDay');
    this.#minDwellMs = nonNegative(a.minDwellMs ?? ranker.falsePositiveDwellMs ?? 3000, 'options.anchors.minDwellMs');
    this.#maxHistory = integerInRange(a.maxHistory ?? 1000, 'options.anchors.maxHistory', 1, 20_000);
    this.#perAnchor = integerInRange(o.candidatesPerAnchor ?? 500, 'options.candidatesPerAnchor', 1, 100_000);
    this.#maxCandidates = integerInRange(o.maxCandidates ?? 2000, 'options.maxCandidates', 1, 1_000_000);
    this.#limit = integerInRange(o.limit ?? 50, 'options.limit', 1, 100_000);
    this.#twiddleDepth = integerInRange(o.twiddleDepth ?? 200, 'options.twiddleDepth', 1, 1_000_000);
    const memoUsers = integerInRange(a.memoUsers ?? 10_000, 'options.anchors.memoUsers', 0, 10_000_000);
    this.#memo = memoUsers === 0 ? undefined : new AnchorMemo(memoUsers, this.#lambdaPerDay);
    const cache = o.cache;
    if (cache === false) this.#cache = undefined;
    else if (cache instanceof AnchorCache) this.#cache = cache;
    else this.#cache = new AnchorCache(index, { maxEntries: 50_000, ttlMs: 300_000, ...optionsObject<AnchorCacheOptions>(cache, 'options.cache') });
  }

  /** The item catalogue (add items here when you add them to the index). */
  get items(): ItemCatalogue {
    return this.#items;
  }

  /** The configured twiddler labels, in order. */
  get twiddlers(): string[] {
    return this.#chain.labels;
  }

  /** The retrieval cache's counters, or undefined with `cache: false`. */
  cacheStats(): AnchorCacheStats | undefined {
    return this.#cache?.stats();
  }

  /**
   * Ranks a feed for `user`.
   *
   * Failing dependencies never fail the request: an action log that errs or does not answer within
   * `actionLogTimeoutMs` → `'action-log'` in `degraded` and the downrank twiddler skips itself; a
   * ranker that fails (model error, dead worker, full queue) or does not answer within
   * `rankerTimeoutMs` → `'ranker'` in `degraded` and candidates keep their retrieval-score order
   * (`pctr` undefined, `score` = retrieval score). A user without positive history gets no anchors and
   * an empty feed.
   *
   * @param user the user's id (a non-empty string of at most 256 characters)
   * @throws InvalidArgumentError (as a rejection) naming the bad argument: `user`,
   *   `options.history[3].vector` (NaN, wrong length), `options.history[0].at`, `options.limit`,
   *   `options.overrides…`; UnknownTwiddlerError for an override naming an unregistered twiddler
   * @throws AbortError when `options.signal` aborts
   * @throws NativeError when clustering or search fails in the native core (e.g. out of memory)
   */
  async rankFeed(user: string, options: RankFeedOptions): Promise<RankFeedResult> {
    const started = performance.now();
    const userId = checkUserId(user, 'user');
    if (options === undefined) throw invalidArgument('options', 'an options object { history }', options);
    const o = optionsObject<RankFeedOptions>(options, 'options');
    const now = o.now ?? Date.now();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw invalidArgument('options.now', 'a finite number (ms since the epoch)', now);
    const limit = o.limit === undefined ? this.#limit : integerInRange(o.limit, 'options.limit', 1, 100_000);
    const context = optionsObject<RankerContext>(o.context, 'options.context');
    const hour = context.hour === undefined ? new Date(now).getUTCHours() : integerInRange(context.hour, 'options.context.hour', 0, 23);
    const device = context.device ?? 0;
    if (typeof device !== 'string' && !(typeof device === 'number' && Number.isFinite(device))) {
      throw invalidArgument('options.context.device', 'a string or a finite number', device);
    }
    const signal = optionalSignal(o.signal, 'options.signal');
    const explain = o.explain === true;
    const overrides = o.overrides;
    // Fail fast on bad overrides (before any work): resolving them on an empty list is cheap.
    if (overrides !== undefined) {
      try {
        this.#chain.run([], { now, overrides });
      } catch (error) {
        throw prefixed(error, 'options.overrides', 'context.overrides');
      }
    }
    const history = this.#checkHistory(o.history, now);
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });

    // The action log is I/O: start it first, so it overlaps clustering, retrieval and ranking.
    const logRead = this.#readLog(userId, now, signal);
    const degraded: string[] = [];
    try {
      // 1. Anchors (PinnerSage) from the positive history.
      const t1 = performance.now();
      const { anchors, memoized } = await this.#anchors(userId, history, now, signal);
      const t2 = performance.now();
      // 2. Retrieval per anchor through the medoid-keyed cache; the history is excluded.
      const retrieved = anchors.length === 0 ? NO_CANDIDATES : await this.#retrieve(anchors, history.exclude, explain, signal);
      // Candidate i: its catalogue entry and its position in the retrieval order.
      const candidates: CatalogueEntry[] = [];
      const positions: number[] = [];
      for (let p = 0; p < retrieved.count && candidates.length < this.#maxCandidates; p++) {
        const entry = this.#items.get(retrieved.ids[p]!);
        if (entry === undefined) continue;
        candidates.push(entry);
        positions.push(p);
      }
      const t3 = performance.now();
      // 3. pCTR of every candidate, one model run.
      const pctr = await this.#rank(userId, hour, device, history, candidates, signal, degraded);
      // Ranker order: by pCTR (retrieval score when degraded), ties keep the retrieval order. Only
      // the candidates the twiddlers see become objects (see #twiddle).
      const n = candidates.length;
      const keys = new Float64Array(n);
      for (let i = 0; i < n; i++) keys[i] = pctr === undefined ? retrieved.scores[positions[i]!]! : pctr[i]!;
      const order = rankerOrder(keys, pctr);
      const ranked: RankedList = {
        order,
        keys,
        at: (p) => {
          const i = order[p]!;
          const entry = candidates[i]!;
          const position = positions[i]!;
          return {
            itemId: entry.key,
            score: keys[i]!,
            pctr: pctr?.[i],
            anchor: anchors[retrieved.bestAnchor[position]!]!.itemId,
            category: entry.category,
            author: entry.author,
            vector: entry.vector,
            entry,
            retrievalPosition: position,
          };
        },
      };
      const t4 = performance.now();
      // 4. Twiddlers, with the recent actions (if the log answered in time).
      const log = await logRead;
      const t5 = performance.now();
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
      let recentActions: LoggedAction[] | undefined;
      if (log.ok) recentActions = log.actions;
      else degraded.push('action-log');
      // One memo for the request's runs of the chain (the window may grow); moves only for explain.
      const twiddled = this.#twiddle(ranked, limit, {
        now,
        recentActions,
        falsePositiveVectors: history.falsePositiveVectors,
        overrides,
        recordMoves: explain,
        memo: new WeakMap(),
        readPositions: limit,
      });
      const t6 = performance.now();
      const items = this.#results(twiddled, limit, explain ? retrieved : undefined);
      return {
        items,
        degraded,
        stats: {
          candidates: candidates.length,
          anchors: anchors.length,
          falsePositives: history.falsePositiveVectors.length,
          twiddled: twiddled.candidates.length,
          anchorsMemoized: memoized,
        },
        timings: {
          totalMs: performance.now() - started,
          anchorsMs: t2 - t1,
          retrievalMs: t3 - t2,
          rankingMs: t4 - t3,
          actionLogWaitMs: t5 - t4,
          twiddleMs: t6 - t5,
        },
      };
    } catch (error) {
      if (signal?.aborted && !(error instanceof AbortError)) throw new AbortError(undefined, { cause: signal.reason });
      throw error;
    }
  }

  #checkHistory(value: unknown, now: number): CheckedHistory {
    if (!Array.isArray(value)) throw invalidArgument('options.history', 'an array of { itemId, at, dwellMs?, vector? }', value);
    const dim = this.#index.dim;
    const positives: CheckedHistory['positives'] = [];
    const falsePositives = new Map<ItemId, Float32Array>();
    const exclude = new Set<ItemId>();
    let clamped = false;
    // Argument names are built only for an error (this runs per history entry).
    const where = (i: number) => `options.history[${i}]`;
    for (let i = 0; i < value.length; i++) {
      const h = value[i] as Partial<FeedHistoryEntry> | null;
      if (typeof h !== 'object' || h === null) throw invalidArgument(where(i), 'an entry { itemId, at, dwellMs?, vector? }', h);
      const rawId = h.itemId;
      const id = typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId)) ? rawId : checkItemId(rawId, `${where(i)}.itemId`);
      const at = h.at;
      if (typeof at !== 'number' || !Number.isFinite(at)) throw invalidArgument(`${where(i)}.at`, 'a finite number (ms since the epoch)', at);
      const dwell = h.dwellMs;
      if (dwell !== undefined && (typeof dwell !== 'number' || !Number.isFinite(dwell) || dwell < 0)) {
        throw invalidArgument(`${where(i)}.dwellMs`, 'a finite number >= 0 (ms) or undefined', dwell);
      }
      const given = h.vector === undefined ? undefined : finiteVector(h.vector, `${where(i)}.vector`, dim);
      exclude.add(id);
      const vector = this.#items.get(id)?.vector ?? given;
      if (vector === undefined) continue;
      if (dwell !== undefined && dwell < this.#minDwellMs) falsePositives.set(id, vector);
      else {
        if (at > now) clamped = true;
        positives.push({ id, at: Math.min(at, now), vector });
      }
    }
    // One vector per false-positive item, and none for an item the user also engaged with for real.
    for (const p of positives) falsePositives.delete(p.id);
    const falsePositiveVectors = [...falsePositives.values()];
    // Oldest first (stable for equal times); only the most recent maxHistory are clustered.
    positives.sort((x, y) => x.at - y.at);
    if (positives.length > this.#maxHistory) positives.splice(0, positives.length - this.#maxHistory);
    return { positives, falsePositiveVectors, exclude, clamped };
  }

  #readLog(userId: string, now: number, signal: AbortSignal | undefined): Promise<LogOutcome> {
    if (this.#log === undefined) return Promise.resolve({ ok: true, actions: [] });
    try {
      const read = this.#log.recent(userId, now - this.#actionWindowMs, {
        timeoutMs: this.#actionLogTimeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
      // Our own deadline too, in case an ActionLog implementation ignores its timeout.
      return withDeadline(read, this.#actionLogTimeoutMs + 5, undefined, () => new ActionLogUnavailableError('The action log did not answer in time'))
        .then(
          (actions): LogOutcome => ({ ok: true, actions }),
          (error: unknown): LogOutcome => ({ ok: false, error }),
        );
    } catch (error) {
      return Promise.resolve({ ok: false, error });
    }
  }

  async #anchors(
    userId: string,
    history: CheckedHistory,
    now: number,
    signal: AbortSignal | undefined,
  ): Promise<{ anchors: MemoAnchor[]; memoized: boolean }> {
    const rows = history.positives;
    const n = rows.length;
    if (n === 0) return { anchors: [], memoized: false };
    const memo = history.clamped ? undefined : this.#memo;
    const fingerprint = memo === undefined ? '' : AnchorMemo.fingerprint(rows);
    const known = memo?.get(userId, fingerprint, now);
    if (known !== undefined) return { anchors: known, memoized: true };
    const dim = this.#index.dim;
    const embeddings = new Float32Array(n * dim);
    const timestamps = new Float64Array(n);
    const itemIds: ItemId[] = new Array<ItemId>(n);
    for (let i = 0; i < n; i++) {
      embeddings.set(rows[i]!.vector, i * dim);
      timestamps[i] = rows[i]!.at;
      itemIds[i] = rows[i]!.id;
    }
    const { anchors } = await pinnerSage({
      embeddings,
      n,
      dim,
      timestamps,
      now,
      itemIds,
      threshold: this.#threshold,
      lambdaPerDay: this.#lambdaPerDay,
      maxAnchors: this.#maxAnchors,
      ...(signal === undefined ? {} : { signal }),
    });
    const result = anchors.map((a) => ({ itemId: a.itemId!, vector: rows[a.medoid]!.vector, importance: a.importance }));
    memo?.set(userId, fingerprint, now, result);
    return { anchors: result, memoized: false };
  }

  async #retrieve(
    anchors: Array<{ itemId: ItemId; vector: Float32Array; importance: number }>,
    exclude: ReadonlySet<ItemId>,
    explain: boolean,
    signal: AbortSignal | undefined,
  ): Promise<MergedCandidates> {
    // Without a shared cache, a fresh one per request: the same lookups, nothing kept across requests.
    const cache = this.#cache ?? new AnchorCache(this.#index, { maxEntries: Math.max(1, anchors.length) });
    const k = Math.min(this.#perAnchor, Math.max(1, this.#index.size));
    // The neighbour lists, merged here into typed arrays (AnchorCache.retrieve's result, without an
    // object per hit: see candidate-merge.ts).
    return mergeCandidates(anchors, await cache.neighbours(anchors, k, signal), exclude, explain);
  }

  async #rank(
    user: string,
    hour: number,
    device: string | number,
    history: CheckedHistory,
    candidates: readonly CatalogueEntry[],
    signal: AbortSignal | undefined,
    degraded: string[],
  ): Promise<Float32Array | undefined> {
    if (candidates.length === 0) return new Float32Array(0);
    // The deadline is ours, not the ranker's: stop waiting at rankerTimeoutMs (or the caller's
    // abort) even if the ranker ignores its signal; the signal lets a queued model run be dropped.
    const stop = new AbortController();
    const combined = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const positives = history.positives;
    const seq = this.#ranker.historyLength;
    const recent = positives.slice(Math.max(0, positives.length - seq)).map((p) => p.id);
    try {
      const scoring = this.#ranker.score(
        {
          user,
          context: { hour, device },
          history: recent,
          // Catalogue entries are RankerItems ({ id, category, author }): no per-candidate copy.
          items: candidates,
        },
        { signal: combined },
      );
      const pctr = await new Promise<Float32Array>((resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`the ranker did not answer within ${this.#rankerTimeoutMs} ms`));
          stop.abort();
        }, this.#rankerTimeoutMs);
        if (signal !== undefined) {
          onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
          signal.addEventListener('abort', onAbort, { once: true });
        }
        scoring.then(resolve, reject);
      });
      if (!(pctr instanceof Float32Array) || pctr.length !== candidates.length) throw new Error('the ranker returned the wrong number of scores');
      for (let i = 0; i < pctr.length; i++) if (!Number.isFinite(pctr[i]!)) throw new Error(`the ranker returned ${pctr[i]} for row ${i}`);
      return pctr;
    } catch {
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
      degraded.push('ranker');
      return undefined;
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Runs the chain on a window of the best candidates, doubling it while a candidate below the
   * window (whose key is still its ranker score) scores above the last item that will be returned.
   */
  #twiddle(ranked: RankedList, limit: number, context: TwiddleContext): TwiddleResult<Candidate> {
    const n = ranked.order.length;
    let depth = Math.min(n, Math.max(this.#twiddleDepth, 4 * limit));
    const window: Candidate[] = [];
    for (;;) {
      for (let p = window.length; p < depth; p++) window.push(ranked.at(p));
      const result = this.#chain.run(window, context);
      if (depth === n) return result;
      const shown = Math.min(limit, depth);
      let lowest = Infinity;
      for (let p = 0; p < shown; p++) lowest = Math.min(lowest, result.keys[p]!);
      // Below the window keys are still ranker scores, the highest being the next one.
      if (ranked.keys[ranked.order[depth]!]! <= lowest) return result;
      // Grow to at least every candidate whose ranker score is above `lowest` (one run instead of
      // several doublings when many are), and at least double.
      depth = Math.min(n, Math.max(depth * 2, firstAtOrBelow(ranked, lowest, depth)));
    }
  }

  /** The returned items; with `explain` (the request's retrieval), their explanations. */
  #results(twiddled: TwiddleResult<Candidate>, limit: number, explain: MergedCandidates | undefined): FeedResultItem[] {
    const count = Math.min(limit, twiddled.candidates.length);
    let moves: Map<string, ItemExplanation[]> | undefined;
    if (explain !== undefined) {
      moves = new Map();
      for (const step of twiddled.steps) {
        for (const move of step.moves) {
          let list = moves.get(move.itemId);
          if (list === undefined) moves.set(move.itemId, (list = []));
          list.push({ ...move, label: step.label, name: step.name });
        }
      }
    }
    const items: FeedResultItem[] = [];
    for (let p = 0; p < count; p++) {
      const c = twiddled.candidates[p]!;
      const item: FeedResultItem = {
        itemId: c.entry.id,
        score: twiddled.keys[p]!,
        pctr: c.pctr,
        anchor: c.anchor as ItemId,
        ...(moves === undefined || explain === undefined
          ? {}
          : {
              explain: {
                anchors: explain.matches?.(c.retrievalPosition) ?? [],
                retrievalScore: explain.scores[c.retrievalPosition]!,
                pctr: c.pctr,
                rankerPosition: twiddled.order[p]!,
                moves: moves.get(c.itemId) ?? [],
              },
            }),
      };
      items.push(item);
    }
    return items;
  }
}

/** The first ranker position at or after `from` whose key is ≤ `key` (keys fall along the order), or n. */
function firstAtOrBelow(ranked: RankedList, key: number, from: number): number {
  let lo = from;
  let hi = ranked.order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranked.keys[ranked.order[mid]!]! <= key) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function nonNegative(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalidArgument(argument, 'a finite number >= 0', value);
  return value;
}

/** Re-points an InvalidArgumentError's argument under the caller's name (`items[3]` → `options.items[3]`). */
function prefixed(error: unknown, prefix: string, replace?: string): unknown {
  if (typeof error !== 'object' || error === null || !('argument' in error)) return error;
  const e = error as { argument: string; message: string };
  const from = e.argument;
  const to = replace === undefined ? `${prefix}${from}` : from.startsWith(replace) ? `${prefix}${from.slice(replace.length)}` : from;
  if (to === from) return error;
  try {
    e.argument = to;
    e.message = e.message.split(from).join(to);
  } catch {
    // read-only fields: keep the original
  }
  return error;
}
