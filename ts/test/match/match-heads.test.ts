import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../src/core/errors.js';
import { matchEmbeddings } from '../../src/match/match-embeddings.js';
import { listBackends } from '../../src/native/backends.js';
import { randomMatrix, seededRandom } from '../reference/random.js';

const available = listBackends().filter((b) => b.available).map((b) => b.name);

interface NaiveHead {
  user: Float32Array;
  peer: Float32Array;
  dim: number;
  transform: { kind: 'exp'; w: number; b: number } | { kind: 'identity' };
  weight: number;
}

/** ŷ(i→j) = Σ over heads of weight · transform(user_i · peer_j), in double. */
function naiveDirected(heads: NaiveHead[], i: number, j: number): number {
  return heads.reduce((sum, h) => {
    let s = 0;
    for (let k = 0; k < h.dim; k++) s += h.user[i * h.dim + k]! * h.peer[j * h.dim + k]!;
    return sum + h.weight * (h.transform.kind === 'exp' ? Math.exp(h.transform.w * s + h.transform.b) : s);
  }, 0);
}

/** ŷ(i→j) + ŷ(j→i) on the allowed pairs, −∞ off them. */
function naiveWeights(heads: NaiveHead[], n: number, allowed: (i: number, j: number) => boolean) {
  const directed = (i: number, j: number) => naiveDirected(heads, i, j);
  const weights = new Float64Array(n * n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (allowed(i, j)) weights[i * n + j] = weights[j * n + i] = directed(i, j) + directed(j, i);
    }
  }
  return weights;
}

function heads(seed: number, n: number): NaiveHead[] {
  const random = seededRandom(seed);
  return [
    { user: randomMatrix(random, n, 24, 0.3), peer: randomMatrix(random, n, 24, 0.3), dim: 24, transform: { kind: 'exp', w: 1.1, b: 0.1 }, weight: 1 },
    { user: randomMatrix(random, n, 8, 0.3), peer: randomMatrix(random, n, 8, 0.3), dim: 8, transform: { kind: 'exp', w: 0.7, b: -2 }, weight: 20 },
    { user: randomMatrix(random, n, 5, 0.3), peer: randomMatrix(random, n, 5, 0.3), dim: 5, transform: { kind: 'identity' }, weight: 0.5 },
  ];
}

describe.each(available)('matchEmbeddings with several heads on %s', (backend) => {
  it('sums the heads into the weights the naive pipeline builds, and matches only allowed pairs', async () => {
    const n = 70;
    const hs = heads(3, n);
    const random = seededRandom(99);
    const languages = Uint32Array.from({ length: n }, () => 1 + Math.floor(random() * 7));
    const allowed = (i: number, j: number) => (languages[i]! & languages[j]!) !== 0;
    const buffer = new Float32Array(n * n);
    const result = await matchEmbeddings({ n, heads: hs, backend, filters: { overlap: [languages] }, buffer });
    const expected = naiveWeights(hs, n, allowed);
    let worst = 0;
    for (let i = 0; i < n * n; i++) {
      if (expected[i] === Number.NEGATIVE_INFINITY) expect(buffer[i], `pair ${i} must be forbidden`).toBe(Number.NEGATIVE_INFINITY);
      else worst = Math.max(worst, Math.abs(buffer[i]! - expected[i]!) / Math.abs(expected[i]!));
    }
    // Float GEMM and float exp against double: a relative 1e-5 is ~100 float ulps of headroom.
    expect(worst).toBeLessThan(1e-5);
    let total = 0;
    for (let p = 0; p < result.pairs.length; p += 2) {
      const [a, b] = [result.pairs[p]!, result.pairs[p + 1]!];
      expect(allowed(a, b)).toBe(true);
      total += expected[a * n + b]!;
    }
    expect(Math.abs(result.totalWeight - total)).toBeLessThan(1e-4 * total);
    expect(result.upperBound).toBeGreaterThanOrEqual(result.totalWeight);
    // Each pair's two directions, summed over the heads (w and b are floats natively: 1e-6).
    expect(result.predicted!.length).toBe(result.pairs.length);
    for (let p = 0; p < result.pairs.length; p += 2) {
      const [a, b] = [result.pairs[p]!, result.pairs[p + 1]!];
      expect(Math.abs(result.predicted![p]! - naiveDirected(hs, a, b))).toBeLessThan(1e-6 * Math.abs(naiveDirected(hs, a, b)));
      expect(Math.abs(result.predicted![p + 1]! - naiveDirected(hs, b, a))).toBeLessThan(1e-6 * Math.abs(naiveDirected(hs, b, a)));
    }
  });

  it('projects heads natively as a naive projection (vectors · projectionᵀ in double) would', async () => {
    const n = 60;
    const inputDim = 12;
    const random = seededRandom(21);
    const user = randomMatrix(random, n, inputDim, 0.4);
    const peer = randomMatrix(random, n, inputDim, 0.4);
    const plain = { user, peer, dim: inputDim, transform: { kind: 'exp', w: 1, b: 0 } as const, weight: 1 };
    const userProjection = randomMatrix(random, 5, inputDim, 0.5);
    const peerProjection = randomMatrix(random, 5, inputDim, 0.5);
    // The projected vectors, naively: row i, output t = Σ_k x[i][k] · P[t][k].
    const project = (x: Float32Array, projection: Float32Array) => {
      const out = new Float32Array(n * 5);
      for (let i = 0; i < n; i++) {
        for (let t = 0; t < 5; t++) {
          let s = 0;
          for (let k = 0; k < inputDim; k++) s += x[i * inputDim + k]! * projection[t * inputDim + k]!;
          out[i * 5 + t] = s;
        }
      }
      return out;
    };
    const like = { transform: { kind: 'exp', w: 0.9, b: -1 } as const, weight: 20 };
    const naive: NaiveHead[] = [plain, { user: project(user, userProjection), peer: project(peer, peerProjection), dim: 5, ...like }];
    const buffer = new Float32Array(n * n);
    const result = await matchEmbeddings({
      n,
      heads: [plain, { user, peer, dim: 5, inputDim, userProjection, peerProjection, ...like }],
      backend,
      buffer,
    });
    const expected = naiveWeights(naive, n, () => true);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i !== j) worst = Math.max(worst, Math.abs(buffer[i * n + j]! - expected[i * n + j]!) / expected[i * n + j]!);
      }
    }
    expect(worst).toBeLessThan(1e-5);
    for (let p = 0; p < result.pairs.length; p += 2) {
      const [a, b] = [result.pairs[p]!, result.pairs[p + 1]!];
      expect(Math.abs(result.predicted![p]! - naiveDirected(naive, a, b))).toBeLessThan(1e-5 * naiveDirected(naive, a, b));
    }
  });

  it('with one head of weight 1 gives exactly the single-head call', async () => {
    const n = 50;
    const [h] = heads(5, n);
    const viaHeads = new Float32Array(n * n);
    const direct = new Float32Array(n * n);
    const a = await matchEmbeddings({ n, heads: [h!], backend, buffer: viaHeads });
    const b = await matchEmbeddings({ n, user: h!.user, peer: h!.peer, dim: h!.dim, transform: h!.transform, backend, buffer: direct });
    expect(viaHeads).toEqual(direct);
    expect(Array.from(a.pairs)).toEqual(Array.from(b.pairs));
  });
});

describe('matchEmbeddings with heads rejects bad input naming the argument', () => {
  const n = 4;
  const head = () => ({ user: new Float32Array(n * 2), peer: new Float32Array(n * 2), dim: 2 });
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['heads and user together', { heads: [head()], user: new Float32Array(n * 2) }, 'options.user'],
    ['empty heads', { heads: [] }, 'options.heads'],
    ['a head of the wrong length', { heads: [head(), { ...head(), peer: new Float32Array(3) }] }, 'options.heads[1].peer'],
    ['a zero weight', { heads: [head(), { ...head(), weight: 0 }] }, 'options.heads[1].weight'],
    ['a NaN transform', { heads: [head(), { ...head(), transform: { kind: 'exp', w: Number.NaN, b: 0 } }] }, 'options.heads[1].transform.w'],
    ['NaN in a head (found natively)', { heads: [head(), { ...head(), user: Float32Array.of(0, 0, 0, Number.NaN, 0, 0, 0, 0) }] }, 'options.heads[1].user'],
    ['one projection only', { heads: [{ ...head(), inputDim: 2, userProjection: new Float32Array(4) }] }, 'options.heads[0].peerProjection'],
    ['a projection without inputDim', { heads: [{ ...head(), userProjection: new Float32Array(4), peerProjection: new Float32Array(4) }] }, 'options.heads[0].inputDim'],
    [
      'a projection of the wrong shape',
      { heads: [{ ...head(), inputDim: 2, userProjection: new Float32Array(4), peerProjection: new Float32Array(6) }] },
      'options.heads[0].peerProjection',
    ],
    [
      'vectors of the model width missing',
      { heads: [{ ...head(), dim: 1, inputDim: 3, userProjection: new Float32Array(3), peerProjection: new Float32Array(3) }] },
      'options.heads[0].user',
    ],
    [
      'NaN in a projection (found natively)',
      { heads: [{ ...head(), inputDim: 2, userProjection: new Float32Array(4), peerProjection: Float32Array.of(0, 0, Number.NaN, 0) }] },
      'options.heads[0].peerProjection',
    ],
    [
      'a projection that overflows the vectors (found natively)',
      {
        heads: [
          {
            user: new Float32Array(n * 2).fill(1e30),
            peer: new Float32Array(n * 2).fill(1),
            dim: 2,
            inputDim: 2,
            userProjection: new Float32Array(4).fill(1e30),
            peerProjection: new Float32Array(4).fill(1),
          },
        ],
      },
      'options.heads[0].userProjection',
    ],
    [
      'heads that overflow',
      { heads: [head(), { user: new Float32Array(n * 2).fill(10), peer: new Float32Array(n * 2).fill(10), dim: 2, transform: { kind: 'exp', w: 5, b: 0 } }] },
      'options.heads',
    ],
  ];
  it.each(cases)('%s', async (_label, patch, argument) => {
    const error = await matchEmbeddings({ n, ...patch } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});
