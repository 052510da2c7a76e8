/**
 * The piscina worker of {@link ModelPool}: one onnxruntime-node InferenceSession per model per
 * thread, created on the first task that names the model and kept for the worker's life.
 *
 * Kept free of local imports so that it runs as compiled JS (dist/) and, under vitest, as TS
 * through tsx with no path rewriting. Errors cross the thread boundary as plain Errors whose
 * message starts with a tag (`MODEL_LOAD:` / `MODEL_RUN:`) that the pool maps onto ModelError.
 */
import * as ort from 'onnxruntime-node';
import { move } from 'piscina';

/** Where a model comes from and how its session is set up (sent with every task; small). */
export interface WorkerModelSource {
  path: string;
  session: {
    intraOpNumThreads: number;
    interOpNumThreads: number;
    logSeverityLevel: 0 | 1 | 2 | 3 | 4;
    executionProviders: string[];
  };
}

/** One input tensor of a batch: the concatenated rows, moved (not copied) to the worker. */
export interface WorkerTensor {
  name: string;
  type: string;
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;
  dims: number[];
}

export type WorkerTask =
  | { op: 'describe'; model: WorkerModelSource }
  | { op: 'run'; model: WorkerModelSource; inputs: WorkerTensor[]; outputs: string[] };

/** The declared inputs and outputs, as the `describe` op returns them. */
export interface WorkerDescription {
  inputs: Array<{ name: string; type: string; shape: Array<number | string> }>;
  outputs: Array<{ name: string; type: string; shape: Array<number | string> }>;
}

/** Sessions by model source; a worker holds one map for its life, an inline pool its own. */
export type SessionCache = Map<string, Promise<ort.InferenceSession>>;

const workerSessions: SessionCache = new Map();

function keyOf(model: WorkerModelSource): string {
  return `${model.path}\u0000${JSON.stringify(model.session)}`;
}

function session(model: WorkerModelSource, sessions: SessionCache): Promise<ort.InferenceSession> {
  const key = keyOf(model);
  let pending = sessions.get(key);
  if (pending === undefined) {
    pending = ort.InferenceSession.create(model.path, {
      ...model.session,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    // A failed load is not cached: the file may be fixed and loaded again.
    pending.catch(() => sessions.delete(key));
    sessions.set(key, pending);
  }
  return pending;
}

function tagged(tag: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${tag}: ${message}`);
}

function describeSession(s: ort.InferenceSession): WorkerDescription {
  const spec = (m: ort.InferenceSession.ValueMetadata) => {
    if (!m.isTensor) throw new Error(`'${m.name}' is not a tensor; kindred models take and return tensors`);
    return { name: m.name, type: m.type, shape: [...m.shape] };
  };
  return { inputs: s.inputMetadata.map(spec), outputs: s.outputMetadata.map(spec) };
}

/** The worker's entry: {@link runTask}, its Float32Array moved (not copied) back to the caller. */
export default async function handle(task: WorkerTask): Promise<unknown> {
  const result = await runTask(task, workerSessions);
  return result instanceof Float32Array ? move(result) : result;
}

/**
 * `describe` → the model's declared inputs and outputs. `run` → every requested output, in
 * order, concatenated into one Float32Array. Also called on the event loop by an inline pool.
 */
export async function runTask(task: WorkerTask, sessions: SessionCache): Promise<WorkerDescription | Float32Array> {
  let s: ort.InferenceSession;
  try {
    s = await session(task.model, sessions);
  } catch (error) {
    throw tagged('MODEL_LOAD', error);
  }
  if (task.op === 'describe') {
    try {
      return describeSession(s);
    } catch (error) {
      throw tagged('MODEL_LOAD', error);
    }
  }
  let results: ort.InferenceSession.ReturnType;
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of task.inputs) {
      feeds[input.name] = new ort.Tensor(input.type as 'float32', input.data as Float32Array, input.dims);
    }
    results = await s.run(feeds);
  } catch (error) {
    throw tagged('MODEL_RUN', error);
  }
  let total = 0;
  for (const name of task.outputs) {
    const value = results[name];
    if (!(value instanceof ort.Tensor) || !(value.data instanceof Float32Array)) {
      throw tagged('MODEL_RUN', `output '${name}' is not a float32 tensor`);
    }
    total += value.data.length;
  }
  // One output: hand its own buffer back when it is not shared, so nothing is copied.
  const only = task.outputs.length === 1 ? (results[task.outputs[0]!]!.data as Float32Array) : undefined;
  if (only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only;
  const out = new Float32Array(total);
  let at = 0;
  for (const name of task.outputs) {
    const data = results[name]!.data as Float32Array;
    out.set(data, at);
    at += data.length;
  }
  return out;
}

/** Releases an inline pool's sessions (a worker's go with its thread). */
export async function releaseSessions(sessions: SessionCache): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.allSettled(all.map(async (pending) => (await pending).release()));
}
