import { describe, expect, it } from 'vitest';

import { AbortError, InvalidArgumentError } from '../../src/core/errors.js';
import { ExactIndex } from '../../src/retrieve/exact-index.js';
import { HnswIndex } from '../../src/retrieve/hnsw-index.js';
import type { IndexMetric } from '../../src/retrieve/item-index.js';
import { expectInvalid } from '../expect-invalid.js';
import { seededRandom } from '../reference/random.js';
import { clusteredVectors } from './naive-top-k.js';

// Recall@10 of the HNSW graph against the exact top 10, averaged over the queries. usearch with
// M = 16, efConstruction = 128, efSearch = 64 measured 0.9985 (cos) and 0.9935 (ip) on this data;
// 0.95 is the bar.
const MIN_RECALL_AT_10 = 0.95;
// Scores of items both indexes return: fp32 `1 − (1 − dot)` in usearch vs fp32 GEMM.
const SCORE_TOLERANCE = 1e-4;

describe.each(['cos', 'ip'] as IndexMetric[])('HnswIndex recall vs ExactIndex (%s)', (metric) => {
  it(`recall@10 >= ${MIN_RECALL_AT_10} on seeded clustered data`, async () => {
    const seed = metric === 'cos' ? 1234 : 4321;
    const random = seededRandom(seed);
    const n = 8000;
    const dim = 32;
    const q = 200;
    const data = clusteredVectors(random, n + q, dim, 40, 0.25);
    const items = data.subarray(0, n * dim);
    const queries = data.slice(n * dim);
    const ids = Array.from({ length: n }, (_, j) => (j % 3 === 0 ? `s${j}` : j));
    const exact = new ExactIndex({ dim, metric });
    const hnsw = new HnswIndex({ dim, metric });
    exact.add(ids, items);
    hnsw.add(ids, items);
    expect(hnsw.size).toBe(n);
    const truth = await exact.search(queries, 10);
    const found = await hnsw.search(queries, 10);
    let overlap = 0;
    let scoreChecks = 0;
    for (let r = 0; r < q; r++) {
      const want = new Map(truth[r]!.map((h) => [h.id, h.score]));
      expect(found[r]!.length).toBe(10);
      for (const hit of found[r]!) {
        const exactScore = want.get(hit.id);
        if (exactScore === undefined) continue;
        overlap++;
        scoreChecks++;
        const tol = SCORE_TOLERANCE * Math.max(1, Math.abs(exactScore));
        if (!(Math.abs(hit.score - exactScore) <= tol)) expect.fail(`seed ${seed} query ${r}: ${hit.score} vs ${exactScore}`);
      }
      for (let j = 1; j < found[r]!.length; j++) expect(found[r]![j]!.score).toBeLessThanOrEqual(found[r]![j - 1]!.score + 1e-6);
    }
    const recall = overlap / (q * 10);
    expect(recall, `seed ${seed} recall@10 = ${recall}`).toBeGreaterThanOrEqual(MIN_RECALL_AT_10);
    expect(scoreChecks).toBeGreaterThan(0);
  });
});

describe('HnswIndex ids, versions and removal', () => {
  it('maps string and number ids to keys and back, and 1 differs from "1"', async () => {
    const index = new HnswIndex({ dim: 2, metric: 'ip' });
    index.add([1, '1', 'x'], Float32Array.of(1, 0, 0, 1, -1, 0));
    const [hits] = await index.search(Float32Array.of(1, 2), 3);
    expect(hits!.map((h) => h.id)).toEqual(['1', 1, 'x']);
    expect(hits!.map((h) => h.score)).toEqual([expect.closeTo(2, 5), expect.closeTo(1, 5), expect.closeTo(-1, 5)]);
    expect(index.has(1) && index.has('1') && !index.has(2)).toBe(true);
  });

  it('changes version on every mutation; removed items never come back', async () => {
    const index = new HnswIndex({ dim: 2, metric: 'cos' });
    const v0 = index.version;
    index.add(['a', 'b', 'c'], Float32Array.of(1, 0, 0, 1, 1, 1));
    const v1 = index.version;
    expect(v1).not.toBe(v0);
    expect(index.remove(['b', 'nope'])).toBe(1);
    const v2 = index.version;
    expect(v2).not.toBe(v1);
    expect(index.remove(['nope'])).toBe(0);
    expect(index.version).toBe(v2);
    const [hits] = await index.search(Float32Array.of(0, 1), 5);
    expect(hits!.map((h) => h.id)).toEqual(['c', 'a']);
    expect(hits![0]!.score).toBeCloseTo(Math.SQRT1_2, 5);
    // Re-adding a removed id is allowed and gets a fresh key.
    index.add(['b'], Float32Array.of(0, 5));
    const [again] = await index.search(Float32Array.of(0, 1), 1);
    expect(again).toEqual([{ id: 'b', score: expect.closeTo(1, 5) }]);
    expect(index.size).toBe(3);
  });

  it('gives fewer hits than k when the index is small, and none when empty', async () => {
    const index = new HnswIndex({ dim: 3 });
    expect(await index.search(Float32Array.of(1, 0, 0, 0, 1, 0), 4)).toEqual([[], []]);
    index.add([5], Float32Array.of(1, 2, 3));
    const results = await index.search(Float32Array.of(1, 0, 0, 0, 1, 0), 4);
    expect(results.map((hits) => hits.map((h) => h.id))).toEqual([[5], [5]]);
  });
});

describe('HnswIndex rejects bad input with an error naming the argument', () => {
  const make = () => {
    const index = new HnswIndex({ dim: 3, metric: 'cos' });
    index.add(['a', 7], Float32Array.of(1, 0, 0, 0, 1, 0));
    return index;
  };
  const syncCases: Array<[label: string, call: () => unknown, argument: string]> = [
    ['dim 0', () => new HnswIndex({ dim: 0 }), 'options.dim'],
    ['unknown metric', () => new HnswIndex({ dim: 2, metric: 'l2sq' as never }), 'options.metric'],
    ['connectivity 1', () => new HnswIndex({ dim: 2, connectivity: 1 }), 'options.connectivity'],
    ['negative threads', () => new HnswIndex({ dim: 2, threads: -1 }), 'options.threads'],
    ['duplicate id already present', () => make().add([7], Float32Array.of(1, 1, 1)), 'ids[0]'],
    ['duplicate id in one call', () => make().add(['b', 'b'], Float32Array.of(1, 1, 1, 1, 1, 1)), 'ids[1]'],
    ['wrong dim', () => make().add(['b'], Float32Array.of(1, 1)), 'vectors'],
    ['NaN in vectors', () => make().add(['b'], Float32Array.of(1, Number.NaN, 1)), 'vectors'],
    ['zero vector under cos', () => make().add(['b'], new Float32Array(3)), 'vectors'],
    ['bigint id', () => make().add([1n] as never, Float32Array.of(1, 1, 1)), 'ids[0]'],
  ];
  it.each(syncCases)('%s', (_label, call, argument) => {
    expectInvalid(call, argument);
  });

  it('a rejected add leaves the index unchanged', () => {
    const index = make();
    const version = index.version;
    expect(() => index.add(['b', 7], Float32Array.of(1, 1, 1, 1, 1, 1))).toThrow(InvalidArgumentError);
    expect(index.size).toBe(2);
    expect(index.has('b')).toBe(false);
    expect(index.version).toBe(version);
  });

  const asyncCases: Array<[label: string, call: () => Promise<unknown>, argument: string]> = [
    ['k = 0', () => make().search(Float32Array.of(1, 0, 0), 0), 'k'],
    ['k = -3', () => make().search(Float32Array.of(1, 0, 0), -3), 'k'],
    ['query of the wrong dim', () => make().search(Float32Array.of(1, 0, 0, 1), 1), 'queries'],
    ['Infinity in a query', () => make().search(Float32Array.of(1, Infinity, 0), 1), 'queries'],
  ];
  it.each(asyncCases)('%s (as a rejection)', async (_label, call, argument) => {
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('rejects with AbortError when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(make().search(Float32Array.of(1, 0, 0), 1, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });
});
