/**
 * Runs ONNX models on a piscina pool of worker threads, off the event loop (or, with `threads: 0`,
 * on the event loop itself, for small models whose run costs less than a thread hop). Concurrent requests
 * for the same model are micro-batched: their rows are concatenated along the batch axis, run
 * once, and the outputs split back. A bounded queue gives back-pressure ({@link QueueFullError}).
 */
import { EventEmitter } from 'node:events';
import { access } from 'node:fs/promises';

import { Piscina } from 'piscina';

import { AbortError, ClosedError, InvalidArgumentError, ModelError, QueueFullError, WorkerError } from '../core/errors.js';
import { integerInRange, invalidArgument, optionalSignal, optionsObject } from '../core/validate.js';
import {
  arrayTypeOf,
  checkFeeds,
  outputRowSizes,
  type CheckedRequest,
  type ModelDescription,
  type ModelFeeds,
  type ModelOutputs,
  type TensorSpec,
} from './model-contract.js';
import type { SessionCache, WorkerDescription, WorkerModelSource, WorkerTask, WorkerTensor } from './model-worker.js';
import { loadModelMetadata, MalformedModelError } from './onnx-metadata.js';

/** Options of a {@link ModelPool}. The defaults suit a 2-core box next to a Node service. */
export interface ModelPoolOptions {
  /**
   * Worker threads (each holds one session per model). 1..64, default 1. 0 runs the models inline
   * on the event loop, one run at a time: no thread hop and no copy for each run (~1–2 ms saved on
   * this project's 2-core VM), but the event loop is busy for as long as a run takes, so use it
   * only for models that run in about a millisecond (the shipped ranker at ~2,000 rows).
   */
  threads?: number;
  /**
   * With workers (`threads` ≥ 1): a run that finds no other run in flight and nothing waiting goes
   * inline on the event loop instead of to a worker (each model then also has a session on the
   * main thread). One request at a time skips the thread hop; under load the workers still share
   * the work. For models that run in about a millisecond. Default false.
   */
  inlineWhenIdle?: boolean;
  /** ORT threads inside one operator, per worker. 1..64, default 1. */
  intraOpNumThreads?: number;
  /** ORT threads across operators, per worker. 1..64, default 1. */
  interOpNumThreads?: number;
  /** Most rows in one run; a single larger request still runs alone. 1..65536, default 256. */
  maxBatch?: number;
  /** How long the first request of a batch waits for company, in ms. 0..1000, default 2. */
  maxDelayMs?: number;
  /** Most requests waiting for a worker (across models) before `run` rejects with QueueFullError. 1..1e6, default 1024. */
  maxQueue?: number;
  /** ORT log level (0 verbose … 4 fatal). Default 3: errors, which kindred also reports as rejections. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** ORT execution providers, in order of preference. Default `['cpu']`. */
  executionProviders?: string[];
}

/** Per-call options of {@link ModelPool.run}. */
export interface ModelRunOptions {
  /** Cancels the request: a waiting one leaves its batch; a running one's result is dropped. */
  signal?: AbortSignal;
}

/** Counters of a {@link ModelPool}, for metrics. */
export interface ModelPoolStats {
  /** Model runs (worker tasks) finished, successful or not. */
  runs: number;
  /** Of those, runs made on the event loop (`threads: 0` or `inlineWhenIdle`). */
  inlineRuns: number;
  /** Requests answered (resolved or rejected, aborts included). */
  requests: number;
  /** Rows run. `rows / runs` is the mean batch size. */
  rows: number;
  /** Requests waiting for a worker. */
  queued: number;
  /** Runs in workers now. */
  inFlight: number;
  /** Runs that failed inside the model (`ERR_KINDRED_MODEL_RUN`). */
  modelErrors: number;
  /** Runs lost to a worker that died. */
  workerErrors: number;
  /** Workers that exited while the pool was open (piscina replaces them). */
  workerExits: number;
  /** Requests rejected by a full queue. */
  rejected: number;
}

interface Request {
  readonly checked: CheckedRequest;
  readonly resolve: (outputs: ModelOutputs) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
  batch: Batch | undefined;
}

interface Batch {
  readonly model: LoadedModel;
  readonly signature: string;
  readonly requests: Request[];
  rows: number;
  /** Its maxDelay has passed: it runs as soon as a worker is free (and keeps filling until then). */
  due: boolean;
  /** Run each request on its own (a retry after a batch failed). */
  readonly solo: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface LoadedModel {
  readonly description: ModelDescription;
  readonly source: WorkerModelSource;
  readonly outputNames: string[];
  readonly outputRowSizes: Array<number | undefined>;
  /** Most rows in one run of this model. */
  readonly maxBatch: number;
  /** Batches still filling, by row signature. */
  readonly filling: Map<string, Batch>;
}

/** Per-model options of {@link ModelPool.load}. */
export interface ModelLoadOptions {
  /** Overrides the pool's `maxBatch` for this model. */
  maxBatch?: number;
}

const here = import.meta.url;
// From the TS sources (vitest, tsx) the worker is TS too and needs tsx inside the thread; from
// dist/ it is the compiled sibling. Either way the worker file has no local imports.
const fromSource = here.endsWith('.ts');
const workerFile = new URL(fromSource ? './model-worker.ts' : './model-worker.js', here).href;

/**
 * A pool of worker threads running ONNX models, with micro-batching and back-pressure.
 *
 * Results of one micro-batch are views into one buffer moved back from the worker (no copy):
 * `slice()` an output before transferring it elsewhere. Inputs are copied once into the batch
 * buffers (which are moved to the worker), so callers keep their arrays.
 *
 * Events: `'worker-error'` (WorkerError) when a worker dies; the pool replaces it.
 *
 * Workers are never terminated while a model runs (onnxruntime-node takes the whole process down
 * when a thread is terminated inside a native run): aborting a running request drops its result,
 * and `close()` waits for running batches before destroying the workers.
 *
 * @example
 * const pool = new ModelPool({ threads: 1 });
 * await pool.load('feature-tower', 'models/feature-tower.onnx');
 * const { user, peer } = await pool.run('feature-tower', feeds);
 * await pool.close();
 */
export class ModelPool extends EventEmitter {
  /** The workers; undefined for an inline pool (`threads: 0`). */
  readonly #piscina: Piscina<WorkerTask, unknown> | undefined;
  /** An inline pool's sessions, and the worker module, loaded on first use (it loads onnxruntime). */
  readonly #inlineSessions: SessionCache = new Map();
  #inlineModule: Promise<typeof import('./model-worker.js')> | undefined;
  readonly #inlineWhenIdle: boolean;
  readonly #models = new Map<string, LoadedModel>();
  readonly #ready: Batch[] = [];
  readonly #slots: number;
  readonly #maxBatch: number;
  readonly #maxDelayMs: number;
  readonly #maxQueue: number;
  readonly #session: WorkerModelSource['session'];
  readonly #idle: Array<() => void> = [];
  #queued = 0;
  #inFlight = 0;
  #closed = false;
  readonly #stats = { runs: 0, inlineRuns: 0, requests: 0, rows: 0, modelErrors: 0, workerErrors: 0, workerExits: 0, rejected: 0 };

  /**
   * @param options see {@link ModelPoolOptions}
   * @throws InvalidArgumentError naming the bad option
   */
  constructor(options?: ModelPoolOptions) {
    super();
    const o = optionsObject<ModelPoolOptions>(options, 'options');
    const threads = integerInRange(o.threads ?? 1, 'options.threads', 0, 64);
    if (o.inlineWhenIdle !== undefined && typeof o.inlineWhenIdle !== 'boolean') {
      throw invalidArgument('options.inlineWhenIdle', 'a boolean', o.inlineWhenIdle);
    }
    this.#inlineWhenIdle = o.inlineWhenIdle === true && threads > 0;
    this.#maxBatch = integerInRange(o.maxBatch ?? 256, 'options.maxBatch', 1, 65536);
    this.#maxDelayMs = integerInRange(o.maxDelayMs ?? 2, 'options.maxDelayMs', 0, 1000);
    this.#maxQueue = integerInRange(o.maxQueue ?? 1024, 'options.maxQueue', 1, 1_000_000);
    const providers = o.executionProviders ?? ['cpu'];
    if (!Array.isArray(providers) || providers.length === 0 || providers.some((p) => typeof p !== 'string')) {
      throw invalidArgument('options.executionProviders', 'a non-empty array of provider names', providers);
    }
    this.#session = {
      intraOpNumThreads: integerInRange(o.intraOpNumThreads ?? 1, 'options.intraOpNumThreads', 1, 64),
      interOpNumThreads: integerInRange(o.interOpNumThreads ?? 1, 'options.interOpNumThreads', 1, 64),
      logSeverityLevel: integerInRange(o.logSeverityLevel ?? 3, 'options.logSeverityLevel', 0, 4) as 0 | 1 | 2 | 3 | 4,
      executionProviders: [...providers],
    };
    this.#slots = Math.max(threads, 1);
    if (threads === 0) {
      this.#piscina = undefined;
      return;
    }
    const piscina = new Piscina<WorkerTask, unknown>({
      filename: workerFile,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
    });
    this.#piscina = piscina;
    // Errors piscina cannot pin on a task (a worker dying between tasks); never let them throw.
    piscina.on('error', (error: unknown) => {
      this.emit('worker-error', new WorkerError(`A model worker failed: ${messageOf(error)}`, { cause: error }));
    });
    // A worker that goes away while the pool is open died; piscina starts a replacement, which
    // loads each model again on first use.
    piscina.on('workerDestroy', () => {
      if (this.#closed) return;
      this.#stats.workerExits++;
      this.emit('worker-error', new WorkerError('A model worker exited; piscina replaces it'));
    });
  }

  /** One task on a worker, or inline on the event loop (always without workers; else when asked). */
  async #runTask(task: WorkerTask, transferList?: ArrayBuffer[], inline = false): Promise<unknown> {
    if (this.#piscina !== undefined && !inline) return this.#piscina.run(task, transferList === undefined ? undefined : { transferList });
    this.#inlineModule ??= import('./model-worker.js');
    return (await this.#inlineModule).runTask(task, this.#inlineSessions);
  }

  /**
   * Loads a model under `name`: reads its metadata, creates a session in each worker (a worker
   * that starts later loads it on first use) and reads the declared inputs and outputs.
   *
   * @param name the model's name in this pool (e.g. `'feature-tower'`)
   * @param path an ONNX file (opset ≥ 17 recommended; float32 outputs with a leading batch axis)
   * @throws InvalidArgumentError for a bad name, path or option, or a name already loaded
   * @throws ModelError `ERR_KINDRED_MODEL_LOAD` for a missing or corrupt file, or outputs kindred cannot use
   */
  async load(name: string, path: string, options?: ModelLoadOptions): Promise<ModelDescription> {
    if (this.#closed) throw new ClosedError('model pool');
    if (typeof name !== 'string' || name.length === 0) throw invalidArgument('name', 'a non-empty string', name);
    if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path', 'a file path', path);
    const o = optionsObject<ModelLoadOptions>(options, 'options');
    const maxBatch = integerInRange(o.maxBatch ?? this.#maxBatch, 'options.maxBatch', 1, 65536);
    if (this.#models.has(name)) throw invalidArgument('name', `a name not loaded yet (${name} is)`, name);
    const fail = (message: string, cause?: unknown) => new ModelError('ERR_KINDRED_MODEL_LOAD', name, message, { cause });
    try {
      await access(path);
    } catch (error) {
      throw fail(`cannot read ${path}: ${messageOf(error)}`, error);
    }
    let metadata: Record<string, string>;
    try {
      metadata = await loadModelMetadata(path);
    } catch (error) {
      const what = error instanceof MalformedModelError ? 'is not an ONNX model' : 'has unreadable metadata';
      throw fail(`${path} ${what} (${messageOf(error)})`, error);
    }
    const source: WorkerModelSource = { path, session: this.#session };
    let declared: WorkerDescription;
    try {
      // One describe per worker: with every worker idle, piscina hands each one a task, so every
      // thread loads the session now rather than on a request's time.
      const task: WorkerTask = { op: 'describe', model: source };
      const all = await Promise.all(Array.from({ length: this.#slots }, () => this.#runTask(task)));
      declared = all[0] as WorkerDescription;
      // The main thread's session too, so that the first inline run does not pay for the load.
      if (this.#inlineWhenIdle) await this.#runTask(task, undefined, true);
    } catch (error) {
      throw fail(`${path} could not be loaded by onnxruntime (${stripTag(messageOf(error))})`, error);
    }
    let rowSizes: Array<number | undefined>;
    try {
      rowSizes = outputRowSizes(declared.outputs);
      for (const input of declared.inputs) {
        if (arrayTypeOf(input.type) === undefined) throw new Error(`input '${input.name}' has type ${input.type}, which kindred cannot feed`);
      }
    } catch (error) {
      throw fail(messageOf(error), error);
    }
    const dynamicFirst = (s: TensorSpec) => s.shape.length > 0 && typeof s.shape[0] === 'string';
    const description: ModelDescription = {
      name,
      path,
      inputs: declared.inputs,
      outputs: declared.outputs,
      metadata,
      batchable: declared.inputs.every(dynamicFirst) && declared.outputs.every(dynamicFirst),
      broadcastInputs: broadcastInputs(metadata, declared.inputs),
    };
    if (this.#models.has(name)) throw invalidArgument('name', `a name not loaded yet (${name} is)`, name);
    this.#models.set(name, {
      description,
      source,
      outputNames: declared.outputs.map((s) => s.name),
      outputRowSizes: rowSizes,
      maxBatch,
      filling: new Map(),
    });
    return description;
  }

  /** The description of a loaded model, or undefined. */
  describe(name: string): ModelDescription | undefined {
    return this.#models.get(name)?.description;
  }

  /**
   * Runs `feeds` through model `name`, batched with concurrent requests for the same model.
   *
   * @returns every declared output as a Float32Array of `rows × rowSize` (views of the batch's buffer)
   * @throws (rejects) ModelError `ERR_KINDRED_MODEL_INPUT` naming an unknown, missing or mis-shaped input
   * @throws (rejects) ModelError `ERR_KINDRED_MODEL_RUN` when the model fails on these inputs
   * @throws (rejects) QueueFullError when `maxQueue` requests are waiting; AbortError; WorkerError; ClosedError
   */
  run(name: string, feeds: ModelFeeds, options?: ModelRunOptions): Promise<ModelOutputs> {
    try {
      if (this.#closed) throw new ClosedError('model pool');
      const model = this.#models.get(name);
      if (model === undefined) {
        throw new InvalidArgumentError('name', `a loaded model (${[...this.#models.keys()].join(', ') || 'none'})`, String(name));
      }
      const signal = optionalSignal(optionsObject<ModelRunOptions>(options, 'options').signal, 'options.signal');
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
      const checked = checkFeeds(model.description, feeds);
      if (this.#queued >= this.#maxQueue) {
        this.#stats.rejected++;
        throw new QueueFullError('model pool', this.#maxQueue);
      }
      return new Promise<ModelOutputs>((resolve, reject) => {
        const request: Request = { checked, resolve, reject, signal, onAbort: undefined, settled: false, batch: undefined };
        if (signal !== undefined) {
          request.onAbort = () => this.#abort(request);
          signal.addEventListener('abort', request.onAbort, { once: true });
        }
        this.#queued++;
        this.#enqueue(model, request);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counters for metrics. */
  stats(): ModelPoolStats {
    return { ...this.#stats, queued: this.#queued, inFlight: this.#inFlight };
  }

  /** The live worker threads (for diagnostics and tests). @internal */
  get workerThreads(): readonly import('node:worker_threads').Worker[] {
    return this.#piscina?.threads ?? [];
  }

  /**
   * Stops accepting requests, runs everything already accepted, then destroys the workers.
   * Safe to call twice.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const model of this.#models.values()) for (const batch of model.filling.values()) batch.due = true;
      this.#pump();
    }
    while (this.#queued > 0 || this.#inFlight > 0) await new Promise<void>((r) => this.#idle.push(r));
    if (this.#piscina !== undefined) {
      await this.#piscina.close();
      await this.#piscina.destroy();
    }
    if (this.#inlineModule !== undefined) await (await this.#inlineModule).releaseSessions(this.#inlineSessions);
  }

  #enqueue(model: LoadedModel, request: Request): void {
    const maxBatch = model.maxBatch;
    const rows = request.checked.rows;
    // A request with broadcast inputs runs alone: its batch-1 inputs cannot be concatenated.
    if (!model.description.batchable || rows >= maxBatch || request.checked.broadcast) {
      this.#ready.push(this.#newBatch(model, request.checked.signature, true, [request]));
      this.#pump();
      return;
    }
    let batch = model.filling.get(request.checked.signature);
    if (batch !== undefined && batch.rows + rows > maxBatch) {
      this.#seal(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = this.#newBatch(model, request.checked.signature, false, []);
      model.filling.set(batch.signature, batch);
      const started = batch;
      started.timer = setTimeout(() => {
        started.timer = undefined;
        started.due = true;
        this.#pump();
      }, this.#maxDelayMs);
    }
    batch.requests.push(request);
    batch.rows += rows;
    request.batch = batch;
    if (batch.rows >= maxBatch || this.#closed) this.#seal(batch);
    this.#pump();
  }

  #newBatch(model: LoadedModel, signature: string, solo: boolean, requests: Request[]): Batch {
    const batch: Batch = { model, signature, requests, rows: 0, due: solo, solo, timer: undefined };
    for (const r of requests) {
      batch.rows += r.checked.rows;
      r.batch = batch;
    }
    return batch;
  }

  /** A full (or closing) batch stops filling and waits for a worker. */
  #seal(batch: Batch): void {
    this.#stopFilling(batch);
    this.#ready.push(batch);
  }

  #stopFilling(batch: Batch): void {
    if (batch.model.filling.get(batch.signature) === batch) batch.model.filling.delete(batch.signature);
    if (batch.timer !== undefined) clearTimeout(batch.timer);
    batch.timer = undefined;
    batch.due = true;
  }

  /** Starts runs while workers are free: sealed batches first, then filling batches whose delay is over. */
  #pump(): void {
    while (this.#inFlight < this.#slots) {
      let batch = this.#ready.shift();
      if (batch === undefined) {
        for (const model of this.#models.values()) {
          for (const filling of model.filling.values()) {
            if (filling.due) {
              batch = filling;
              break;
            }
          }
          if (batch !== undefined) break;
        }
        if (batch === undefined) break;
        this.#stopFilling(batch);
      }
      const live = batch.requests.filter((r) => !r.settled);
      if (live.length === 0) continue;
      this.#queued -= live.length;
      for (const r of live) r.batch = undefined;
      void this.#dispatch(batch.model, live);
    }
    this.#notifyIdle();
  }

  async #dispatch(model: LoadedModel, requests: Request[]): Promise<void> {
    this.#inFlight++;
    const rows = requests.reduce((n, r) => n + r.checked.rows, 0);
    const inputs = concatenate(requests, rows);
    const transferList = inputs.map((t) => t.data.buffer as ArrayBuffer);
    let result: unknown;
    let failure: unknown;
    try {
      // Inline only when this is the one run in flight and nothing waits for a slot.
      const inline = this.#piscina === undefined || (this.#inlineWhenIdle && this.#inFlight === 1 && this.#ready.length === 0);
      if (inline) this.#stats.inlineRuns++;
      result = await this.#runTask({ op: 'run', model: model.source, inputs, outputs: model.outputNames }, transferList, inline);
    } catch (error) {
      failure = error;
    }
    this.#inFlight--;
    this.#stats.runs++;
    this.#stats.rows += rows;
    if (failure === undefined) {
      try {
        const outputs = split(model, result, requests, rows);
        requests.forEach((r, i) => this.#settle(r, outputs[i]!, undefined));
      } catch (error) {
        failure = new Error(`MODEL_RUN: ${messageOf(error)}`);
      }
    }
    if (failure !== undefined) this.#fail(model, requests, failure);
    this.#pump();
  }

  #fail(model: LoadedModel, requests: Request[], failure: unknown): void {
    const message = messageOf(failure);
    const name = model.description.name;
    if (message.startsWith('MODEL_RUN:')) {
      this.#stats.modelErrors++;
      const live = requests.filter((r) => !r.settled);
      // One bad request must not fail its neighbours: retry each alone, so only it fails.
      if (live.length > 1) {
        for (const r of live) this.#ready.push(this.#newBatch(model, r.checked.signature, true, [r]));
        this.#queued += live.length;
        return;
      }
      for (const r of live) this.#settle(r, undefined, new ModelError('ERR_KINDRED_MODEL_RUN', name, stripTag(message), { cause: failure }));
    } else if (message.startsWith('MODEL_LOAD:')) {
      for (const r of requests) this.#settle(r, undefined, new ModelError('ERR_KINDRED_MODEL_LOAD', name, stripTag(message), { cause: failure }));
    } else {
      this.#stats.workerErrors++;
      const error = new WorkerError(`The worker running model '${name}' failed: ${message}`, { cause: failure });
      for (const r of requests) this.#settle(r, undefined, error);
    }
  }

  #abort(request: Request): void {
    if (request.settled) return;
    const batch = request.batch;
    if (batch !== undefined) {
      // Still waiting: leave the batch, so its rows are not run.
      const at = batch.requests.indexOf(request);
      if (at >= 0) batch.requests.splice(at, 1);
      batch.rows -= request.checked.rows;
      this.#queued--;
      request.batch = undefined;
    }
    this.#settle(request, undefined, new AbortError(undefined, { cause: request.signal?.reason }));
    this.#notifyIdle();
  }

  #settle(request: Request, outputs: ModelOutputs | undefined, error: unknown): void {
    if (request.settled) return;
    request.settled = true;
    this.#stats.requests++;
    if (request.onAbort !== undefined) request.signal?.removeEventListener('abort', request.onAbort);
    if (error !== undefined) request.reject(error);
    else request.resolve(outputs!);
  }

  #notifyIdle(): void {
    if (this.#queued > 0 || this.#inFlight > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}

/** The batch's inputs: each request's rows, concatenated, in fresh buffers that can be moved. */
function concatenate(requests: Request[], rows: number): WorkerTensor[] {
  const first = requests[0]!.checked;
  return first.inputs.map((spec, k) => {
    const Ctor = arrayTypeOf(spec.type)!;
    // A broadcast input (only in a request that runs alone) keeps its one row.
    const inputRows = spec.broadcast ? 1 : rows;
    const data = new Ctor(inputRows * spec.rowSize);
    let at = 0;
    for (const r of requests) {
      const part = r.checked.inputs[k]!.data;
      (data as Float32Array).set(part as Float32Array, at);
      at += part.length;
    }
    return { name: spec.name, type: spec.type, data, dims: [inputRows, ...spec.rowDims] };
  });
}

/** Splits the worker's concatenated outputs into each request's rows (views, no copies). */
function split(model: LoadedModel, result: unknown, requests: Request[], rows: number): ModelOutputs[] {
  if (!(result instanceof Float32Array)) throw new Error('the worker returned no Float32Array');
  const sizes = model.outputRowSizes.map((s) => s ?? 0);
  const known = sizes.reduce((a, b) => a + b * rows, 0);
  const last = model.outputRowSizes.length - 1;
  if (model.outputRowSizes[last] === undefined) {
    const rest = result.length - known;
    if (rest < 0 || rest % rows !== 0) throw new Error(`outputs hold ${result.length} floats, which do not split into ${rows} rows`);
    sizes[last] = rest / rows;
  } else if (known !== result.length) {
    throw new Error(`outputs hold ${result.length} floats but ${known} were declared for ${rows} rows`);
  }
  const outputs: ModelOutputs[] = requests.map(() => ({}));
  let at = 0;
  model.outputNames.forEach((name, k) => {
    const size = sizes[k]!;
    for (let i = 0; i < requests.length; i++) {
      const n = requests[i]!.checked.rows * size;
      outputs[i]![name] = result.subarray(at, at + n);
      at += n;
    }
  });
  return outputs;
}

/** The declared inputs the model's `kindred.contract.requestInputs` names (inputs it takes with batch 1 too). */
function broadcastInputs(metadata: Readonly<Record<string, string>>, inputs: readonly TensorSpec[]): string[] {
  let contract: unknown;
  try {
    contract = JSON.parse(metadata['kindred.contract'] ?? 'null');
  } catch {
    return [];
  }
  const named = (contract as { requestInputs?: unknown } | null)?.requestInputs;
  if (!Array.isArray(named)) return [];
  return inputs.filter((spec) => named.includes(spec.name) && spec.shape.length > 0 && typeof spec.shape[0] === 'string').map((spec) => spec.name);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stripTag(message: string): string {
  return message.replace(/^MODEL_(LOAD|RUN): /, '');
}

