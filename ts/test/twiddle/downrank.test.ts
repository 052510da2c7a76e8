import { describe, expect, it } from 'vitest';

import { TwiddlerChain } from '../../src/twiddle/twiddler-chain.js';
import type { RecentAction } from '../../src/twiddle/twiddler.js';
import { seededRandom } from '../reference/random.js';
import { randomList, referenceDownrank, sortedByKeys, type TestCandidate } from '../reference/twiddle-reference.js';

const NOW = 1_700_000_000_000;
const WINDOW = 3_600_000;
const RULES = {
  impression: { threshold: 3, factor: 0.5 },
  click: { threshold: 1, factor: 0.3, windowMs: 600_000 },
};

/** Random actions on `list`'s items (and some unknown ones), inside, at the edge of, outside the window, and in the future. */
function randomActions(random: () => number, list: readonly TestCandidate[], count: number): RecentAction[] {
  const actions: RecentAction[] = [];
  const kinds = ['impression', 'impression', 'impression', 'click', 'share'];
  for (let a = 0; a < count; a++) {
    const itemId = random() < 0.05 ? `unknown-${a}` : list[Math.floor(random() * list.length)]!.itemId;
    const roll = random();
    const at =
      roll < 0.05 ? NOW - WINDOW : roll < 0.1 ? NOW + 1000 : roll < 0.15 ? NOW - WINDOW - 1 : NOW - Math.floor(random() * WINDOW * 1.5);
    actions.push({ itemId, action: kinds[Math.floor(random() * kinds.length)]!, at, dwellMs: 1000 });
  }
  return actions;
}

describe('downrank twiddler', () => {
  const chain = new TwiddlerChain([{ name: 'downrank', params: { windowMs: WINDOW, rules: RULES } }]);

  it('matches the naive reference on seeded random lists', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const list = randomList(random, { n: 1 + Math.floor(random() * 80), levels: 10 });
      const actions = randomActions(random, list, Math.floor(random() * 300));
      const result = chain.run(list, { now: NOW, recentActions: actions });
      const expected = referenceDownrank(list, actions, NOW, WINDOW, RULES);
      const label = `seed ${seed}`;
      expect(result.candidates.map((c) => c.itemId), label).toEqual(sortedByKeys(list, expected.keys));
      result.candidates.forEach((c, p) => expect(result.keys[p], label).toBeCloseTo(expected.keys[list.indexOf(c)]!, 12));
      expect(new Set(result.steps[0]!.moves.map((m) => m.itemId)), label).toEqual(expected.hit);
    }
  });

  it('puts downranked items after the others of their score group, and below every item above their new key', () => {
    for (let seed = 100; seed <= 140; seed++) {
      const random = seededRandom(seed);
      const list = randomList(random, { n: 60, levels: 5 });
      const actions = randomActions(random, list, 200);
      const result = chain.run(list, { now: NOW, recentActions: actions });
      const hit = new Set(result.steps[0]!.moves.map((m) => m.itemId));
      const position = new Map(result.candidates.map((c, p) => [c.itemId, p]));
      const keyOf = new Map(result.candidates.map((c, p) => [c.itemId, result.keys[p]!]));
      const untouched = list.filter((c) => !hit.has(c.itemId));
      for (const d of list.filter((c) => hit.has(c.itemId))) {
        for (const o of untouched) {
          if (o.score === d.score || o.score > keyOf.get(d.itemId)!) {
            expect(position.get(o.itemId)!, `seed ${seed}: ${o.itemId} before downranked ${d.itemId}`).toBeLessThan(position.get(d.itemId)!);
          }
        }
      }
      // Items no rule hit keep the ranker order among themselves.
      const others = result.candidates.filter((c) => !hit.has(c.itemId)).map((c) => c.itemId);
      expect(others, `seed ${seed}`).toEqual(list.filter((c) => !hit.has(c.itemId)).map((c) => c.itemId));
    }
  });

  it('counts the window inclusively, ignores the future, and applies each rule by its own window and threshold', () => {
    const list = ['a', 'b', 'c', 'd', 'e'].map((itemId, i) => ({ itemId, score: 10 - i }));
    const at = (itemId: string, action: string, ago: number): RecentAction => ({ itemId, action, at: NOW - ago });
    const actions = [
      // a: 3 impressions, the oldest exactly at the window's edge → hit.
      at('a', 'impression', WINDOW), at('a', 'impression', 5), at('a', 'impression', 1),
      // b: 3 impressions, one just outside → 2 < 3, no hit.
      at('b', 'impression', WINDOW + 1), at('b', 'impression', 5), at('b', 'impression', 1),
      // c: 2 impressions and one in the future → no hit.
      at('c', 'impression', 5), at('c', 'impression', 1), at('c', 'impression', -10),
      // d: a click 20 minutes ago, outside the click rule's own 10-minute window → no hit.
      at('d', 'click', 1_200_000),
      // e: a click 5 minutes ago → hit.
      at('e', 'click', 300_000),
    ];
    const result = chain.run(list, { now: NOW, recentActions: actions });
    const moves = result.steps[0]!.moves;
    expect(moves.map((m) => m.itemId)).toEqual(['a', 'e']);
    expect(moves[0]).toMatchObject({ keyBefore: 10, keyAfter: 5 });
    expect(moves[1]).toMatchObject({ keyBefore: 6 });
    expect(moves[1]!.keyAfter).toBeCloseTo(6 * 0.3, 12);
    expect(result.candidates.map((c) => c.itemId)).toEqual(['b', 'c', 'd', 'a', 'e']);
  });

  it('multiplies the factors of several matching rules and pushes negative keys further down', () => {
    const list = [{ itemId: 'a', score: -1 }, { itemId: 'b', score: -1.2 }, { itemId: 'c', score: -2 }];
    const actions = [0, 1, 2].map((k) => ({ itemId: 'a', action: 'impression', at: NOW - k }));
    actions.push({ itemId: 'a', action: 'click', at: NOW });
    const result = chain.run(list, { now: NOW, recentActions: actions });
    // factor 0.5 × 0.3 = 0.15: the key loses 85% of its magnitude, -1 → -1.85.
    expect(result.steps[0]!.moves[0]!.keyAfter).toBeCloseTo(-1.85, 12);
    expect(result.candidates.map((c) => c.itemId)).toEqual(['b', 'a', 'c']);
  });

  it('skips itself and says so when the action log is unavailable, and does nothing with no actions', () => {
    const list = randomList(seededRandom(7), { n: 20 });
    const degraded = chain.run(list, { now: NOW });
    expect(degraded.steps[0]!.skipped).toBe('recent actions unavailable (action log degraded)');
    expect(degraded.candidates).toEqual(list);
    const none = chain.run(list, { now: NOW, recentActions: [] });
    expect(none.steps[0]!.skipped).toBeUndefined();
    expect(none.steps[0]!.moves).toEqual([]);
    expect(none.candidates).toEqual(list);
  });
});
