import { describe, expect, it } from 'vitest';

import { AbortError, InvalidArgumentError } from '../../src/core/errors.js';
import { matchEmbeddings } from '../../src/match/match-embeddings.js';
import { matchWeights } from '../../src/match/match-weights.js';
import { listBackends } from '../../src/native/backends.js';
import { randomMatrix, seededRandom } from '../reference/random.js';

const available = listBackends().filter((b) => b.available).map((b) => b.name);

/** The naive pipeline: scores, transform, reciprocal weights and filters, all in TS. */
function naiveWeights(
  user: Float32Array,
  peer: Float32Array,
  n: number,
  dim: number,
  w: number,
  b: number,
  allowed: (i: number, j: number) => boolean,
) {
  const score = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += user[i * dim + k]! * peer[j * dim + k]!;
    return Math.exp(w * s + b);
  };
  const weights = new Float32Array(n * n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (allowed(i, j)) weights[i * n + j] = weights[j * n + i] = score(i, j) + score(j, i);
    }
  }
  return weights;
}

function seededPool(seed: number, n: number, dim: number) {
  const random = seededRandom(seed);
  const user = randomMatrix(random, n, dim, 0.4);
  const peer = randomMatrix(random, n, dim, 0.4);
  const gender = Uint8Array.from({ length: n }, () => (random() < 0.5 ? 0 : 1));
  const wants = Uint32Array.from({ length: n }, () => [1, 2, 3][Math.floor(random() * 3)]!);
  const languages = Uint32Array.from({ length: n }, () => 1 + Math.floor(random() * 7));
  const blocked = Int32Array.from({ length: 20 }, () => Math.floor(random() * n));
  return { user, peer, gender, wants, languages, blocked };
}

describe.each(available)('matchEmbeddings on %s', (backend) => {
  it('builds the same weights as the naive pipeline and matches only allowed pairs', async () => {
    const n = 60;
    const dim = 16;
    const pool = seededPool(7, n, dim);
    const blockedSet = new Set<string>();
    for (let p = 0; p < pool.blocked.length; p += 2) {
      blockedSet.add(`${pool.blocked[p]},${pool.blocked[p + 1]}`).add(`${pool.blocked[p + 1]},${pool.blocked[p]}`);
    }
    const allowed = (i: number, j: number) =>
      ((pool.wants[i]! >> pool.gender[j]!) & 1) === 1 &&
      ((pool.wants[j]! >> pool.gender[i]!) & 1) === 1 &&
      (pool.languages[i]! & pool.languages[j]!) !== 0 &&
      !blockedSet.has(`${i},${j}`);
    const buffer = new Float32Array(n * n);
    const result = await matchEmbeddings({
      user: pool.user,
      peer: pool.peer,
      n,
      dim,
      backend,
      transform: { kind: 'exp', w: 0.9, b: 0.1 },
      filters: { mutual: [{ attr: pool.gender, accepts: pool.wants }], overlap: [pool.languages], blocked: pool.blocked },
      buffer,
    });
    const expected = naiveWeights(pool.user, pool.peer, n, dim, 0.9, 0.1, allowed);
    // The users were not grouped by gender and wants: the call reordered them, and says how.
    const order = result.bufferOrder!;
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const key = (i: number) => pool.gender[i]! * 8 + pool.wants[i]!;
    for (let k = 1; k < n; k++) {
      expect(key(order[k]!) > key(order[k - 1]!) || (key(order[k]!) === key(order[k - 1]!) && order[k]! > order[k - 1]!)).toBe(true);
    }
    const row = new Int32Array(n);
    order.forEach((i, k) => (row[i] = k));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const want = expected[i * n + j]!;
        const got = buffer[row[i]! * n + row[j]!]!;
        if (want === Number.NEGATIVE_INFINITY) expect(got, `(${i}, ${j}) must be forbidden`).toBe(want);
        else expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * want);
      }
    }
    for (let p = 0; p < result.pairs.length; p += 2) {
      expect(allowed(result.pairs[p]!, result.pairs[p + 1]!)).toBe(true);
    }
    // Each pair's two directions, against the naive transform of the dot product in double.
    const directed = (i: number, j: number) => {
      let s = 0;
      for (let k = 0; k < dim; k++) s += pool.user[i * dim + k]! * pool.peer[j * dim + k]!;
      return Math.exp(Math.fround(0.9) * s + Math.fround(0.1));
    };
    expect(result.predicted!.length).toBe(result.pairs.length);
    for (let p = 0; p < result.pairs.length; p += 2) {
      const [a, b] = [result.pairs[p]!, result.pairs[p + 1]!];
      expect(Math.abs(result.predicted![p]! - directed(a, b))).toBeLessThanOrEqual(1e-12 * directed(a, b));
      expect(Math.abs(result.predicted![p + 1]! - directed(b, a))).toBeLessThanOrEqual(1e-12 * directed(b, a));
    }
    expect(result.backend).toBe(backend);
    expect(result.timings.scores).toBeGreaterThanOrEqual(0);
    // Matching the weights it built (in its order) gives the same answer (deterministic).
    const again = await matchWeights(buffer.slice(), n);
    const inPool: number[][] = [];
    for (let p = 0; p < again.pairs.length; p += 2) {
      const a = order[again.pairs[p]!]!;
      const b = order[again.pairs[p + 1]!]!;
      inPool.push([Math.min(a, b), Math.max(a, b)]);
    }
    inPool.sort((x, y) => x[0]! - y[0]!);
    expect(inPool.flat()).toEqual(Array.from(result.pairs));
    expect(again.totalWeight).toBe(result.totalWeight);
  });

  it('keeps pool order (no bufferOrder) when the users are already grouped by their mutual filters', async () => {
    const n = 80;
    const dim = 8;
    const pool = seededPool(9, n, dim);
    const byKey = Array.from({ length: n }, (_, i) => i).sort((a, b) => pool.gender[a]! * 8 + pool.wants[a]! - (pool.gender[b]! * 8 + pool.wants[b]!) || a - b);
    const pick = <T extends Float32Array | Uint8Array | Uint32Array>(values: T, width: number): T => {
      const out = new (values.constructor as new (length: number) => T)(values.length);
      byKey.forEach((i, k) => out.set(values.subarray(i * width, (i + 1) * width), k * width));
      return out;
    };
    const [user, peer, gender, wants] = [pick(pool.user, dim), pick(pool.peer, dim), pick(pool.gender, 1), pick(pool.wants, 1)];
    const buffer = new Float32Array(n * n);
    const result = await matchEmbeddings({ user, peer, n, dim, backend, filters: { mutual: [{ attr: gender, accepts: wants }] }, buffer });
    expect(result.bufferOrder).toBeUndefined();
    // The buffer is in pool order: a forbidden pair (same gender, one wants only the other) is −∞ there.
    let checked = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const ok = i !== j && ((wants[i]! >> gender[j]!) & 1) === 1 && ((wants[j]! >> gender[i]!) & 1) === 1;
        expect(buffer[i * n + j] === Number.NEGATIVE_INFINITY).toBe(!ok);
        checked++;
      }
    }
    expect(checked).toBe(n * n);
  });

  it('names an overflowing pair by its pool indices, whatever order it computed in', async () => {
    const n = 40;
    const dim = 4;
    const pool = seededPool(5, n, dim);
    // Users 3 and 31 want both genders and speak every language; only their pair overflows.
    for (const i of [3, 31]) {
      pool.wants[i] = 3;
      pool.languages[i] = 127;
      pool.user.fill(0, i * dim, (i + 1) * dim);
      pool.peer.fill(0, i * dim, (i + 1) * dim);
    }
    pool.user.fill(30, 3 * dim, 4 * dim);
    pool.peer.fill(30, 31 * dim, 32 * dim);
    const call = matchEmbeddings({
      user: pool.user,
      peer: pool.peer,
      n,
      dim,
      backend,
      filters: { mutual: [{ attr: pool.gender, accepts: pool.wants }], overlap: [pool.languages] },
    });
    await expect(call).rejects.toThrow(/at pair \((3, 31|31, 3)\)/);
  });
});

describe('matchEmbeddings runs off the main thread and can be cancelled', () => {
  const n = 3000;
  const dim = 32;
  const pool = seededPool(11, n, dim);
  const options = {
    user: pool.user,
    peer: pool.peer,
    n,
    dim,
    filters: { mutual: [{ attr: pool.gender, accepts: pool.wants }] },
  };

  it('keeps the event loop ticking, then returns a valid matching', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    const result = await matchEmbeddings(options);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(elapsed).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThan(5);
    expect(result.pairs.length / 2 + result.unmatched.length / 2).toBe(n / 2);
    expect(result.totalWeight).toBeLessThanOrEqual(result.upperBound);
  });

  it('rejects with AbortError when the signal fires mid-call', async () => {
    const controller = new AbortController();
    const pending = matchEmbeddings({ ...options, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('pool closed')), 5);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toEqual(new Error('pool closed'));
  });
});

describe('matchEmbeddings rejects bad input naming the argument', () => {
  const n = 4;
  const dim = 2;
  const ok = { user: new Float32Array(n * dim), peer: new Float32Array(n * dim), n, dim };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['user of the wrong length', { user: new Float32Array(3) }, 'options.user'],
    ['NaN in peer', { peer: Float32Array.of(0, 0, 0, Number.NaN, 0, 0, 0, 0) }, 'options.peer'],
    ['attr ≥ 32', { filters: { mutual: [{ attr: Uint8Array.of(0, 32, 0, 0), accepts: new Uint32Array(4) }] } }, 'options.filters.mutual[0].attr'],
    ['accepts of the wrong kind', { filters: { mutual: [{ attr: new Uint8Array(4), accepts: new Int32Array(4) }] } }, 'options.filters.mutual[0].accepts'],
    ['overlap of the wrong length', { filters: { overlap: [new Uint32Array(3)] } }, 'options.filters.overlap[0]'],
    ['blocked id out of range', { filters: { blocked: Int32Array.of(0, 4) } }, 'options.filters.blocked'],
    ['blocked of odd length', { filters: { blocked: Int32Array.of(0, 1, 2) } }, 'options.filters.blocked'],
    ['transform kind', { transform: { kind: 'log' } }, 'options.transform.kind'],
    ['transform w NaN', { transform: { kind: 'exp', w: Number.NaN, b: 0 } }, 'options.transform.w'],
    ['transform that overflows', { user: new Float32Array(n * dim).fill(10), peer: new Float32Array(n * dim).fill(10), transform: { kind: 'exp', w: 5, b: 0 } }, 'options.transform'],
    ['buffer of the wrong length', { buffer: new Float32Array(5) }, 'options.buffer'],
    ['candidates out of range', { candidates: 1000 }, 'options.candidates'],
  ];
  it.each(cases)('%s', async (_label, patch, argument) => {
    const error = await matchEmbeddings({ ...ok, ...patch } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});
