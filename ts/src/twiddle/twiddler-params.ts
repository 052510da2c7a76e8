/**
 * Parameter checks shared by the built-in twiddler factories. Each names the parameter by its full
 * path (e.g. `chain[1].params.minGap`) in the InvalidArgumentError it throws.
 */
import { invalidArgument } from '../core/validate.js';

/** `params` as a plain object (the factory reads its fields). */
export function paramsObject(params: unknown, argument: string): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalidArgument(argument, 'a parameters object', params);
  }
  return params as Record<string, unknown>;
}

/** A finite number in [min, max]. */
export function numberInRange(value: unknown, argument: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidArgument(argument, `a number between ${min} and ${max}`, value);
  }
  return value;
}

/** A finite number > 0. */
export function positiveNumber(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(argument, 'a finite number > 0', value);
  }
  return value;
}

/** `key − |key| × loss`: moves a key down by `loss` (0..1) of its magnitude, whatever its sign. */
export function demoteKey(key: number, loss: number): number {
  return key - Math.abs(key) * loss;
}
