import { afterEach, describe, expect, it } from 'vitest';

import { BackendUnavailableError, InvalidArgumentError } from '../../src/core/errors.js';
import { defaultBackend, listBackends, resolveBackend, useBackend } from '../../src/native/backends.js';

describe('backends', () => {
  afterEach(() => {
    useBackend('auto');
  });

  it('lists cuda, blas and portable in priority order, with a reason for each missing one', () => {
    const all = listBackends();
    expect(all.map((b) => b.name)).toEqual(['cuda', 'blas', 'portable']);
    expect(all[0]!.kind).toBe('gpu');
    for (const b of all) {
      if (!b.available) expect(b.reason, `${b.name} must say why`).toMatch(/\S/);
      else expect(b.reason).toBeUndefined();
    }
    expect(all.find((b) => b.name === 'portable')!.available).toBe(true);
  });

  it("'auto' resolves to the first available backend", () => {
    const first = listBackends().find((b) => b.available)!;
    expect(resolveBackend('auto')).toBe(first.name);
  });

  it('rejects unknown names with InvalidArgumentError', () => {
    expect(() => resolveBackend('tpu', 'options.backend')).toThrow(InvalidArgumentError);
    expect(() => resolveBackend('tpu', 'options.backend')).toThrow(/options\.backend/);
  });

  it('a named unavailable backend throws BackendUnavailableError listing every reason', () => {
    const missing = listBackends().filter((b) => !b.available);
    if (missing.length === 0) return; // every backend runs here: nothing to check
    try {
      resolveBackend(missing[0]!.name);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BackendUnavailableError);
      const e = error as BackendUnavailableError;
      expect(e.reasons.map((r) => r.name)).toEqual(missing.map((b) => b.name));
    }
    expect(() => useBackend(missing[0]!.name)).toThrow(BackendUnavailableError);
    expect(defaultBackend()).toBe('auto');
  });

  it('useBackend changes the default', () => {
    expect(useBackend('portable')).toBe('portable');
    expect(defaultBackend()).toBe('portable');
    expect(resolveBackend()).toBe('portable');
  });
});
