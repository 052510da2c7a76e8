/** Test helper: expects a synchronous call to throw an InvalidArgumentError naming `argument`. */
import { expect } from 'vitest';

import { InvalidArgumentError } from '../src/core/errors.js';

export function expectInvalid(fn: () => unknown, argument: string): InvalidArgumentError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected an InvalidArgumentError for ${argument}`).toBeInstanceOf(InvalidArgumentError);
  const error = caught as InvalidArgumentError;
  expect(error.argument).toBe(argument);
  expect(error.code).toBe('ERR_KINDRED_INVALID_ARGUMENT');
  return error;
}
