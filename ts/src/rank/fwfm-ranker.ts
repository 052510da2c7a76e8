/**
 * The FwFM pCTR ranker (seed 001): a field-weighted factorization machine over hashed features, an
 * ONNX model run in a {@link ModelPool} worker. Every candidate of a request is scored in one model
 * run (one row per candidate; or a few parallel parts with `parallelRows`), so ranking never runs
 * ONNX Runtime on the event loop and costs one worker round trip per request. The request side
 * (user, context, history) is fed once, with batch 1, where the model and the pool allow it
 * (models/CONTRACT.md), and otherwise repeated on every row.
 */
import { ModelError } from '../core/errors.js';
import { integerInRange, invalidArgument, optionalSignal, optionsObject } from '../core/validate.js';
import type { ModelOutputs } from '../embed/model-contract.js';
import type { ModelPool } from '../embed/model-pool.js';
import { metadataJson } from '../embed/onnx-metadata.js';
import { FeatureHasher, type FeatureValue } from './feature-hasher.js';

/** The inputs an FwFM ranker model must declare (models/fwfm-ranker.md). */
export const FWFM_INPUTS = [
  'user_id',
  'item_id',
  'item_category',
  'item_author',
  'context_hour',
  'context_device',
  'history_item_ids',
  'history_length',
] as const;

/** The inputs that are the same for every candidate of a request (fed with batch 1 when the model allows it). */
const REQUEST_INPUTS = ['user_id', 'context_hour', 'context_device', 'history_item_ids', 'history_length'] as const;

/** Options of {@link FwFmRanker}. */
export interface FwFmRankerOptions {
  /** The model's name in the pool. Default `'fwfm-ranker'`. */
  model?: string;
  /** History items fed per candidate (the most recent ones), 1..1024. Default 32, as in training. */
  historyLength?: number;
  /**
   * Split a request of at least `2 × parallelRows` candidates into `floor(rows / parallelRows)` parts
   * run concurrently, so a pool with several threads ranks one large request on several cores. Load
   * the model with `maxBatch: parallelRows` so the pool runs each part alone instead of batching the
   * parts back together. 0 (default) never splits.
   */
  parallelRows?: number;
}

/** One candidate to score: the item's id, category and author (hashed as strings). */
export interface RankerItem {
  readonly id: FeatureValue;
  readonly category: FeatureValue;
  readonly author: FeatureValue;
}

/** The request context: hour of day and device. */
export interface RankerContext {
  /** Hour of the day, 0..23. Default: the current UTC hour. */
  readonly hour?: number;
  /** The device (e.g. 0 = phone, 1 = tablet, 2 = web in the synthetic world). Default 0. */
  readonly device?: FeatureValue;
}

/** What {@link FwFmRanker.score} ranks: one user, one context, one history, many items. */
export interface RankerRequest {
  /** The user's id. */
  readonly user: FeatureValue;
  /** Hour and device of the request. */
  readonly context?: RankerContext;
  /** Item ids of the user's positive clicks (dwell above the false-positive cut), oldest first; the last `historyLength` are used. */
  readonly history?: readonly FeatureValue[];
  /** The candidates. */
  readonly items: readonly RankerItem[];
}

/** Per-call options of {@link FwFmRanker.score}. */
export interface RankerScoreOptions {
  /** Cancels the request (a queued model run is dropped; a running one's result is discarded). */
  signal?: AbortSignal;
}

/**
 * Scores candidates with an FwFM model loaded in a {@link ModelPool}.
 *
 * @example
 * const pool = new ModelPool({ threads: 1 });
 * await pool.load('fwfm-ranker', defaultModelPath('fwfm-ranker'), { maxBatch: 8192 });
 * const ranker = new FwFmRanker(pool);
 * const pctr = await ranker.score({ user: 'u1', context: { hour: 21, device: 0 }, history: [17, 942],
 *   items: [{ id: 5, category: 12, author: 301 }, { id: 6, category: 3, author: 77 }] });
 */
export class FwFmRanker {
  readonly #pool: ModelPool;
  readonly #model: string;
  readonly #historyLength: number;
  readonly #free: FeedBuffers[] = [];
  readonly #parallelRows: number;
  /** The model takes the request-level inputs with batch 1 (`kindred.contract.requestInputs`). */
  readonly #broadcast: boolean;
  /** The hashing the model was trained with (its `kindred.hashing`). */
  readonly hasher: FeatureHasher;
  /** Clicks with a dwell below this are negatives for this model (`kindred.contract.falsePositiveDwellMs`), or undefined. */
  readonly falsePositiveDwellMs: number | undefined;

  /**
   * @param pool a pool where the model is loaded
   * @throws InvalidArgumentError for a bad option or a model that is not loaded
   * @throws ModelError `ERR_KINDRED_MODEL_INPUT` when the model lacks an FwFM input;
   *   `ERR_KINDRED_MODEL_LOAD` when it has no `kindred.hashing` metadata
   */
  constructor(pool: ModelPool, options?: FwFmRankerOptions) {
    if (typeof pool !== 'object' || pool === null || typeof (pool as ModelPool).describe !== 'function') {
      throw invalidArgument('pool', 'a ModelPool', pool);
    }
    const o = optionsObject<FwFmRankerOptions>(options, 'options');
    const model = o.model ?? 'fwfm-ranker';
    if (typeof model !== 'string' || model.length === 0) throw invalidArgument('options.model', 'a non-empty string', model);
    this.#historyLength = integerInRange(o.historyLength ?? 32, 'options.historyLength', 1, 1024);
    this.#parallelRows = integerInRange(o.parallelRows ?? 0, 'options.parallelRows', 0, 1 << 24);
    const description = pool.describe(model);
    if (description === undefined) throw invalidArgument('options.model', `the name of a model loaded in the pool`, model);
    const declared = description.inputs.map((s) => s.name);
    for (const input of FWFM_INPUTS) {
      if (!declared.includes(input)) {
        throw new ModelError('ERR_KINDRED_MODEL_INPUT', model, `is not an FwFM ranker: it has no input '${input}' (it has ${declared.join(', ')})`, {
          input,
        });
      }
    }
    if (!description.outputs.some((s) => s.name === 'pctr')) {
      throw new ModelError('ERR_KINDRED_MODEL_LOAD', model, "is not an FwFM ranker: it has no output 'pctr'");
    }
    this.hasher = FeatureHasher.fromMetadata(model, description.metadata);
    const contract = metadataJson(description.metadata, 'kindred.contract') as { falsePositiveDwellMs?: unknown } | undefined;
    const cut = contract?.falsePositiveDwellMs;
    this.falsePositiveDwellMs = typeof cut === 'number' && Number.isFinite(cut) && cut >= 0 ? cut : undefined;
    // Batch-1 request inputs need a model that broadcasts them (its kindred.contract.requestInputs)
    // and a pool that accepts them (one that lists them in the model's description as broadcastInputs).
    const broadcastable = (description as { broadcastInputs?: unknown }).broadcastInputs;
    this.#broadcast = Array.isArray(broadcastable) && REQUEST_INPUTS.every((input) => broadcastable.includes(input));
    this.#pool = pool;
    this.#model = model;
  }

  /** Whether the request side (user, context, history) is fed once with batch 1 rather than on every row. */
  get broadcastsRequest(): boolean {
    return this.#broadcast;
  }

  /** History items fed per candidate. */
  get historyLength(): number {
    return this.#historyLength;
  }

  /**
   * The click probability of each item for this user, context and history, in one model run.
   *
   * @returns pCTR per item, aligned with `request.items` (empty without items; no model run then)
   * @throws InvalidArgumentError (as a rejection) naming the bad field (`request.items[3].category`)
   * @throws (rejects) ModelError, QueueFullError, AbortError, WorkerError from the pool
   */
  async score(request: RankerRequest, options?: RankerScoreOptions): Promise<Float32Array> {
    const signal = optionalSignal(optionsObject<RankerScoreOptions>(options, 'options').signal, 'options.signal');
    const rows = checkRows(request);
    if (rows === 0) {
      checkScalars(request);
      return new Float32Array(0);
    }
    const buffers = this.#acquire(rows);
    try {
      const feeds = this.#feeds(request, rows, buffers);
      const runOptions = signal === undefined ? undefined : { signal };
      const parts = this.#parallelRows === 0 ? 1 : Math.floor(rows / this.#parallelRows);
      if (parts < 2) return (await this.#pool.run(this.#model, feeds, runOptions)).pctr!;
      // Row ranges of the parts, as views of the same buffers (each part reads its own rows).
      const seq = this.#historyLength;
      const runs: Array<Promise<ModelOutputs>> = [];
      for (let k = 0; k < parts; k++) {
        const start = Math.floor((k * rows) / parts);
        const end = Math.floor(((k + 1) * rows) / parts);
        const part: Record<string, BigInt64Array | { data: BigInt64Array; dims: number[] }> = {};
        for (const [name, value] of Object.entries(feeds)) {
          if (value instanceof BigInt64Array) part[name] = value.subarray(start, end);
          else if (value.dims[0] === 1 && rows > 1) part[name] = value; // batch 1: the same for every part
          else part[name] = { data: value.data.subarray(start * seq, end * seq), dims: [end - start, seq] };
        }
        runs.push(this.#pool.run(this.#model, part, runOptions));
      }
      // Wait for every part (even after a failure), so no run still reads the buffers when they are reused.
      const settled = await Promise.allSettled(runs);
      const pctr = new Float32Array(rows);
      let at = 0;
      for (const outcome of settled) {
        if (outcome.status === 'rejected') throw outcome.reason;
        pctr.set(outcome.value.pctr!, at);
        at += outcome.value.pctr!.length;
      }
      return pctr;
    } finally {
      // Settled: the pool has copied the inputs into its batch (or dropped them), so they can be reused.
      this.#release(buffers);
    }
  }

  /**
   * Input buffers are reused across requests (a few sets, each as large as the largest request
   * seen): a 2,000-candidate request feeds ~600 KB of int64, and allocating that per request makes
   * V8 collect garbage for it.
   */
  #acquire(rows: number): FeedBuffers {
    for (let i = this.#free.length - 1; i >= 0; i--) {
      if (this.#free[i]!.capacity >= rows) return this.#free.splice(i, 1)[0]!;
    }
    const capacity = Math.max(rows, this.#free.pop()?.capacity ?? 0);
    const seq = this.#historyLength;
    return {
      capacity,
      columns: Array.from({ length: 7 }, () => new BigInt64Array(capacity)),
      history: new BigInt64Array(capacity * seq),
    };
  }

  #release(buffers: FeedBuffers): void {
    if (this.#free.length < MAX_FREE_BUFFERS) this.#free.push(buffers);
  }

  #feeds(request: RankerRequest, rows: number, buffers: FeedBuffers): Record<string, BigInt64Array | { data: BigInt64Array; dims: number[] }> {
    const { user, hour, device, history } = checkScalars(request);
    const items = request.items;

    const h = this.hasher;
    const seq = this.#historyLength;
    const used = Math.min(history.length, seq);
    const [userCol, itemId, category, author, hourCol, deviceCol, lengthCol] = buffers.columns.map((c) => c.subarray(0, rows)) as [
      BigInt64Array,
      BigInt64Array,
      BigInt64Array,
      BigInt64Array,
      BigInt64Array,
      BigInt64Array,
      BigInt64Array,
    ];
    const broadcast = this.#broadcast;
    const historyIds = buffers.history.subarray(0, (broadcast ? 1 : rows) * seq);
    historyIds.fill(0n, 0, seq);
    for (let j = 0; j < used; j++) {
      const at = history.length - used + j;
      historyIds[j] = h.bigBucket('history_item_ids', featureValue(history[at], `request.history[${at}]`));
    }
    const idBucket = h.bigBucketOf('item_id');
    const categoryBucket = h.bigBucketOf('item_category');
    const authorBucket = h.bigBucketOf('item_author');
    for (let i = 0; i < rows; i++) {
      const item = items[i] as RankerItem | undefined;
      if (typeof item !== 'object' || item === null) throw invalidArgument(`request.items[${i}]`, 'an item { id, category, author }', item);
      // Checked inline: the argument's name is built only for an error (this runs per candidate).
      const { id, category: cat, author: by } = item;
      if (!isFeatureValue(id)) featureValue(id, `request.items[${i}].id`);
      if (!isFeatureValue(cat)) featureValue(cat, `request.items[${i}].category`);
      if (!isFeatureValue(by)) featureValue(by, `request.items[${i}].author`);
      itemId[i] = idBucket(id);
      category[i] = categoryBucket(cat);
      author[i] = authorBucket(by);
    }
    if (broadcast) {
      // The model broadcasts the request side: one row of it, whatever the number of candidates.
      const one = (column: BigInt64Array, value: bigint) => ({ data: column.subarray(0, 1).fill(value), dims: [1] });
      return {
        user_id: one(userCol, h.bigBucket('user_id', user)),
        item_id: itemId,
        item_category: category,
        item_author: author,
        context_hour: one(hourCol, h.bigBucket('context_hour', hour)),
        context_device: one(deviceCol, h.bigBucket('context_device', device)),
        history_item_ids: { data: historyIds, dims: [1, seq] },
        history_length: one(lengthCol, BigInt(used)),
      };
    }
    // Every row has the same history: doubling copies, log2(rows) memcpy calls instead of one per row.
    for (let filled = 1; filled < rows; filled *= 2) historyIds.copyWithin(filled * seq, 0, Math.min(filled, rows - filled) * seq);
    return {
      user_id: userCol.fill(h.bigBucket('user_id', user)),
      item_id: itemId,
      item_category: category,
      item_author: author,
      context_hour: hourCol.fill(h.bigBucket('context_hour', hour)),
      context_device: deviceCol.fill(h.bigBucket('context_device', device)),
      history_item_ids: { data: historyIds, dims: [rows, seq] },
      history_length: lengthCol.fill(BigInt(used)),
    };
  }
}

/** Buffer sets kept for reuse (one per request in flight, up to this many). */
const MAX_FREE_BUFFERS = 16;

/** One request's input buffers, `capacity` rows each. */
interface FeedBuffers {
  readonly capacity: number;
  /** user, item, category, author, hour, device, history length. */
  readonly columns: BigInt64Array[];
  /** capacity × historyLength. */
  readonly history: BigInt64Array;
}

/** The number of candidates of a request, after checking its shape. */
function checkRows(request: RankerRequest): number {
  if (typeof request !== 'object' || request === null) throw invalidArgument('request', 'a request { user, items, context?, history? }', request);
  if (!Array.isArray(request.items)) throw invalidArgument('request.items', 'an array of { id, category, author }', request.items);
  return request.items.length;
}

/** The request's user, hour, device and history, checked. */
function checkScalars(request: RankerRequest): { user: FeatureValue; hour: number; device: FeatureValue; history: readonly FeatureValue[] } {
  const user = featureValue(request.user, 'request.user');
  const context = optionsObject<RankerContext>(request.context, 'request.context');
  const hour = context.hour === undefined ? new Date().getUTCHours() : integerInRange(context.hour, 'request.context.hour', 0, 23);
  const device = context.device === undefined ? 0 : featureValue(context.device, 'request.context.device');
  const history = request.history ?? [];
  if (!Array.isArray(history)) throw invalidArgument('request.history', 'an array of item ids', history);
  return { user, hour, device, history };
}

function isFeatureValue(value: unknown): value is FeatureValue {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function featureValue(value: unknown, argument: string): FeatureValue {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw invalidArgument(argument, 'a string or a finite number', value);
}
