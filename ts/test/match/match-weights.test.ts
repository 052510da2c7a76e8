import { describe, expect, it } from 'vitest';

import { AbortError, InvalidArgumentError } from '../../src/core/errors.js';
import type { MatchResult } from '../../src/match/match-result.js';
import { matchWeights } from '../../src/match/match-weights.js';
import { bruteForceMatching, randomWeights } from '../reference/brute-matching.js';
import { seededRandom } from '../reference/random.js';

/** Every structural promise of a MatchResult, against the weights it came from. */
function expectValidMatching(result: MatchResult, weights: Float32Array, n: number, label: string) {
  const seen = new Set<number>();
  let sum = 0;
  for (let p = 0; p < result.pairs.length; p += 2) {
    const a = result.pairs[p]!;
    const b = result.pairs[p + 1]!;
    expect(a, label).toBeLessThan(b);
    expect(seen.has(a) || seen.has(b), `${label}: user twice`).toBe(false);
    seen.add(a).add(b);
    const w = weights[a * n + b]!;
    expect(w > 0 && Number.isFinite(w), `${label}: pair (${a}, ${b}) is not allowed (w = ${w})`).toBe(true);
    sum += w;
  }
  for (const u of result.unmatched) {
    expect(seen.has(u), `${label}: ${u} both matched and unmatched`).toBe(false);
    seen.add(u);
  }
  expect(seen.size, `${label}: every user appears once`).toBe(n);
  expect(result.totalWeight).toBeCloseTo(sum, 6);
  expect(result.upperBound).toBeGreaterThanOrEqual(result.totalWeight * (1 - 1e-9));
}

describe('matchWeights', () => {
  it('handles n = 0, 1 and 2', async () => {
    const empty = await matchWeights(new Float32Array(0), 0);
    expect(empty.pairs).toHaveLength(0);
    expect(empty.unmatched).toHaveLength(0);
    const one = await matchWeights(new Float32Array([Number.NEGATIVE_INFINITY]), 1);
    expect(Array.from(one.unmatched)).toEqual([0]);
    const two = await matchWeights(Float32Array.of(0, 3, 3, 0), 2);
    expect(Array.from(two.pairs)).toEqual([0, 1]);
    expect(two.totalWeight).toBe(3);
    expect(two.backend).toBeNull();
  });

  it('leaves everyone unmatched when every pair is forbidden, and uses the one allowed pair', async () => {
    const n = 7;
    const w = new Float32Array(n * n).fill(Number.NEGATIVE_INFINITY);
    const none = await matchWeights(w, n);
    expect(none.pairs).toHaveLength(0);
    expect(none.upperBound).toBe(0);
    w[2 * n + 5] = w[5 * n + 2] = 1.5;
    const one = await matchWeights(w, n);
    expect(Array.from(one.pairs)).toEqual([2, 5]);
    expect(one.unmatched).toHaveLength(5);
  });

  // Against the exact optimum (subset DP) on seeded random graphs of every small size: up to 16
  // users the matcher is exact. (Larger pools are checked against an exact blossom solver in the
  // native suite.)
  it('is valid, exact, and bounds the optimum, on small random graphs', async () => {
    const random = seededRandom(2024);
    for (let trial = 0; trial < 120; trial++) {
      const n = 2 + (trial % 11);
      const kind = trial % 4;
      const draw =
        kind === 0 ? () => random() : kind === 1 ? () => Math.exp(3 * (random() - 0.5) * 2) : () => 1 + Math.floor(random() * 3);
      const w = randomWeights(random, n, kind === 3 ? 0.6 : 0.25, draw);
      const result = await matchWeights(w, n);
      const label = `trial ${trial} (n ${n}, kind ${kind})`;
      expectValidMatching(result, w, n, label);
      const optimum = bruteForceMatching(w, n);
      expect(result.upperBound, label).toBeGreaterThanOrEqual(optimum * (1 - 1e-9));
      expect(result.totalWeight, label).toBeCloseTo(optimum, 4);
    }
  });

  it('a star where everyone prefers one user still pairs the rest', async () => {
    const n = 9;
    const w = new Float32Array(n * n).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) w[i * n + j] = w[j * n + i] = i === 0 ? 100 : 1;
    }
    const result = await matchWeights(w, n);
    expectValidMatching(result, w, n, 'star');
    expect(result.totalWeight).toBe(bruteForceMatching(w, n)); // 100 + 3 × 1
  });

  it('rejects bad input naming the argument', async () => {
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => matchWeights([0] as unknown as Float32Array, 1), 'weights'],
      [() => matchWeights(new Float32Array(4), -1), 'n'],
      [() => matchWeights(new Float32Array(5), 2), 'weights'],
      [() => matchWeights(Float32Array.of(0, 1, 2, 0), 2), 'weights'], // asymmetric
      [() => matchWeights(Float32Array.of(0, Number.NaN, Number.NaN, 0), 2), 'weights'],
      [() => matchWeights(Float32Array.of(0, Infinity, Infinity, 0), 2), 'weights'],
      [() => matchWeights(new Float32Array(4), 2, { candidates: 1 }), 'options.candidates'],
      [() => matchWeights(new Float32Array(4), 2, { rounds: 0 }), 'options.rounds'],
    ];
    for (const [call, argument] of cases) {
      const error = await call().catch((e: unknown) => e);
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
    const asym = await matchWeights(Float32Array.of(0, 1, 2, 0), 2).catch((e) => e);
    expect(asym.message).toContain('not symmetric');
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await matchWeights(new Float32Array(4), 2, { signal: controller.signal }).catch((e) => e);
    expect(error).toBeInstanceOf(AbortError);
  });
});
