import { describe, expect, it } from 'vitest';

import { AbortError, BackendUnavailableError, InvalidArgumentError } from '../../src/core/errors.js';
import { pairScores } from '../../src/match/pair-scores.js';
import { listBackends } from '../../src/native/backends.js';
import { native } from '../../src/native/binding.js';
import { f32Tolerance, naivePairScores } from '../reference/pair-scores.js';
import { randomMatrix, seededRandom } from '../reference/random.js';

const available = listBackends().filter((b) => b.available).map((b) => b.name);
const unavailable = listBackends().filter((b) => !b.available);

// Shapes: empty, 1×1, dims that are not multiples of 8/16, tile edges, large magnitudes.
const SHAPES: Array<[rows: number, cols: number, dim: number, scale: number]> = [
  [0, 4, 8, 1],
  [4, 0, 8, 1],
  [3, 5, 0, 1],
  [1, 1, 1, 1],
  [1, 1, 7, 1],
  [5, 17, 13, 1],
  [65, 33, 63, 1],
  [130, 129, 64, 1],
  [17, 40, 300, 1e12],
];

describe.each(available)('pairScores on %s', (backend) => {
  it.each(SHAPES)('matches the naive reference at %i x %i x %i (scale %d)', async (rows, cols, dim, scale) => {
    const seed = rows * 7919 + cols * 104729 + dim;
    const random = seededRandom(seed);
    const a = randomMatrix(random, rows, dim, scale);
    const b = randomMatrix(random, cols, dim, scale);
    const got = await pairScores(a, b, { rows, cols, dim, backend });
    expect(got).toHaveLength(rows * cols);
    const { scores, magnitude } = naivePairScores(a, b, rows, cols, dim);
    for (let i = 0; i < got.length; i++) {
      const err = Math.abs(got[i]! - scores[i]!);
      if (!(err <= f32Tolerance(dim, magnitude[i]!))) {
        expect.fail(`seed ${seed} ${backend} index ${i}: got ${got[i]}, want ${scores[i]}`);
      }
    }
  });

  it('writes into and returns a reused out buffer', async () => {
    const random = seededRandom(99);
    const a = randomMatrix(random, 20, 16);
    const b = randomMatrix(random, 30, 16);
    const out = new Float32Array(600).fill(Number.NaN);
    const first = await pairScores(a, b, { rows: 20, cols: 30, dim: 16, backend, out });
    expect(first).toBe(out);
    expect(out.every(Number.isFinite)).toBe(true);
    const fresh = await pairScores(a, b, { rows: 20, cols: 30, dim: 16, backend });
    expect(Array.from(out)).toEqual(Array.from(fresh));
  });
});

describe('pairScores rejects bad input with an error naming the argument', () => {
  const a = new Float32Array(6);
  const b = new Float32Array(9);
  const ok = { rows: 2, cols: 3, dim: 3 };
  const cases: Array<[label: string, call: () => Promise<unknown>, argument: string]> = [
    ['a not a Float32Array', () => pairScores([1, 2] as unknown as Float32Array, b, ok), 'a'],
    ['b a Float64Array', () => pairScores(a, new Float64Array(9) as unknown as Float32Array, ok), 'b'],
    ['missing options', () => pairScores(a, b, undefined as never), 'options'],
    ['negative rows', () => pairScores(a, b, { ...ok, rows: -1 }), 'options.rows'],
    ['fractional cols', () => pairScores(a, b, { ...ok, cols: 1.5 }), 'options.cols'],
    ['dim as string', () => pairScores(a, b, { ...ok, dim: '3' as unknown as number }), 'options.dim'],
    ['a length ≠ rows x dim', () => pairScores(new Float32Array(5), b, ok), 'a'],
    ['b length ≠ cols x dim', () => pairScores(a, new Float32Array(10), ok), 'b'],
    ['NaN in a', () => pairScores(Float32Array.of(0, 0, 0, 0, Number.NaN, 0), b, ok), 'a'],
    ['Infinity in b', () => pairScores(a, Float32Array.of(0, 0, 0, 0, 0, 0, 0, Infinity, 0), ok), 'b'],
    ['out of the wrong length', () => pairScores(a, b, { ...ok, out: new Float32Array(5) }), 'options.out'],
    ['out overlapping a', () => pairScores(a, b, { ...ok, out: new Float32Array(a.buffer) }), 'options.out'],
    ['unknown backend', () => pairScores(a, b, { ...ok, backend: 'tpu' as never }), 'options.backend'],
    ['signal not an AbortSignal', () => pairScores(a, b, { ...ok, signal: {} as AbortSignal }), 'options.signal'],
  ];
  it.each(cases)('%s', async (_label, call, argument) => {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
    expect((error as InvalidArgumentError).message).toContain(`for ${argument} but received`);
  });

  it.each(available)('a NaN or Infinity is located by row and column (%s)', async (backend) => {
    const bad = Float32Array.of(0, 0, 0, 0, Number.NaN, 0);
    const error = await pairScores(bad, b, { ...ok, backend }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe('Expected finite numbers for a but received NaN at row 1, column 1 (index 4)');
    expect(error.stack).toContain('pair-scores.test.ts');
    const inf = new Float32Array(9);
    inf[8] = -Infinity;
    const error2 = await pairScores(a, inf, { ...ok, backend }).catch((e) => e);
    expect(error2.argument).toBe('b');
    expect(error2.received).toBe('-Infinity at row 2, column 2 (index 8)');
  });

  it('out overlapping a shows the overlap, not the length, as the problem', async () => {
    const shared = new Float32Array(12);
    const error = await pairScores(shared.subarray(0, 6), b, { ...ok, out: shared.subarray(4, 10) }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.expected).toContain('does not overlap');
  });

  it.skipIf(unavailable.length === 0)('a named unavailable backend rejects with BackendUnavailableError', async () => {
    const error = await pairScores(a, b, { ...ok, backend: unavailable[0]!.name }).catch((e) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
  });
});

describe('pairScores honours AbortSignal', () => {
  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('too late');
    controller.abort(reason);
    const error = await pairScores(new Float32Array(4), new Float32Array(4), {
      rows: 2,
      cols: 2,
      dim: 2,
      signal: controller.signal,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(error.name).toBe('AbortError');
    expect(error.cause).toBe(reason);
  });

  it.each(available)('stops a running call on %s', async (backend) => {
    const n = 3000;
    const dim = 512;
    const random = seededRandom(5);
    const a = randomMatrix(random, n, dim);
    const out = new Float32Array(n * n);
    // Baseline: the same call uninterrupted, to know how long "stopping early" must beat.
    const t0 = performance.now();
    await pairScores(a, a.slice(), { rows: n, cols: n, dim, backend, out });
    const full = performance.now() - t0;
    const controller = new AbortController();
    const started = performance.now();
    const pending = pairScores(a, a.slice(), { rows: n, cols: n, dim, backend, out, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 1);
    const error = await pending.catch((e) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(AbortError);
    expect(error.cause).toEqual(new Error('stop'));
    // Not a timing assertion on speed: only that abort did not wait for the whole product.
    if (full > 50) expect(elapsed).toBeLessThan(full);
  });
});

describe('pairScores runs off the main thread', () => {
  it('keeps the event loop ticking during a large call', async () => {
    const n = 3000;
    const dim = 256;
    const random = seededRandom(17);
    const a = randomMatrix(random, n, dim);
    const b = randomMatrix(random, n, dim);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    await pairScores(a, b, { rows: n, cols: n, dim, backend: 'portable' });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A blocked loop would tick at most once; a free one ticks many times during the call.
    expect(elapsed).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThan(5);
  });
});

describe('the raw binding refuses misuse without crashing', () => {
  const addon = native();
  const a = new Float32Array(6);
  const out = new Float32Array(4);
  it.each([
    ['too few arguments', () => (addon.pairScores as unknown as () => void)(), TypeError],
    ['a as Float64Array', () => addon.pairScores(new Float64Array(6) as never, a, out, 2, 2, 3, 'portable'), TypeError],
    ['length mismatch', () => addon.pairScores(a, a, out, 2, 2, 4, 'portable'), RangeError],
    ['negative rows', () => addon.pairScores(a, a, out, -2, 2, 3, 'portable'), RangeError],
    ['huge dims overflow', () => addon.pairScores(a, a, out, 2 ** 52, 2 ** 52, 2 ** 52, 'portable'), RangeError],
    ['backend not a string', () => addon.pairScores(a, a, out, 2, 2, 3, 7 as never), TypeError],
    ['out aliasing a', () => addon.pairScores(a, a, new Float32Array(a.buffer, 0, 4), 2, 2, 3, 'portable'), RangeError],
    ['cancel of the wrong type', () => addon.pairScores(a, a, out, 2, 2, 3, 'portable', [0] as never), TypeError],
  ])('%s', (_label, call, cls) => {
    expect(call).toThrow(cls);
    try {
      call();
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ERR_KINDRED_INVALID_ARGUMENT');
    }
  });

  it('an unknown backend name rejects with a coded error', async () => {
    const error = await addon.pairScores(a, a, out, 2, 2, 3, 'tpu').catch((e) => e);
    expect(error.code).toBe('ERR_KINDRED_INVALID_ARGUMENT');
  });
});
