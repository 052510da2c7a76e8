/** Checks for per-row numeric series (timestamps, dwell times) given as Float64Array or number[]. */
import { invalidArgument } from '../core/validate.js';

/** A per-row series of finite numbers with exactly `n` entries, as a Float64Array (copied if an array). */
export function finiteSeries(value: unknown, argument: string, n: number): Float64Array {
  let series: Float64Array;
  if (value instanceof Float64Array) {
    series = value;
  } else if (Array.isArray(value)) {
    series = new Float64Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v !== 'number') throw invalidArgument(`${argument}[${i}]`, 'a number', v);
      series[i] = v;
    }
  } else {
    throw invalidArgument(argument, 'a Float64Array or an array of numbers', value);
  }
  if (series.length !== n) throw invalidArgument(argument, `${n} entries (one per row)`, value);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(series[i])) throw invalidArgument(`${argument}[${i}]`, 'a finite number', series[i]);
  }
  return series;
}

/** A finite number >= 0 (or `fallback` when undefined). */
export function nonNegative(value: unknown, argument: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(argument, 'a finite number >= 0', value);
  }
  return value;
}
