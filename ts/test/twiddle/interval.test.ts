import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../src/core/errors.js';
import { TwiddlerChain } from '../../src/twiddle/twiddler-chain.js';
import { seededRandom } from '../reference/random.js';
import {
  fitsAfter,
  gapFeasible,
  gapViolations,
  randomList,
  referenceInterval,
  type TestCandidate,
} from '../reference/twiddle-reference.js';

const KEY_SETS: string[][] = [['category'], ['category', 'author'], ['author']];

function intervalChain(keys: readonly string[], minGap: number, lookahead = false): TwiddlerChain {
  return new TwiddlerChain([{ name: 'interval', params: { keys, minGap, lookahead } }]);
}

function ids(list: readonly TestCandidate[]): string[] {
  return list.map((c) => c.itemId);
}

describe('interval twiddler', () => {
  it('matches the naive greedy reference on seeded random lists', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const random = seededRandom(seed);
      const keys = KEY_SETS[seed % KEY_SETS.length]!;
      const minGap = 1 + Math.floor(random() * 5);
      const list = randomList(random, {
        n: Math.floor(random() * 70),
        categories: 1 + Math.floor(random() * 6),
        authors: 1 + Math.floor(random() * 8),
        missingRate: random() * 0.3,
        sorted: random() < 0.7,
      });
      for (const lookahead of [false, true]) {
        const result = intervalChain(keys, minGap, lookahead).run(list);
        const label = `seed ${seed}, keys ${keys.join('+')}, minGap ${minGap}, n ${list.length}, lookahead ${lookahead}`;
        expect(ids(result.candidates), label).toEqual(ids(referenceInterval(list, keys, minGap, lookahead)));
        // The keys travel with their items (the interval twiddler changes no key).
        result.candidates.forEach((c, p) => expect(result.keys[p], label).toBe(c.score));
      }
    }
  });

  it('with readPositions, arranges only the positions read and keeps the rest in incoming order', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(1000 + seed);
      const keys = KEY_SETS[seed % KEY_SETS.length]!;
      const minGap = 2 + Math.floor(random() * 4);
      const list = randomList(random, { n: 5 + Math.floor(random() * 60), categories: 1 + Math.floor(random() * 5), authors: 1 + Math.floor(random() * 6), missingRate: 0.1, sorted: true });
      const read = Math.floor(random() * list.length);
      const full = ids(intervalChain(keys, minGap).run(list).candidates);
      const cut = ids(intervalChain(keys, minGap).run(list, { readPositions: read }).candidates);
      const label = `seed ${seed}, n ${list.length}, read ${read}`;
      expect(cut.slice(0, read), label).toEqual(full.slice(0, read));
      const placed = new Set(cut.slice(0, read));
      expect(cut.slice(read), label).toEqual(ids(list).filter((id) => !placed.has(id)));
      // Not the last twiddler (a skipping one follows): the whole list is arranged.
      const chain = new TwiddlerChain([
        { name: 'interval', params: { keys, minGap } },
        { name: 'false-positive', params: { threshold: 0.9, strength: 0.5 } },
      ]);
      expect(ids(chain.run(list, { readPositions: read }).candidates), label).toEqual(full);
    }
    expect(() => intervalChain(['category'], 2).run([], { readPositions: -1 })).toThrow(InvalidArgumentError);
  });

  it('matches the reference on crowded lists: one dominant value, a single value, long tails', () => {
    const patterns: Array<[string, (i: number, random: () => number) => { category?: string; author?: string }]> = [
      ['one category', () => ({ category: 'c0' })],
      ['90% one category', (i) => ({ category: i % 10 === 3 ? `c${i}` : 'c0', author: `a${i % 7}` })],
      ['dominant category, distinct authors', (i, random) => ({ category: random() < 0.8 ? 'c0' : 'c1', author: `a${i}` })],
      ['two alternating blocks', (i) => ({ category: i < 150 ? 'c0' : 'c1', author: `a${i % 3}` })],
      ['mostly missing', (i, random) => (random() < 0.7 ? {} : { category: `c${i % 2}`, author: `a${i % 2}` })],
    ];
    for (const [name, make] of patterns) {
      const random = seededRandom(name.length);
      const list: TestCandidate[] = Array.from({ length: 300 }, (_, i) => ({ itemId: `i${i}`, score: 1 - i / 300, ...make(i, random) }));
      for (const keys of [['category'], ['category', 'author']]) {
        for (const minGap of [2, 4, 7]) {
          for (const lookahead of [false, true]) {
            const out = intervalChain(keys, minGap, lookahead).run(list);
            const label = `${name}, keys ${keys.join('+')}, minGap ${minGap}, lookahead ${lookahead}`;
            expect(ids(out.candidates), label).toEqual(ids(referenceInterval(list, keys, minGap, lookahead)));
            const explained = new Set(out.steps[0]!.moves.map((m) => m.itemId));
            out.candidates.forEach((c, p) => {
              if (list.indexOf(c) !== p) expect(explained.has(c.itemId), `${label}: ${c.itemId} moved unexplained`).toBe(true);
            });
          }
        }
      }
    }
  });

  it('keeps the gap at every position where some remaining item could keep it', () => {
    for (let seed = 200; seed <= 300; seed++) {
      const random = seededRandom(seed);
      const keys = KEY_SETS[seed % KEY_SETS.length]!;
      const minGap = 2 + Math.floor(random() * 3);
      const list = randomList(random, { n: 40, categories: 2 + Math.floor(random() * 4), authors: 3 });
      for (const lookahead of [false, true]) {
        const out = intervalChain(keys, minGap, lookahead).run(list).candidates;
        for (let p = 0; p < out.length; p++) {
          const prefix = out.slice(0, p);
          if (fitsAfter(prefix, out[p]!, keys, minGap)) continue;
          // A broken gap at p: brute force over every item still remaining there.
          const anyFits = out.slice(p).some((item) => fitsAfter(prefix, item, keys, minGap));
          expect(anyFits, `seed ${seed}, lookahead ${lookahead}: position ${p} broke a gap although an item fitted`).toBe(false);
        }
      }
    }
  });

  it('keeps every gap on small lists as often as pinned, against an exhaustive search', () => {
    // Greedy (as specified) is a heuristic: it can miss an arrangement that keeps every gap. Here
    // it is compared with an exhaustive search on small, crowded lists (2-7 items, 2-3 categories,
    // 3 authors, minGap 2-3) and the share of feasible lists it misses is pinned per mode (the
    // message gives the measured figure), so a regression shows.
    const limits: Array<[string[], boolean, number]> = [
      [['category'], false, 0.3],
      [['category'], true, 0.01],
      [['category', 'author'], false, 0.4],
      [['category', 'author'], true, 0.2],
    ];
    for (const [keys, lookahead, limit] of limits) {
      let feasible = 0;
      let missed = 0;
      for (let seed = 1; seed <= 800; seed++) {
        const random = seededRandom(seed * 7919);
        const minGap = 2 + Math.floor(random() * 2);
        const list = randomList(random, { n: 2 + Math.floor(random() * 6), categories: 2 + Math.floor(random() * 2), authors: 3, missingRate: 0 });
        const out = intervalChain(keys, minGap, lookahead).run(list).candidates;
        const label = `seed ${seed}, keys ${keys.join('+')}, lookahead ${lookahead}`;
        const broken = gapViolations(out, keys, minGap);
        const possible = gapFeasible(list, keys, minGap);
        if (!possible) expect(broken, `${label}: no arrangement exists, yet every gap kept?`).toBeGreaterThan(0);
        if (possible) feasible++;
        if (possible && broken > 0) missed++;
        // A list that already keeps every gap is left exactly as it is.
        if (gapViolations(list, keys, minGap) === 0) expect(ids(out), label).toEqual(ids(list));
      }
      expect(feasible).toBeGreaterThan(100);
      const rate = missed / feasible;
      const summary = `keys ${keys.join('+')}, lookahead ${lookahead}: missed ${missed} of ${feasible} feasible lists (${(rate * 100).toFixed(1)}%)`;
      expect(rate, summary).toBeLessThan(limit);
      console.log(`interval vs exhaustive search — ${summary}`);
    }
  });

  it('keeps the ranker order among items it treats alike, and never blocks on missing values', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const keys = KEY_SETS[seed % KEY_SETS.length]!;
      const list = randomList(random, { n: 50, categories: 3, authors: 3, missingRate: 0.3 });
      const out = intervalChain(keys, 3).run(list).candidates;
      const signature = (c: TestCandidate) => keys.map((k) => String((c as unknown as Record<string, unknown>)[k])).join('|');
      const groups = new Map<string, string[]>();
      for (const c of list) groups.set(signature(c), [...(groups.get(signature(c)) ?? []), c.itemId]);
      for (const [sig, members] of groups) {
        expect(ids(out).filter((id) => members.includes(id)), `seed ${seed}, group ${sig}`).toEqual(members);
      }
    }
    // Items with no category at all never move.
    const bare = Array.from({ length: 10 }, (_, i) => ({ itemId: `b${i}`, score: 1 }));
    expect(ids(intervalChain(['category'], 4).run(bare).candidates)).toEqual(ids(bare));
  });

  it('separates a concrete feed as documented, and explains every item whose position changed', () => {
    const feed: TestCandidate[] = [
      { itemId: 'n1', score: 0.9, category: 'news' },
      { itemId: 'n2', score: 0.8, category: 'news' },
      { itemId: 'n3', score: 0.7, category: 'news' },
      { itemId: 's1', score: 0.6, category: 'sport' },
      { itemId: 'm1', score: 0.5, category: 'music' },
      { itemId: 'n4', score: 0.4, category: 'news' },
    ];
    const result = intervalChain(['category'], 3).run(feed);
    // n1 | n2, n3 blocked → s1 | m1 | n2 (3 after n1) | n3 blocked, n4 blocked → forced n3.
    expect(ids(result.candidates)).toEqual(['n1', 's1', 'm1', 'n2', 'n3', 'n4']);
    const moves = result.steps[0]!.moves;
    const movedIds = moves.map((m) => m.itemId);
    for (const [p, c] of result.candidates.entries()) {
      if (feed.indexOf(c) !== p) expect(movedIds, `${c.itemId} moved without a reason`).toContain(c.itemId);
    }
    expect(moves.find((m) => m.itemId === 's1')).toMatchObject({ from: 3, to: 1 });
    expect(moves.find((m) => m.itemId === 'n2')!.reason).toMatch(/category=news within 3/);
    expect(moves.find((m) => m.itemId === 'n3')!.reason).toMatch(/gap broken/);

    for (let seed = 1; seed <= 40; seed++) {
      const list = randomList(seededRandom(seed), { n: 40, categories: 3 });
      const out = intervalChain(['category', 'author'], 3).run(list);
      const explained = new Set(out.steps[0]!.moves.map((m) => m.itemId));
      out.candidates.forEach((c, p) => {
        if (list.indexOf(c) !== p) expect(explained.has(c.itemId), `seed ${seed}: ${c.itemId}`).toBe(true);
      });
    }
  });

  it('rejects an interval key whose value is not a string, number or boolean', () => {
    const list = [{ itemId: 'a', score: 1, category: 'x' }, { itemId: 'b', score: 0, category: { nested: true } }];
    let caught: unknown;
    try {
      intervalChain(['category'], 2).run(list as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).argument).toBe('candidates[1].category');
  });
});
