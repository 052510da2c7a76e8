/**
 * Argument checks for the public API, in sharp's shape: each failing check throws an
 * {@link InvalidArgumentError} "Expected <rule> for <argument> but received <value> (<type>)".
 * Internal code trusts what these have checked.
 */
import { InvalidArgumentError } from './errors.js';

/** A short, safe description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return `${value} (number)`;
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (ArrayBuffer.isView(value)) {
    const length = 'length' in value ? (value as { length: number }).length : value.byteLength;
    return `${value.constructor.name} of length ${length}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `${Object.prototype.toString.call(value).slice(8, -1)} (${typeof value})`;
}

/** Builds the error for `argument` that should have been `expected`. */
export function invalidArgument(argument: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(argument, expected, describe(value));
}

/** `value` as an integer in [min, max], or an InvalidArgumentError naming `argument`. */
export function integerInRange(value: unknown, argument: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(argument, `an integer between ${min} and ${max}`, value);
  }
  return value;
}

/** `value` as a Float32Array, or an InvalidArgumentError naming `argument`. */
export function float32Array(value: unknown, argument: string): Float32Array {
  if (!(value instanceof Float32Array)) throw invalidArgument(argument, 'a Float32Array', value);
  return value;
}

/** Checks `array.length === rows * dim`, naming both factors in the message. */
export function matrixLength(array: Float32Array, argument: string, rows: number, dim: number, shape: string): void {
  if (array.length !== rows * dim) {
    throw invalidArgument(argument, `a Float32Array of length ${rows * dim} (${shape} = ${rows} x ${dim})`, array);
  }
}

/** `value` as an AbortSignal or undefined. */
export function optionalSignal(value: unknown, argument: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArgument(argument, 'an AbortSignal', value);
  return value;
}

/** `value` as a plain options object (undefined → {}). */
export function optionsObject<T extends object>(value: unknown, argument: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(argument, 'an options object', value);
  }
  return value as Partial<T>;
}

/** True when two typed arrays share bytes. */
export function sharesMemory(x: ArrayBufferView, y: ArrayBufferView): boolean {
  if (x.buffer !== y.buffer || x.byteLength === 0 || y.byteLength === 0) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

/**
 * Checks a caller-supplied output buffer: a Float32Array of rows×cols that overlaps none of the
 * inputs (which are read while it is written). `inputs` names them for the message.
 */
export function outputBuffer(
  value: unknown,
  argument: string,
  rows: number,
  cols: number,
  shape: string,
  inputs: Readonly<Record<string, ArrayBufferView>>,
): Float32Array {
  const out = float32Array(value, argument);
  matrixLength(out, argument, rows, cols, shape);
  const names = Object.keys(inputs);
  if (names.some((name) => sharesMemory(out, inputs[name]!))) {
    throw invalidArgument(argument, `a buffer that does not overlap ${names.join(' or ')}`, out);
  }
  return out;
}
