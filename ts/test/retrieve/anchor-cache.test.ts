import { describe, expect, it } from 'vitest';

import { AbortError, InvalidArgumentError } from '../../src/core/errors.js';
import { type Anchor, AnchorCache, compareIds } from '../../src/retrieve/anchor-cache.js';
import { ExactIndex } from '../../src/retrieve/exact-index.js';
import type { IndexMetric, ItemHit, ItemId, ItemIndex } from '../../src/retrieve/item-index.js';
import { randomMatrix, seededRandom } from '../reference/random.js';
import { naiveScores, naiveTopK } from './naive-top-k.js';

/** A brute-force ItemIndex in TypeScript that counts searches and can be made to wait or fail. */
class CountingIndex implements ItemIndex {
  readonly metric: IndexMetric = 'ip';
  version = 1;
  searches = 0;
  queriesSearched = 0;
  gate: Promise<void> | undefined;
  failNext: Error | undefined;
  readonly #ids: ItemId[] = [];
  #data: number[] = [];

  constructor(readonly dim: number) {}

  get size(): number {
    return this.#ids.length;
  }
  has(id: ItemId): boolean {
    return this.#ids.includes(id);
  }
  add(ids: readonly ItemId[], vectors: Float32Array): void {
    this.#ids.push(...ids);
    this.#data.push(...vectors);
    this.version++;
  }
  remove(): number {
    return 0;
  }
  async search(queries: Float32Array, k: number): Promise<ItemHit[][]> {
    this.searches++;
    this.queriesSearched += queries.length / this.dim;
    const gate = this.gate;
    if (gate) await gate;
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    const items = Float32Array.from(this.#data);
    const out: ItemHit[][] = [];
    for (let r = 0; r < queries.length / this.dim; r++) {
      out.push(naiveTopK(naiveScores(queries.subarray(r * this.dim, (r + 1) * this.dim), items, this.dim, 'ip'), this.#ids, k));
    }
    return out;
  }
}

/**
 * Items on a line: item i has vector (1, i/10), so a query (1, y) ranks items by closeness in a
 * way that is easy to compute by hand with inner products: score = 1 + y·i/10.
 */
function lineIndex(): CountingIndex {
  const index = new CountingIndex(2);
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  index.add(ids, Float32Array.from(ids.flatMap((_, i) => [1, i / 10])));
  return index;
}

const anchor = (itemId: ItemId, y: number, importance = 1): Anchor => ({ itemId, vector: Float32Array.of(1, y), importance });

describe('AnchorCache caching', () => {
  it('answers a repeated anchor from the cache and counts hits and misses', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    const first = await cache.neighbours([anchor('a', 1)], 3);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, size: 1 });
    const second = await cache.neighbours([anchor('a', 1)], 3);
    expect(second).toEqual(first);
    expect(index.searches).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
    // A different k is a different entry.
    await cache.neighbours([anchor('a', 1)], 2);
    expect(index.searches).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, size: 2 });
  });

  it('searches all the misses of one call together, and only them', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    await cache.neighbours([anchor('a', 1)], 2);
    await cache.neighbours([anchor('a', 1), anchor('b', -1), anchor('c', 0.5)], 2);
    expect(index.searches).toBe(2);
    expect(index.queriesSearched).toBe(3); // 1, then the 2 misses
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 3 });
  });

  it('expires entries after the TTL (injected clock)', async () => {
    let now = 1_000;
    const index = lineIndex();
    const cache = new AnchorCache(index, { ttlMs: 500, now: () => now });
    await cache.neighbours([anchor('a', 1)], 3);
    now = 1_499;
    await cache.neighbours([anchor('a', 1)], 3);
    expect(index.searches).toBe(1);
    now = 1_500;
    await cache.neighbours([anchor('a', 1)], 3);
    expect(index.searches).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, expirations: 1, size: 1 });
    // The refreshed entry lives another 500 ms from when it was stored.
    now = 1_999;
    await cache.neighbours([anchor('a', 1)], 3);
    expect(index.searches).toBe(2);
  });

  it('never serves results from before an index mutation', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    const before = await cache.neighbours([anchor('a', 1), anchor('b', 1)], 1);
    expect(before[0]![0]!.id).toBe('f');
    index.add(['g'], Float32Array.of(1, 5));
    const after = await cache.neighbours([anchor('a', 1)], 1);
    expect(after[0]![0]!.id).toBe('g');
    expect(index.searches).toBe(2);
    expect(cache.stats()).toMatchObject({ misses: 3, invalidations: 2, size: 1 });
  });

  it('does not store a result whose index changed while it was searched', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    let open!: () => void;
    index.gate = new Promise((resolve) => (open = resolve));
    const pending = cache.neighbours([anchor('a', 1)], 1);
    index.add(['g'], Float32Array.of(1, 5));
    index.gate = undefined;
    open();
    await pending;
    expect(cache.stats().size).toBe(0);
    const fresh = await cache.neighbours([anchor('a', 1)], 1);
    expect(fresh[0]![0]!.id).toBe('g');
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index, { maxEntries: 2 });
    await cache.neighbours([anchor('a', 1)], 1);
    await cache.neighbours([anchor('b', 1)], 1);
    await cache.neighbours([anchor('a', 1)], 1); // a is now the most recent
    await cache.neighbours([anchor('c', 1)], 1); // evicts b
    expect(cache.stats()).toMatchObject({ evictions: 1, size: 2, hits: 1, misses: 3 });
    const searches = index.searches;
    await cache.neighbours([anchor('a', 1)], 1);
    await cache.neighbours([anchor('c', 1)], 1);
    expect(index.searches).toBe(searches);
    await cache.neighbours([anchor('b', 1)], 1);
    expect(index.searches).toBe(searches + 1);
  });

  it('coalesces concurrent lookups of the same anchor into one search', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    let open!: () => void;
    index.gate = new Promise((resolve) => (open = resolve));
    const one = cache.retrieve([anchor('a', 1)], 3);
    const two = cache.retrieve([anchor('a', 1)], 3);
    open();
    expect(await one).toEqual(await two);
    expect(index.searches).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, coalesced: 1 });
  });

  it('does not cache a failed search, and the next lookup retries', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    index.failNext = new Error('backend down');
    await expect(cache.neighbours([anchor('a', 1)], 2)).rejects.toThrow('backend down');
    expect(cache.stats().size).toBe(0);
    const hits = await cache.neighbours([anchor('a', 1)], 2);
    expect(hits[0]!.map((h) => h.id)).toEqual(['f', 'e']);
    expect(index.searches).toBe(2);
  });

  it('an aborted caller stops waiting, while the search still fills the cache', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    let open!: () => void;
    index.gate = new Promise((resolve) => (open = resolve));
    const controller = new AbortController();
    const pending = cache.retrieve([anchor('a', 1)], 2, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    open();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(cache.stats().size).toBe(1);
    const already = new AbortController();
    already.abort();
    await expect(cache.retrieve([anchor('a', 1)], 2, { signal: already.signal })).rejects.toBeInstanceOf(AbortError);
  });

  it('returns frozen hit lists, so callers cannot corrupt an entry', async () => {
    const cache = new AnchorCache(lineIndex());
    const [hits] = await cache.neighbours([anchor('a', 1)], 2);
    expect(Object.isFrozen(hits)).toBe(true);
    expect(Object.isFrozen(hits![0])).toBe(true);
  });
});

describe('AnchorCache.retrieve merging', () => {
  it('merges, removes duplicates, excluded and anchor items, and tags each candidate', async () => {
    const index = lineIndex();
    const cache = new AnchorCache(index);
    // Anchor 'f' (y = 1) ranks f, e, d, c…; anchor 'a' (y = -1) ranks a, b, c, d….
    const candidates = await cache.retrieve([anchor('f', 1, 2), anchor('a', -1, 0.5)], 4, { exclude: new Set(['e']) });
    // f-anchor: f (self, dropped), e (excluded), d = 1.3, c = 1.2; a-anchor: a (self), b = 0.9, c = 0.8, d = 0.7.
    expect(candidates.map((c) => c.id)).toEqual(['d', 'c', 'b']);
    const d = candidates[0]!;
    expect(d.score).toBeCloseTo(1.3, 6);
    expect(d.anchors.map((m) => [m.anchorId, m.importance])).toEqual([
      ['f', 2],
      ['a', 0.5],
    ]);
    expect(d.anchors[1]!.score).toBeCloseTo(0.7, 6);
    expect(candidates[2]!.anchors).toEqual([{ anchorId: 'a', score: expect.closeTo(0.9, 6), importance: 0.5 }]);
    expect(new Set(candidates.map((c) => c.id)).size).toBe(candidates.length);
  });

  it('accepts exclude as an array and returns nothing when everything is excluded', async () => {
    const cache = new AnchorCache(lineIndex());
    const none = await cache.retrieve([anchor('a', 1)], 3, { exclude: ['f', 'e', 'd'] });
    expect(none).toEqual([]);
  });

  it('orders equal scores by id: numbers ascending, then strings', async () => {
    const index = new CountingIndex(2);
    index.add(['b', 10, 'a', 2, 'anchor'], Float32Array.of(1, 0, 1, 0, 1, 0, 1, 0, 0, 1));
    const cache = new AnchorCache(index);
    const candidates = await cache.retrieve([{ itemId: 'anchor', vector: Float32Array.of(1, 0), importance: 1 }], 5);
    expect(candidates.map((c) => c.id)).toEqual([2, 10, 'a', 'b']);
    expect([3, 'x', 1, 'b'].sort(compareIds)).toEqual([1, 3, 'b', 'x']);
  });

  it('gives the same candidates as a naive merge on seeded data through ExactIndex', async () => {
    const dim = 16;
    const random = seededRandom(77);
    const n = 2000;
    const items = randomMatrix(random, n, dim);
    const ids = Array.from({ length: n }, (_, j) => j);
    const index = new ExactIndex({ dim, metric: 'cos' });
    index.add(ids, items);
    const cache = new AnchorCache(index);
    const anchors: Anchor[] = [5, 500, 1500].map((j, a) => ({
      itemId: j,
      vector: items.slice(j * dim, (j + 1) * dim),
      importance: 3 - a,
    }));
    const exclude = new Set(ids.filter((j) => j % 7 === 0));
    const got = await cache.retrieve(anchors, 40, { exclude });
    // Naive: each anchor's exact top 40, filtered, merged by best score.
    const best = new Map<ItemId, { score: number; by: ItemId[] }>();
    for (const a of anchors) {
      for (const hit of naiveTopK(naiveScores(a.vector, items, dim, 'cos'), ids, 40)) {
        if (exclude.has(hit.id as number) || anchors.some((x) => x.itemId === hit.id)) continue;
        const seen = best.get(hit.id);
        if (!seen) best.set(hit.id, { score: hit.score, by: [a.itemId] });
        else {
          seen.by.push(a.itemId);
          seen.score = Math.max(seen.score, hit.score);
        }
      }
    }
    expect(got.map((c) => c.id).sort(compareIds)).toEqual([...best.keys()].sort(compareIds));
    for (const c of got) {
      expect(c.score).toBeCloseTo(best.get(c.id)!.score, 5);
      expect(c.anchors.map((m) => m.anchorId).sort(compareIds)).toEqual(best.get(c.id)!.by.sort(compareIds));
    }
    for (let i = 1; i < got.length; i++) expect(got[i]!.score).toBeLessThanOrEqual(got[i - 1]!.score);
    // The second call for the same anchors is served from the cache.
    const again = await cache.retrieve(anchors, 40, { exclude });
    expect(again).toEqual(got);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 3 });
  });
});

describe('AnchorCache rejects bad input with an error naming the argument', () => {
  const cache = new AnchorCache(lineIndex());
  const cases: Array<[label: string, call: () => Promise<unknown>, argument: string]> = [
    ['anchors not an array', () => cache.retrieve('a' as never, 3), 'anchors'],
    ['anchor null', () => cache.retrieve([null] as never, 3), 'anchors[0]'],
    ['anchor id missing', () => cache.retrieve([{ vector: Float32Array.of(1, 0), importance: 1 }] as never, 3), 'anchors[0].itemId'],
    ['vector of the wrong dim', () => cache.retrieve([anchor('a', 1), { itemId: 'b', vector: Float32Array.of(1), importance: 1 }], 3), 'anchors[1].vector'],
    ['NaN in a vector', () => cache.retrieve([anchor('a', Number.NaN)], 3), 'anchors[0].vector'],
    ['negative importance', () => cache.retrieve([anchor('a', 1, -1)], 3), 'anchors[0].importance'],
    ['NaN importance', () => cache.retrieve([anchor('a', 1, Number.NaN)], 3), 'anchors[0].importance'],
    ['the same anchor twice', () => cache.retrieve([anchor('a', 1), anchor('a', 1)], 3), 'anchors[1].itemId'],
    ['kPerAnchor = 0', () => cache.retrieve([anchor('a', 1)], 0), 'kPerAnchor'],
    ['kPerAnchor fractional', () => cache.retrieve([anchor('a', 1)], 2.5), 'kPerAnchor'],
    ['exclude a string', () => cache.retrieve([anchor('a', 1)], 2, { exclude: 'a' as never }), 'options.exclude'],
    ['k = -1 in neighbours', () => cache.neighbours([anchor('a', 1)], -1), 'k'],
  ];
  it.each(cases)('%s', async (_label, call, argument) => {
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('rejects bad options at construction', () => {
    expect(() => new AnchorCache({} as never)).toThrow(InvalidArgumentError);
    expect(() => new AnchorCache(lineIndex(), { maxEntries: 0 })).toThrow(/options\.maxEntries/);
    expect(() => new AnchorCache(lineIndex(), { ttlMs: 0 })).toThrow(/options\.ttlMs/);
    expect(() => new AnchorCache(lineIndex(), { now: 5 as never })).toThrow(/options\.now/);
  });
});
