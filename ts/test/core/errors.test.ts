import { describe, expect, it } from 'vitest';

import {
  AbortError,
  BackendUnavailableError,
  fromNative,
  InvalidArgumentError,
  KindredError,
  NativeError,
} from '../../src/core/errors.js';

describe('error classes', () => {
  it('carry a stable code and their own name', () => {
    const e = new InvalidArgumentError('options.rows', 'an integer', '-1 (number)');
    expect(e).toBeInstanceOf(KindredError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ERR_KINDRED_INVALID_ARGUMENT');
    expect(e.name).toBe('InvalidArgumentError');
    expect(e.argument).toBe('options.rows');
    expect(e.message).toBe('Expected an integer for options.rows but received -1 (number)');
  });

  it('AbortError is named AbortError and keeps the reason as cause', () => {
    const reason = new Error('user went away');
    const e = new AbortError(undefined, { cause: reason });
    expect(e.name).toBe('AbortError');
    expect(e.code).toBe('ERR_KINDRED_ABORTED');
    expect(e.cause).toBe(reason);
  });

  it('BackendUnavailableError lists every reason', () => {
    const e = new BackendUnavailableError('cuda', [
      { name: 'cuda', reason: '0 devices' },
      { name: 'blas', reason: 'no CBLAS' },
    ]);
    expect(e.code).toBe('ERR_KINDRED_BACKEND_UNAVAILABLE');
    expect(e.message).toContain('[cuda] 0 devices');
    expect(e.message).toContain('[blas] no CBLAS');
    expect(e.reasons).toHaveLength(2);
  });
});

describe('fromNative', () => {
  const callSite = new Error('here');

  it.each([
    ['ERR_KINDRED_ABORTED', AbortError],
    ['ERR_KINDRED_OUT_OF_MEMORY', NativeError],
    ['ERR_KINDRED_DEVICE', NativeError],
    ['ERR_KINDRED_INVALID_ARGUMENT', InvalidArgumentError],
    ['something else', NativeError],
  ] as const)('maps %s', (code, cls) => {
    const mapped = fromNative(Object.assign(new Error('native says no'), { code }), callSite);
    expect(mapped).toBeInstanceOf(cls);
    expect(mapped.message).toContain('native says no');
  });

  it('keeps the device code and puts back the call-site stack', () => {
    const mapped = fromNative(Object.assign(new Error('cublasSgemm failed'), { code: 'ERR_KINDRED_DEVICE' }), callSite);
    expect(mapped.code).toBe('ERR_KINDRED_DEVICE');
    expect(mapped.stack).toContain('errors.test.ts');
  });

  it('passes kindred errors through unchanged', () => {
    const original = new AbortError();
    expect(fromNative(original, callSite)).toBe(original);
  });
});
