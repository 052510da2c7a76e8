import { describe, expect, it } from 'vitest';

import { AbortError, BackendUnavailableError, InvalidArgumentError } from '../../src/core/errors.js';
import { listBackends } from '../../src/native/backends.js';
import { native } from '../../src/native/binding.js';
import { ExactIndex } from '../../src/retrieve/exact-index.js';
import type { IndexMetric, ItemId } from '../../src/retrieve/item-index.js';
import { expectInvalid } from '../expect-invalid.js';
import { randomMatrix, seededRandom } from '../reference/random.js';
import { naiveScores, naiveTopK } from './naive-top-k.js';

const available = listBackends().filter((b) => b.available).map((b) => b.name);
const unavailable = listBackends().filter((b) => !b.available);

// fp32 scores of unit-scale vectors: each score within 1e-5·dim of the double-precision reference.
const tolerance = (dim: number) => 1e-5 * dim;

function rowOf(m: Float32Array, r: number, dim: number): Float32Array {
  return m.subarray(r * dim, (r + 1) * dim);
}

/**
 * Checks hits against the naive reference: same length, no duplicates, each score within tolerance
 * of its item's exact score, and the j-th hit's exact score within tolerance of the j-th best.
 */
function expectMatchesReference(
  hits: Array<{ id: ItemId; score: number }>,
  exact: Float64Array,
  ids: readonly ItemId[],
  k: number,
  tol: number,
  label: string,
) {
  const want = naiveTopK(exact, ids, k);
  expect(hits.length, label).toBe(want.length);
  const rowOfId = new Map(ids.map((id, j) => [id, j]));
  expect(new Set(hits.map((h) => h.id)).size, label).toBe(hits.length);
  hits.forEach((hit, j) => {
    const row = rowOfId.get(hit.id)!;
    if (!(Math.abs(hit.score - exact[row]!) <= tol)) expect.fail(`${label}: rank ${j} score ${hit.score} vs exact ${exact[row]}`);
    if (!(Math.abs(exact[row]! - want[j]!.score) <= 2 * tol)) {
      expect.fail(`${label}: rank ${j} is ${String(hit.id)} (${exact[row]}), want ${String(want[j]!.id)} (${want[j]!.score})`);
    }
  });
}

describe.each(available)('ExactIndex on %s', (backend) => {
  const shapes: Array<[n: number, q: number, dim: number, k: number]> = [
    [1, 1, 1, 1],
    [10, 3, 4, 3],
    [200, 5, 16, 10],
    [1000, 7, 33, 50],
    [50, 2, 8, 80], // k > n
    [20_011, 250, 16, 20], // 5M scores, more than the native scratch (4 Mi floats) holds: several blocks
  ];
  describe.each(['ip', 'cos'] as IndexMetric[])('metric %s', (metric) => {
    it.each(shapes)('matches the naive reference at n=%i q=%i dim=%i k=%i', async (n, q, dim, k) => {
      const seed = n * 31 + q * 7 + dim + (metric === 'cos' ? 1 : 0);
      const random = seededRandom(seed);
      const items = randomMatrix(random, n, dim);
      const queries = randomMatrix(random, q, dim);
      const ids = Array.from({ length: n }, (_, j) => (j % 2 === 0 ? j : `item-${j}`));
      const index = new ExactIndex({ dim, metric, backend });
      index.add(ids, items);
      const results = await index.search(queries, k);
      expect(results).toHaveLength(q);
      for (let r = 0; r < q; r++) {
        const exact = naiveScores(rowOf(queries, r, dim), items, dim, metric);
        expectMatchesReference(results[r]!, exact, ids, k, tolerance(dim), `seed ${seed} ${backend} ${metric} query ${r}`);
      }
    });
  });

  it('orders exact ties by the item added first', async () => {
    const index = new ExactIndex({ dim: 2, metric: 'ip', backend });
    index.add(['z', 'y', 'x', 'w'], Float32Array.of(1, 0, 2, 0, 1, 0, 2, 0));
    const [hits] = await index.search(Float32Array.of(1, 0), 4);
    expect(hits!.map((h) => h.id)).toEqual(['y', 'w', 'z', 'x']);
    expect(hits!.map((h) => h.score)).toEqual([2, 2, 1, 1]);
  });
});

describe('ExactIndex storage and versions', () => {
  it('grows from capacity 0 by doubling and gives the same results as one batch', async () => {
    const dim = 12;
    const random = seededRandom(11);
    const items = randomMatrix(random, 500, dim);
    const ids = Array.from({ length: 500 }, (_, j) => j);
    const whole = new ExactIndex({ dim, metric: 'ip' });
    whole.add(ids, items);
    const grown = new ExactIndex({ dim, metric: 'ip', initialCapacity: 0 });
    const capacities: number[] = [];
    for (let start = 0; start < 500; start += 7) {
      const end = Math.min(500, start + 7);
      grown.add(ids.slice(start, end), items.slice(start * dim, end * dim));
      capacities.push(grown.capacity);
    }
    expect(grown.size).toBe(500);
    // Amortized doubling: few distinct capacities, each at least twice the previous.
    const distinct = [...new Set(capacities)];
    expect(distinct.length).toBeLessThanOrEqual(7);
    for (let i = 1; i < distinct.length; i++) expect(distinct[i]!).toBeGreaterThanOrEqual(2 * distinct[i - 1]!);
    const queries = randomMatrix(random, 4, dim);
    expect(await grown.search(queries, 15)).toEqual(await whole.search(queries, 15));
  });

  it('changes version on every mutation and removes items', async () => {
    const index = new ExactIndex({ dim: 2, metric: 'cos' });
    const versions = [index.version];
    index.add(['a', 'b', 'c'], Float32Array.of(1, 0, 0, 1, 1, 1));
    versions.push(index.version);
    index.add([], new Float32Array(0));
    expect(index.version).toBe(versions[1]); // nothing added, nothing changed
    expect(index.remove(['b', 'missing'])).toBe(1);
    versions.push(index.version);
    expect(index.remove(['missing'])).toBe(0);
    expect(index.version).toBe(versions[2]);
    index.add(['b'], Float32Array.of(0, 3));
    versions.push(index.version);
    expect(new Set(versions).size).toBe(4);
    expect(index.has('b') && index.has('a') && !index.has('missing')).toBe(true);
    const [hits] = await index.search(Float32Array.of(0, 1), 3);
    expect(hits!.map((h) => h.id)).toEqual(['b', 'c', 'a']);
    expect(hits![0]!.score).toBeCloseTo(1, 6);
    expect(hits![1]!.score).toBeCloseTo(Math.SQRT1_2, 6);
    index.remove(['a', 'b', 'c']);
    expect(index.size).toBe(0);
    expect(await index.search(Float32Array.of(0, 1, 1, 0), 3)).toEqual([[], []]);
  });

  it('a search in flight is not affected by removes and adds made before it settles', async () => {
    const dim = 8;
    const random = seededRandom(21);
    const items = randomMatrix(random, 3000, dim);
    const ids = Array.from({ length: 3000 }, (_, j) => `i${j}`);
    const index = new ExactIndex({ dim, metric: 'ip', initialCapacity: 4000 });
    index.add(ids, items);
    const queries = randomMatrix(random, 50, dim);
    const before = await index.search(queries, 5);
    const pending = index.search(queries, 5);
    // Remove the best hits and add a vector that would win everything, while the search runs.
    index.remove(before.flat().map((h) => h.id));
    index.add(['winner'], new Float32Array(dim).fill(100));
    expect(await pending).toEqual(before);
    const after = await index.search(queries, 5);
    expect(after.every((hits) => hits[0]!.id === 'winner' || hits.every((h) => h.id !== before[0]![0]!.id))).toBe(true);
    expect(after.flat().some((h) => before.flat().some((b) => b.id === h.id))).toBe(false);
  });

  it.each(available)('an abort during a long search rejects with AbortError (%s)', async (backend) => {
    const dim = 128;
    const n = 60_000;
    const random = seededRandom(31);
    const index = new ExactIndex({ dim, metric: 'ip', backend, initialCapacity: n });
    index.add(
      Array.from({ length: n }, (_, j) => j),
      randomMatrix(random, n, dim),
    );
    const queries = randomMatrix(random, 400, dim);
    const controller = new AbortController();
    const pending = index.search(queries, 10, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('deadline')), 5);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toEqual(new Error('deadline'));
    // The index is still usable afterwards.
    expect((await index.search(queries.subarray(0, dim), 1))[0]).toHaveLength(1);
  });

  it('stores a normalized copy under cos, leaving the caller’s vectors alone', async () => {
    const index = new ExactIndex({ dim: 2, metric: 'cos' });
    const vectors = Float32Array.of(3, 4, 10, 0);
    index.add([1, 2], vectors);
    expect(Array.from(vectors)).toEqual([3, 4, 10, 0]);
    const query = Float32Array.of(5, 0);
    const [hits] = await index.search(query, 2);
    expect(Array.from(query)).toEqual([5, 0]);
    expect(hits![0]).toEqual({ id: 2, score: 1 });
    expect(hits![1]!.score).toBeCloseTo(0.6, 6);
  });
});

describe('ExactIndex rejects bad input with an error naming the argument', () => {
  const make = () => {
    const index = new ExactIndex({ dim: 3, metric: 'cos' });
    index.add(['a', 7], Float32Array.of(1, 0, 0, 0, 1, 0));
    return index;
  };
  const syncCases: Array<[label: string, call: () => unknown, argument: string]> = [
    ['missing options', () => new ExactIndex(undefined as never), 'options'],
    ['dim 0', () => new ExactIndex({ dim: 0 }), 'options.dim'],
    ['unknown metric', () => new ExactIndex({ dim: 2, metric: 'l2' as never }), 'options.metric'],
    ['unknown backend', () => new ExactIndex({ dim: 2, backend: 'tpu' as never }), 'options.backend'],
    ['negative capacity', () => new ExactIndex({ dim: 2, initialCapacity: -1 }), 'options.initialCapacity'],
    ['ids not an array', () => make().add('b' as never, new Float32Array(3)), 'ids'],
    ['id an object', () => make().add([{}] as never, new Float32Array(3)), 'ids[0]'],
    ['id NaN', () => make().add([Number.NaN], new Float32Array(3)), 'ids[0]'],
    ['duplicate id already present', () => make().add(['b', 7], Float32Array.of(1, 1, 1, 1, 1, 1)), 'ids[1]'],
    ['duplicate id in one call', () => make().add(['b', 'b'], Float32Array.of(1, 1, 1, 1, 1, 1)), 'ids[1]'],
    ['wrong dim', () => make().add(['b'], Float32Array.of(1, 1)), 'vectors'],
    ['vectors not Float32Array', () => make().add(['b'], [1, 1, 1] as never), 'vectors'],
    ['NaN in vectors', () => make().add(['b', 'c'], Float32Array.of(1, 1, 1, 1, Number.NaN, 1)), 'vectors'],
    ['Infinity in vectors', () => make().add(['b'], Float32Array.of(1, -Infinity, 1)), 'vectors'],
    ['zero vector under cos', () => make().add(['b'], new Float32Array(3)), 'vectors'],
    ['remove with a bad id', () => make().remove([null] as never), 'ids[0]'],
  ];
  it.each(syncCases)('%s', (_label, call, argument) => {
    expectInvalid(call, argument);
  });

  it('a rejected add adds nothing and keeps the version', () => {
    const index = make();
    const version = index.version;
    expect(() => index.add(['b', 'c'], Float32Array.of(1, 1, 1, 1, Number.NaN, 1))).toThrow(InvalidArgumentError);
    expect(index.size).toBe(2);
    expect(index.has('b')).toBe(false);
    expect(index.version).toBe(version);
  });

  it('names the row and column of a NaN', () => {
    const error = (() => {
      try {
        make().add(['b', 'c'], Float32Array.of(1, 1, 1, 1, Number.NaN, 1));
      } catch (e) {
        return e as InvalidArgumentError;
      }
    })();
    expect(error?.received).toBe('NaN at row 1, column 1 (index 4)');
  });

  const asyncCases: Array<[label: string, call: () => Promise<unknown>, argument: string]> = [
    ['k = 0', () => make().search(Float32Array.of(1, 0, 0), 0), 'k'],
    ['k negative', () => make().search(Float32Array.of(1, 0, 0), -1), 'k'],
    ['k fractional', () => make().search(Float32Array.of(1, 0, 0), 1.5), 'k'],
    ['query of the wrong dim', () => make().search(Float32Array.of(1, 0), 1), 'queries'],
    ['NaN in a query', () => make().search(Float32Array.of(1, Number.NaN, 0), 1), 'queries'],
    ['zero query under cos', () => make().search(new Float32Array(3), 1), 'queries'],
    ['queries a plain array', () => make().search([1, 0, 0] as never, 1), 'queries'],
    ['signal not an AbortSignal', () => make().search(Float32Array.of(1, 0, 0), 1, { signal: {} as AbortSignal }), 'options.signal'],
  ];
  it.each(asyncCases)('%s (as a rejection)', async (_label, call, argument) => {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('rejects at once with an already-aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const error = await make()
      .search(Float32Array.of(1, 0, 0), 1, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toEqual(new Error('gone'));
  });

  it.skipIf(unavailable.length === 0)('a named unavailable backend is a BackendUnavailableError', () => {
    expect(() => new ExactIndex({ dim: 2, backend: unavailable[0]!.name })).toThrow(BackendUnavailableError);
  });

  it('the binding rejects misuse synchronously, without crashing', async () => {
    const topK = native().topK;
    const q = new Float32Array(4); // 2 queries x dim 2
    const items = new Float32Array(6); // 3 items x dim 2
    // queries hold 4 floats, not 2 x 3
    expect(() => topK(q, items, 2, 3, 3, 1, 'portable', new Int32Array(2), new Float32Array(2))).toThrow(RangeError);
    expect(() => topK(q, items, 2, 3, 2, 1, 'portable', new Float32Array(2) as never, new Float32Array(2))).toThrow(TypeError);
    expect(() => topK(q, items, 2, 3, 2, 1, 'portable', new Int32Array(3), new Float32Array(2))).toThrow(RangeError);
    expect(() => topK(q, items, 2, -1, 2, 1, 'portable', new Int32Array(2), new Float32Array(2))).toThrow(RangeError);
    const shared = new Float32Array(4);
    expect(() => topK(q, items, 2, 3, 2, 1, 'portable', new Int32Array(shared.buffer, 0, 2), shared.subarray(1, 3))).toThrow(
      RangeError,
    );
    expect(() => (topK as unknown as (...a: unknown[]) => unknown)(q, items)).toThrow(TypeError);
    // A well-formed direct call works, with outputs sharing one buffer side by side.
    const indices = new Int32Array(shared.buffer, 0, 2);
    await expect(topK(q, items, 2, 3, 2, 1, 'portable', indices, shared.subarray(2))).resolves.toBe('portable');
    expect(Array.from(indices)).toEqual([0, 0]); // all scores 0: the lowest row wins
  });
});
