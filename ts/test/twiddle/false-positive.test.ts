import { describe, expect, it } from 'vitest';

import { TwiddlerChain } from '../../src/twiddle/twiddler-chain.js';
import { expectInvalid } from '../expect-invalid.js';
import { randomMatrix, seededRandom } from '../reference/random.js';
import { randomList, referenceFalsePositive, sortedByKeys, type TestCandidate } from '../reference/twiddle-reference.js';

const DIM = 8;

function fpChain(threshold: number, strength: number): TwiddlerChain {
  return new TwiddlerChain([{ name: 'false-positive', params: { threshold, strength } }]);
}

/** `count` random vectors of DIM, some of them near copies of list items' vectors. */
function falsePositives(random: () => number, list: readonly TestCandidate[], count: number): Float32Array[] {
  const withVectors = list.filter((c) => c.vector !== undefined);
  return Array.from({ length: count }, () => {
    if (withVectors.length > 0 && random() < 0.6) {
      const source = withVectors[Math.floor(random() * withVectors.length)]!.vector!;
      return source.map((x) => x + (random() - 0.5) * 0.2);
    }
    return randomMatrix(random, 1, DIM);
  });
}

describe('false-positive twiddler', () => {
  it('matches the naive reference on seeded random lists', () => {
    for (let seed = 1; seed <= 80; seed++) {
      const random = seededRandom(seed);
      const list = randomList(random, { n: 1 + Math.floor(random() * 60), dim: DIM, levels: 10 });
      const vectors = falsePositives(random, list, 1 + Math.floor(random() * 5));
      const threshold = 0.5 + random() * 0.5;
      const strength = random();
      const result = fpChain(threshold, strength).run(list, { falsePositiveVectors: vectors });
      const expected = referenceFalsePositive(list, vectors, threshold, strength);
      const label = `seed ${seed}, threshold ${threshold.toFixed(3)}, strength ${strength.toFixed(3)}`;
      expect(result.candidates.map((c) => c.itemId), label).toEqual(sortedByKeys(list, expected.keys));
      result.candidates.forEach((c, p) => expect(result.keys[p], label).toBeCloseTo(expected.keys[list.indexOf(c)]!, 10));
      expect(new Set(result.steps[0]!.moves.map((m) => m.itemId)), label).toEqual(expected.hit);
    }
  });

  it('matches the naive reference with long vectors (pruned block dot products), similarities spread around the threshold', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(1000 + seed);
      const dim = [17, 40, 64, 100][seed % 4]!;
      const list = randomList(random, { n: 1 + Math.floor(random() * 80), dim, levels: 10 });
      const withVectors = list.filter((c) => c.vector !== undefined);
      // Near copies at several noise levels (cosines from ~1 down to ~0.3) and unrelated vectors.
      const vectors = Array.from({ length: 1 + Math.floor(random() * 30) }, () => {
        if (withVectors.length === 0 || random() < 0.3) return randomMatrix(random, 1, dim);
        const source = withVectors[Math.floor(random() * withVectors.length)]!.vector!;
        const noise = [0.05, 0.3, 0.6, 1.2][Math.floor(random() * 4)]!;
        return source.map((x) => (x + (random() - 0.5) * noise) * (0.5 + random() * 3));
      });
      const threshold = random() < 0.2 ? 0 : 0.3 + random() * 0.7;
      const strength = random();
      const result = fpChain(threshold, strength).run(list, { falsePositiveVectors: vectors });
      const expected = referenceFalsePositive(list, vectors, threshold, strength);
      const label = `seed ${seed}, dim ${dim}, threshold ${threshold.toFixed(3)}`;
      expect(result.candidates.map((c) => c.itemId), label).toEqual(sortedByKeys(list, expected.keys));
      result.candidates.forEach((c, p) => expect(result.keys[p], label).toBeCloseTo(expected.keys[list.indexOf(c)]!, 10));
      const moves = result.steps[0]!.moves;
      expect(new Set(moves.map((m) => m.itemId)), label).toEqual(expected.hit);
      // The reason names the most similar false positive (the naive argmax).
      for (const move of moves) {
        const v = list.find((c) => c.itemId === move.itemId)!.vector!;
        const cos = vectors.map((f) => {
          let dot = 0;
          let nf = 0;
          let nv = 0;
          for (let j = 0; j < dim; j++) {
            dot += v[j]! * f[j]!;
            nf += f[j]! * f[j]!;
            nv += v[j]! * v[j]!;
          }
          return nf === 0 ? Number.NEGATIVE_INFINITY : dot / Math.sqrt(nf * nv);
        });
        expect(move.reason, label).toContain(`false-positive #${cos.indexOf(Math.max(...cos))}`);
      }
    }
  });

  it('pushes an item identical to a false positive down by `strength`, proportionally to similarity', () => {
    const v = Float32Array.of(1, 0, 0, 0);
    const w = Float32Array.of(Math.SQRT1_2, Math.SQRT1_2, 0, 0); // cosine 0.707 with v
    const list: TestCandidate[] = [
      { itemId: 'same', score: 1, vector: v.map((x) => x * 3) }, // scale does not matter
      { itemId: 'near', score: 0.9, vector: w },
      { itemId: 'plain', score: 0.8 },
      { itemId: 'zero', score: 0.7, vector: new Float32Array(4) },
      { itemId: 'far', score: 0.6, vector: Float32Array.of(-1, 0, 0, 0) },
    ];
    const loose = fpChain(0.7, 0.5).run(list, { falsePositiveVectors: [v, new Float32Array(4)] });
    const moves = new Map(loose.steps[0]!.moves.map((m) => [m.itemId, m]));
    expect([...moves.keys()]).toEqual(['same', 'near']);
    expect(moves.get('same')!.keyAfter).toBeCloseTo(0.5, 6); // 1 − 1 × 0.5 × 1
    expect(moves.get('near')!.keyAfter).toBeCloseTo(0.9 - 0.9 * 0.5 * Math.SQRT1_2, 6);
    expect(moves.get('same')!.reason).toMatch(/cosine 1\.000 .* false-positive #0/);
    expect(loose.candidates.map((c) => c.itemId)).toEqual(['plain', 'zero', 'far', 'near', 'same']);
    // A threshold above 0.707 leaves 'near' alone.
    const strict = fpChain(0.8, 0.5).run(list, { falsePositiveVectors: [v] });
    expect(strict.steps[0]!.moves.map((m) => m.itemId)).toEqual(['same']);
    expect(strict.candidates.map((c) => c.itemId)).toEqual(['near', 'plain', 'zero', 'far', 'same']);
  });

  it('reuses a request memo’s similarities in later runs with the same false-positive vectors, and only then', () => {
    const chain = fpChain(0.8, 0.5);
    const v = Float32Array.of(1, 0, 0);
    const list = [
      { itemId: 'a', score: 1, vector: Float32Array.of(1, 0.01, 0) },
      { itemId: 'b', score: 0.9, vector: Float32Array.of(0, 1, 0) },
    ];
    const falsePositiveVectors = [v];
    const memo = new WeakMap<object, unknown>();
    const first = chain.run(list, { falsePositiveVectors, memo });
    expect(first.candidates.map((c) => c.itemId)).toEqual(['b', 'a']);
    // Within one request vectors do not change, so a memo hit is not recomputed: the proof that it is read.
    list[0]!.vector.set([0, 0, 1]);
    expect(chain.run(list, { falsePositiveVectors, memo }).candidates.map((c) => c.itemId)).toEqual(['b', 'a']);
    // Without the memo, or with another vectors array, the similarity is computed again.
    expect(chain.run(list, { falsePositiveVectors }).candidates.map((c) => c.itemId)).toEqual(['a', 'b']);
    expect(chain.run(list, { falsePositiveVectors: [v], memo }).candidates.map((c) => c.itemId)).toEqual(['a', 'b']);
  });

  it('skips itself without false-positive vectors', () => {
    const list = randomList(seededRandom(3), { n: 10, dim: DIM });
    for (const context of [{}, { falsePositiveVectors: [] }]) {
      const result = fpChain(0.5, 1).run(list, context);
      expect(result.steps[0]!.skipped).toBe('no false-positive items');
      expect(result.candidates).toEqual(list);
    }
  });

  it('rejects NaN and mis-sized vectors, naming them', () => {
    const chain = fpChain(0.5, 0.5);
    const good = Float32Array.of(1, 0, 0);
    const list = [
      { itemId: 'a', score: 1, vector: Float32Array.of(0, 1, 0) },
      { itemId: 'b', score: 0.5, vector: Float32Array.of(0, Number.NaN, 0) },
    ];
    expectInvalid(() => chain.run(list, { falsePositiveVectors: [good] }), 'candidates[1].vector');
    expectInvalid(() => chain.run(list.slice(0, 1), { falsePositiveVectors: [good, Float32Array.of(1, Number.POSITIVE_INFINITY, 0)] }), 'context.falsePositiveVectors[1]');
    expectInvalid(() => chain.run(list.slice(0, 1), { falsePositiveVectors: [good, Float32Array.of(1, 0)] }), 'context.falsePositiveVectors[1]');
    expectInvalid(() => chain.run(list.slice(0, 1), { falsePositiveVectors: [[1, 0, 0] as never] }), 'context.falsePositiveVectors[0]');
    expectInvalid(() => chain.run([{ itemId: 'c', score: 1, vector: Float32Array.of(1, 0) }], { falsePositiveVectors: [good] }), 'candidates[0].vector');
    expectInvalid(() => chain.run([{ itemId: 'c', score: 1, vector: [1, 0, 0] as never }], { falsePositiveVectors: [good] }), 'candidates[0].vector');
  });
});
