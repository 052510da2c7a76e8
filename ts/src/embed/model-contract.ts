/**
 * What a loaded model declares (its inputs, outputs and metadata) and the check of a request
 * against it, so that a wrong request fails with a {@link ModelError} naming the input instead
 * of an onnxruntime message from a worker.
 */
import { ModelError } from '../core/errors.js';
import { describe } from '../core/validate.js';

/** The typed arrays a model input may be, by ONNX element type. */
export type InputArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** One input of a request: a typed array (dims inferred from the model) or a typed array with explicit dims. */
export type ModelInput = InputArray | { data: InputArray; dims: readonly number[] };

/** A request's inputs by name. Every declared input must be present, and nothing else. */
export type ModelFeeds = Readonly<Record<string, ModelInput>>;

/** A model's outputs by name; row r of an output with row size k is `out.subarray(r*k, (r+1)*k)`. */
export type ModelOutputs = Record<string, Float32Array>;

/** A declared input or output: ONNX element type (`'float32'`, `'int64'`…) and shape (numbers, or names of dynamic axes). */
export interface TensorSpec {
  readonly name: string;
  readonly type: string;
  readonly shape: ReadonlyArray<number | string>;
}

/** What {@link ModelPool.load} learnt about a model. */
export interface ModelDescription {
  /** The model's name in its pool. */
  readonly name: string;
  /** The file it was loaded from. */
  readonly path: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** The file's `metadata_props` (plus its JSON sidecar), values as stored (JSON text for kindred keys). */
  readonly metadata: Readonly<Record<string, string>>;
  /** True when every input and output has a dynamic first axis, so requests can be concatenated. */
  readonly batchable: boolean;
  /**
   * Inputs the model also takes with batch 1, broadcast against the other inputs' batch (its
   * `kindred.contract.requestInputs`, e.g. the user side of a ranker). Empty when none.
   */
  readonly broadcastInputs: readonly string[];
}

const arrayTypes: Readonly<Record<string, { ctor: new (n: number) => InputArray; label: string }>> = {
  float32: { ctor: Float32Array, label: 'Float32Array' },
  float64: { ctor: Float64Array, label: 'Float64Array' },
  int64: { ctor: BigInt64Array, label: 'BigInt64Array' },
  int32: { ctor: Int32Array, label: 'Int32Array' },
  int8: { ctor: Int8Array, label: 'Int8Array' },
  uint8: { ctor: Uint8Array, label: 'Uint8Array' },
  bool: { ctor: Uint8Array, label: 'Uint8Array' },
};

/** The typed-array constructor for an ONNX element type, or undefined when kindred cannot feed it. */
export function arrayTypeOf(type: string): (new (n: number) => InputArray) | undefined {
  return arrayTypes[type]?.ctor;
}

/** An input after the check: its rows and the shape of one row. */
export interface CheckedInput {
  readonly name: string;
  readonly type: string;
  readonly data: InputArray;
  /** True for a broadcast input: one row, whatever the request's rows. */
  readonly broadcast: boolean;
  /** Dims after the batch axis (e.g. `[seq]`); the tensor is `[rows, ...rowDims]`. */
  readonly rowDims: readonly number[];
  readonly rowSize: number;
}

/** A checked request: rows, its inputs in the model's input order, and a key of its row shapes. */
export interface CheckedRequest {
  readonly rows: number;
  readonly inputs: readonly CheckedInput[];
  /** Some input is broadcast (batch 1 against `rows`): the request cannot be concatenated with others. */
  readonly broadcast: boolean;
  /** Equal for requests whose rows can be concatenated (same dims after the batch axis). */
  readonly signature: string;
}

function inputError(model: string, input: string, message: string): ModelError {
  return new ModelError('ERR_KINDRED_MODEL_INPUT', model, message, { input });
}

/**
 * Checks `feeds` against `model`'s declared inputs: no unknown or missing input, the right typed
 * array, dims that fit the declared shape, and one batch size across inputs.
 *
 * @throws ModelError `ERR_KINDRED_MODEL_INPUT` naming the first input at fault
 */
export function checkFeeds(model: ModelDescription, feeds: unknown): CheckedRequest {
  const name = model.name;
  if (typeof feeds !== 'object' || feeds === null || Array.isArray(feeds) || ArrayBuffer.isView(feeds)) {
    throw inputError(name, 'feeds', `expected an object of inputs by name but received ${describe(feeds)}`);
  }
  const declared = model.inputs.map((s) => s.name);
  const record = feeds as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!declared.includes(key)) {
      throw inputError(name, key, `unknown input '${key}'; the model's inputs are ${declared.join(', ')}`);
    }
  }
  let rows: number | undefined;
  let rowsFrom = '';
  const pending: Array<{ spec: TensorSpec; data: InputArray; dims: readonly number[] | undefined }> = [];
  for (const spec of model.inputs) {
    const value = record[spec.name];
    if (value === undefined) throw inputError(name, spec.name, `missing input '${spec.name}' (${spec.type} [${spec.shape.join(', ')}])`);
    const expected = arrayTypes[spec.type];
    const data = ArrayBuffer.isView(value) ? value : (value as { data?: unknown }).data;
    const dims = ArrayBuffer.isView(value) ? undefined : (value as { dims?: unknown }).dims;
    if (expected === undefined || !(data instanceof expected.ctor)) {
      throw inputError(
        name,
        spec.name,
        `expected ${expected?.label ?? `an unsupported type (${spec.type})`} for input '${spec.name}' (${spec.type}) but received ${describe(data ?? value)}`,
      );
    }
    if (dims !== undefined && (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0))) {
      throw inputError(name, spec.name, `expected dims to be an array of non-negative integers for input '${spec.name}' but received ${describe(dims)}`);
    }
    pending.push({ spec, data: data as InputArray, dims: dims as number[] | undefined });
    // A broadcastable input given with one row does not tell the batch size.
    if (model.broadcastInputs.includes(spec.name) && (dims as number[] | undefined)?.[0] === 1) continue;
    // Rows are known from explicit dims, or from an input whose row shape is all static.
    const staticRow = spec.shape.slice(1).every((d) => typeof d === 'number');
    if (rows === undefined && dims !== undefined && dims.length > 0) {
      rows = dims[0];
      rowsFrom = spec.name;
    } else if (rows === undefined && staticRow) {
      const rowSize = (spec.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
      if (rowSize > 0 && data !== undefined) {
        rows = Math.floor((data as InputArray).length / rowSize);
        rowsFrom = spec.name;
      }
    }
  }
  // Only broadcastable inputs, each with one row: a request of one row.
  if (rows === undefined && pending.length > 0 && pending.every((p) => model.broadcastInputs.includes(p.spec.name) && p.dims?.[0] === 1)) {
    rows = 1;
    rowsFrom = pending[0]!.spec.name;
  }
  if (rows === undefined) {
    const first = model.inputs[0]?.name ?? 'feeds';
    throw inputError(name, first, `cannot tell the batch size: give { data, dims } for input '${first}'`);
  }
  if (rows < 1) throw inputError(name, rowsFrom, `input '${rowsFrom}' has no rows; a request needs at least one`);
  const inputs: CheckedInput[] = [];
  for (const { spec, data, dims } of pending) {
    // Batch 1 given explicitly for an input the model broadcasts: checked as a one-row tensor.
    const broadcast = rows > 1 && dims?.[0] === 1 && model.broadcastInputs.includes(spec.name);
    const input = checkShape(name, spec, data, dims, broadcast ? 1 : rows, rowsFrom);
    inputs.push(broadcast ? { ...input, broadcast } : input);
  }
  const broadcast = inputs.some((i) => i.broadcast);
  return { rows, inputs, broadcast, signature: inputs.map((i) => `${i.broadcast ? '1:' : ''}${i.rowDims.join('x')}`).join(',') };
}

function checkShape(
  model: string,
  spec: TensorSpec,
  data: InputArray,
  dims: readonly number[] | undefined,
  rows: number,
  rowsFrom: string,
): CheckedInput {
  const declared = `[${spec.shape.join(', ')}]`;
  const rank = spec.shape.length;
  if (rank === 0) throw inputError(model, spec.name, `input '${spec.name}' is a scalar; kindred needs a batch axis`);
  let rowDims: number[];
  if (dims !== undefined) {
    if (dims.length !== rank) {
      throw inputError(model, spec.name, `expected ${rank} dims ${declared} for input '${spec.name}' but received [${dims.join(', ')}]`);
    }
    rowDims = dims.slice(1);
  } else {
    const trailing = spec.shape.slice(1);
    const dynamic = trailing.filter((d) => typeof d !== 'number').length;
    if (dynamic > 1) {
      throw inputError(model, spec.name, `input '${spec.name}' ${declared} has several dynamic axes: give { data, dims }`);
    }
    const known = (trailing.filter((d) => typeof d === 'number') as number[]).reduce((a, b) => a * b, 1);
    const perRow = data.length / rows;
    const free = dynamic === 0 ? known : perRow / known;
    rowDims = trailing.map((d) => (typeof d === 'number' ? d : free));
    if (!Number.isInteger(perRow) || !Number.isInteger(free)) {
      throw inputError(
        model,
        spec.name,
        `input '${spec.name}' has ${data.length} values, which is not ${rows} rows (from '${rowsFrom}') of shape ${declared}`,
      );
    }
  }
  const fullDims = [dims?.[0] ?? rows, ...rowDims];
  for (let axis = 0; axis < rank; axis++) {
    const want = spec.shape[axis];
    if (typeof want === 'number' && want !== fullDims[axis]) {
      throw inputError(
        model,
        spec.name,
        `expected shape ${declared} for input '${spec.name}' but received [${fullDims.join(', ')}] (axis ${axis} must be ${want})`,
      );
    }
  }
  if (fullDims[0] !== rows) {
    throw inputError(model, spec.name, `input '${spec.name}' has ${fullDims[0]} rows but '${rowsFrom}' has ${rows}`);
  }
  const rowSize = rowDims.reduce((a, b) => a * b, 1);
  if (data.length !== rows * rowSize) {
    throw inputError(
      model,
      spec.name,
      `expected ${rows * rowSize} values for input '${spec.name}' of shape [${fullDims.join(', ')}] but received ${data.length}`,
    );
  }
  return { name: spec.name, type: spec.type, data, broadcast: false, rowDims, rowSize };
}

/**
 * The number of floats per row of each output: the product of its static dims after the batch
 * axis, or `undefined` for the one output (the last) whose row size is learnt from the result.
 *
 * @throws Error describing why kindred cannot use the outputs (→ `ERR_KINDRED_MODEL_LOAD`)
 */
export function outputRowSizes(outputs: readonly TensorSpec[]): Array<number | undefined> {
  if (outputs.length === 0) throw new Error('the model declares no outputs');
  return outputs.map((spec, i) => {
    if (spec.type !== 'float32') throw new Error(`output '${spec.name}' is ${spec.type}; kindred models must output float32`);
    if (spec.shape.length === 0) throw new Error(`output '${spec.name}' is a scalar; kindred needs a batch axis`);
    const trailing = spec.shape.slice(1);
    if (trailing.every((d) => typeof d === 'number')) return (trailing as number[]).reduce((a, b) => a * b, 1);
    if (i === outputs.length - 1) return undefined;
    throw new Error(`output '${spec.name}' [${spec.shape.join(', ')}] has a dynamic axis after the batch; only the last output may`);
  });
}
