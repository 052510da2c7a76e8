/**
 * pairScores: every row of `a` against every row of `b` by dot product, as one GEMM on the chosen
 * backend, off the main thread.
 */
import { AbortError, NativeError } from '../core/errors.js';
import {
  float32Array,
  integerInRange,
  invalidArgument,
  matrixLength,
  optionalSignal,
  optionsObject,
  outputBuffer,
} from '../core/validate.js';
import { type BackendChoice, resolveBackend } from '../native/backends.js';
import { native } from '../native/binding.js';
import { runAbortable } from './abortable.js';

/** Options of {@link pairScores}. */
export interface PairScoresOptions {
  /** Rows of `a` (and of the result), 0 ≤ rows < 2^31. */
  rows: number;
  /** Rows of `b` (columns of the result), 0 ≤ cols < 2^31. */
  cols: number;
  /** Length of every vector, 0 ≤ dim < 2^31. */
  dim: number;
  /** Backend to run on; default: the one set with `useBackend()` (initially `'auto'`). */
  backend?: BackendChoice;
  /**
   * A rows×cols Float32Array to write into and return, instead of a new one. Reusing a buffer
   * across calls saves first-touching a large output, which can cost more than the arithmetic.
   * It must not share memory with `a` or `b`.
   */
  out?: Float32Array;
  /** Cancels the call; it then rejects with an `AbortError` whose `cause` is the signal's reason. */
  signal?: AbortSignal;
}

const MAX_DIMENSION = 2 ** 31 - 1;
// The largest Float32Array this Node can allocate.
const MAX_ELEMENTS = Math.floor(Number.MAX_SAFE_INTEGER / 4);

/**
 * Scores every row of `a` against every row of `b`: `result[i * cols + j] = Σ_k a[i*dim+k] · b[j*dim+k]`
 * (one GEMM, A·Bᵀ). Inputs are read in place, not copied: do not modify them until the Promise
 * settles. NaN or ±Infinity in `a` or `b` rejects with an InvalidArgumentError naming the row and
 * column (checked on the worker thread, before the GEMM).
 *
 * @param a rows×dim, row-major
 * @param b cols×dim, row-major
 * @param options shapes, backend, output buffer and signal
 * @returns the rows×cols scores, row-major (`options.out` when given)
 * @throws {InvalidArgumentError} (as a rejection) for a wrong type, length, shape or non-finite value
 * @throws {BackendUnavailableError} when `options.backend` names a backend that cannot run here
 * @throws {AbortError} when `options.signal` aborts
 * @throws {NativeError} when the backend fails (out of memory, GPU error)
 * @example
 * const users = new Float32Array(n * 64), peers = new Float32Array(n * 64);
 * const scores = await pairScores(users, peers, { rows: n, cols: n, dim: 64 });
 * // reuse the output on the next call:
 * await pairScores(users, peers, { rows: n, cols: n, dim: 64, out: scores });
 */
export async function pairScores(a: Float32Array, b: Float32Array, options: PairScoresOptions): Promise<Float32Array> {
  const callSite = new Error();
  if (options === undefined) throw invalidArgument('options', 'an options object with rows, cols and dim', options);
  const opts = optionsObject<PairScoresOptions>(options, 'options');
  float32Array(a, 'a');
  float32Array(b, 'b');
  const rows = integerInRange(opts.rows, 'options.rows', 0, MAX_DIMENSION);
  const cols = integerInRange(opts.cols, 'options.cols', 0, MAX_DIMENSION);
  const dim = integerInRange(opts.dim, 'options.dim', 0, MAX_DIMENSION);
  matrixLength(a, 'a', rows, dim, 'rows x dim');
  matrixLength(b, 'b', cols, dim, 'cols x dim');
  if (rows * cols > MAX_ELEMENTS) {
    throw invalidArgument('options.rows x options.cols', `at most ${MAX_ELEMENTS} scores`, rows * cols);
  }
  const signal = optionalSignal(opts.signal, 'options.signal');
  if (opts.out !== undefined) outputBuffer(opts.out, 'options.out', rows, cols, 'rows x cols', { a, b });
  const backend = resolveBackend(opts.backend, 'options.backend');
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  // Allocated only after every check has passed.
  const out = opts.out ?? allocateScores(rows, cols);
  await runAbortable((cancel) => native().pairScores(a, b, out, rows, cols, dim, backend, cancel), callSite, signal);
  return out;
}

/** A fresh rows×cols Float32Array, or a NativeError when this Node cannot allocate one. */
export function allocateScores(rows: number, cols: number): Float32Array {
  try {
    return new Float32Array(rows * cols);
  } catch (error) {
    throw new NativeError('ERR_KINDRED_OUT_OF_MEMORY', `Cannot allocate ${rows} x ${cols} scores: ${String(error)}`, {
      cause: error,
    });
  }
}
