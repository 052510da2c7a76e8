import { describe, expect, expectTypeOf, it } from 'vitest';

import { InvalidArgumentError, UnknownTwiddlerError } from '../../src/core/errors.js';
import type { LoggedAction } from '../../src/store/action-log.js';
import { explainItem, TwiddlerChain } from '../../src/twiddle/twiddler-chain.js';
import {
  registerTwiddler,
  TwiddlerRegistry,
  type RankedCandidate,
  type RecentAction,
  type TwiddleStep,
  type TwiddleView,
  type Twiddler,
  type TwiddlerFactory,
} from '../../src/twiddle/twiddler.js';
import { expectInvalid } from '../expect-invalid.js';
import { seededRandom } from '../reference/random.js';
import {
  randomList,
  referenceDownrank,
  referenceFalsePositive,
  referenceInterval,
  sortedByKeys,
} from '../reference/twiddle-reference.js';

const DOWNRANK = { name: 'downrank', params: { windowMs: 1000, rules: { impression: { threshold: 2, factor: 0.5 } } } };
const INTERVAL = { name: 'interval', params: { keys: ['category'], minGap: 2 } };
const FALSE_POSITIVE = { name: 'false-positive', params: { threshold: 0.9, strength: 0.5 } };

/** A twiddler whose answer a test decides. */
function fixed(step: (view: TwiddleView) => TwiddleStep): Twiddler {
  return { apply: (view) => step(view) };
}

/** A registry with the built-ins and `fixed` twiddlers registered under the given names. */
function registryWith(extra: Record<string, TwiddlerFactory>): TwiddlerRegistry {
  const registry = new TwiddlerRegistry();
  for (const [name, factory] of Object.entries(extra)) registry.register(name, factory);
  return registry;
}

function ids(list: readonly RankedCandidate[]): string[] {
  return list.map((c) => c.itemId);
}

describe('TwiddlerChain', () => {
  it('returns the ranker order untouched with an empty chain, even when scores are not sorted', () => {
    for (const seed of [1, 2, 3]) {
      const list = randomList(seededRandom(seed), { n: 50, sorted: false });
      const result = new TwiddlerChain([]).run(list, { recentActions: [] });
      expect(ids(result.candidates), `seed ${seed}`).toEqual(ids(list));
      expect(Array.from(result.order)).toEqual(list.map((_, i) => i));
      expect(Array.from(result.keys)).toEqual(list.map((c) => c.score));
      expect(result.steps).toEqual([]);
    }
    expect(new TwiddlerChain([]).run([]).candidates).toEqual([]);
  });

  it('keeps the ranker order among items the twiddlers treat alike (ties, untouched items)', () => {
    // All scores equal, nothing downranked, no shared categories: nothing may move.
    const list = Array.from({ length: 30 }, (_, i) => ({ itemId: `i${i}`, score: 0.5, category: `c${i}` }));
    const chain = new TwiddlerChain([DOWNRANK, FALSE_POSITIVE, INTERVAL]);
    const result = chain.run(list, { now: 5000, recentActions: [{ itemId: 'i3', action: 'impression', at: 4900 }] });
    expect(ids(result.candidates)).toEqual(ids(list));
    // Two downranked items with the same new key keep their ranker order below the rest.
    const twice = chain.run(list, {
      now: 5000,
      recentActions: ['i4', 'i2', 'i4', 'i2'].map((itemId) => ({ itemId, action: 'impression', at: 4500 })),
    });
    expect(ids(twice.candidates).slice(-2)).toEqual(['i2', 'i4']);
    expect(ids(twice.candidates).slice(0, 28)).toEqual(ids(list).filter((id) => id !== 'i2' && id !== 'i4'));
  });

  it('applies key answers as a stable re-sort when the list is sorted by key', () => {
    // Random promotions and demotions on seeded lists with many ties, against a plain sort.
    // Short lists move items one by one; long ones with many changes take the re-sort path.
    for (let seed = 1; seed <= 300; seed++) {
      const random = seededRandom(seed);
      const list = randomList(random, { n: 1 + Math.floor(random() * (seed % 3 === 0 ? 600 : 60)), levels: 8 });
      const newKeys = list.map((c) => (random() < 0.3 ? Math.floor(random() * 8) / 8 : c.score));
      const registry = registryWith({
        rekey: () => fixed(() => ({ kind: 'keys', keys: Float64Array.from(newKeys), reasons: new Map() })),
      });
      const result = new TwiddlerChain([{ name: 'rekey' }], { registry }).run(list);
      expect(ids(result.candidates), `seed ${seed}`).toEqual(sortedByKeys(list, newKeys));
    }
  });

  it('composes downrank, false-positive and interval like the references applied in turn', () => {
    const windowMs = 1000;
    const rules = { impression: { threshold: 2, factor: 0.5 }, click: { threshold: 1, factor: 0.4 } };
    const chain = new TwiddlerChain([
      { name: 'downrank', params: { windowMs, rules } },
      { name: 'false-positive', params: { threshold: 0.6, strength: 0.7 } },
      { name: 'interval', params: { keys: ['category', 'author'], minGap: 3 } },
    ]);
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const list = randomList(random, { n: 1 + Math.floor(random() * 80), dim: 6, levels: 12 });
      const now = 10_000;
      const recentActions = Array.from({ length: Math.floor(random() * 120) }, () => ({
        itemId: list[Math.floor(random() * list.length)]!.itemId,
        action: random() < 0.7 ? 'impression' : 'click',
        at: now - Math.floor(random() * 1500),
      }));
      const falsePositiveVectors = [0, 1].map(() => Float32Array.from({ length: 6 }, () => random() * 2 - 1));
      const result = chain.run(list, { now, recentActions, falsePositiveVectors });

      // Key twiddlers on a key-sorted list are stable re-sorts; the interval runs on that order.
      const downranked = referenceDownrank(list, recentActions, now, windowMs, rules).keys;
      const demoted = referenceFalsePositive(list.map((c, i) => ({ ...c, score: downranked[i]! })), falsePositiveVectors, 0.6, 0.7).keys;
      const byKey = sortedByKeys(list, demoted).map((id) => list.find((c) => c.itemId === id)!);
      const expected = referenceInterval(byKey, ['category', 'author'], 3);
      expect(ids(result.candidates), `seed ${seed}`).toEqual(ids(expected));
      expect(result.steps.map((step) => step.label)).toEqual(['downrank', 'false-positive', 'interval']);
    }
  });

  it('gives the same list without recording moves (recordMoves: false), and with one memo over growing windows', () => {
    const chain = new TwiddlerChain([
      { name: 'downrank', params: { windowMs: 1000, rules: { impression: { threshold: 2, factor: 0.5 } } } },
      { name: 'false-positive', params: { threshold: 0.5, strength: 0.7 } },
      { name: 'interval', params: { keys: ['category', 'author'], minGap: 3 } },
    ]);
    for (let seed = 1; seed <= 25; seed++) {
      const random = seededRandom(500 + seed);
      const list = randomList(random, { n: 2 + Math.floor(random() * 120), dim: 20, levels: 12 });
      const recentActions = Array.from({ length: 40 }, () => ({ itemId: list[Math.floor(random() * list.length)]!.itemId, action: 'impression', at: 9_500 }));
      const falsePositiveVectors = [0, 1, 2].map(() => Float32Array.from({ length: 20 }, () => random() * 2 - 1));
      const context = { now: 10_000, recentActions, falsePositiveVectors };
      const memo = new WeakMap<object, unknown>();
      // Windows of the list's head, growing as a feed grows them, all with the same memo.
      for (const size of [Math.ceil(list.length / 4), Math.ceil(list.length / 2), list.length]) {
        const window = list.slice(0, size);
        const full = chain.run(window, context);
        const lean = chain.run(window, { ...context, recordMoves: false, memo });
        const label = `seed ${seed}, window ${size}`;
        expect(ids(lean.candidates), label).toEqual(ids(full.candidates));
        expect(Array.from(lean.keys), label).toEqual(Array.from(full.keys));
        expect(Array.from(lean.order), label).toEqual(Array.from(full.order));
        expect(lean.steps.map((step) => [step.label, step.skipped, step.moves.length])).toEqual(full.steps.map((step) => [step.label, step.skipped, 0]));
        expect(full.steps.some((step) => step.moves.length > 0), label).toBe(true);
      }
    }
    expectInvalid(() => new TwiddlerChain([]).run([], { recordMoves: 'no' as never }), 'context.recordMoves');
    expectInvalid(() => new TwiddlerChain([]).run([], { memo: new Map() as never }), 'context.memo');
  });

  it('moves only the items whose key changed when the list is not sorted by key', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed);
      const list = randomList(random, { n: 40, sorted: false });
      const changed = new Set<number>();
      const newKeys = list.map((c, i) => {
        if (random() >= 0.2) return c.score;
        changed.add(i);
        return c.score + (random() - 0.5);
      });
      const registry = registryWith({
        rekey: () => fixed(() => ({ kind: 'keys', keys: Float64Array.from(newKeys), reasons: new Map() })),
      });
      const result = new TwiddlerChain([{ name: 'rekey' }], { registry }).run(list);
      const untouched = ids(list).filter((_, i) => !changed.has(i));
      expect(ids(result.candidates).filter((id) => untouched.includes(id)), `seed ${seed}`).toEqual(untouched);
      // A demoted item passes no untouched item that was above it; a promoted one none that was below it.
      const after = ids(result.candidates);
      for (const i of changed) {
        const id = list[i]!.itemId;
        const demoted = newKeys[i]! < list[i]!.score;
        for (let u = 0; u < list.length; u++) {
          if (changed.has(u) || (demoted ? u > i : u < i)) continue;
          const stillOnItsSide = demoted
            ? after.indexOf(list[u]!.itemId) < after.indexOf(id)
            : after.indexOf(list[u]!.itemId) > after.indexOf(id);
          expect(stillOnItsSide, `seed ${seed}: ${id} passed ${list[u]!.itemId}`).toBe(true);
        }
      }
      // Every key reported matches the item it belongs to.
      result.candidates.forEach((c, p) => expect(result.keys[p]).toBe(newKeys[list.indexOf(c)]));
    }
  });

  it('records each move in explain: positions before and after, keys and the reason', () => {
    const list = ['a', 'b', 'c', 'd'].map((itemId, i) => ({ itemId, score: 4 - i }));
    const registry = registryWith({
      // Sends 'a' (ranker position 0) below 'c' by dropping its key to 1.5.
      sink: () => fixed((view) => {
        const keys = view.keys.slice();
        keys[0] = 1.5;
        return { kind: 'keys', keys, reasons: new Map([[0, 'tested sink']]) };
      }),
      // Swaps the first two of the current order.
      swap: () => fixed((view) => {
        const order = view.order.slice();
        [order[0], order[1]] = [order[1]!, order[0]!];
        return { kind: 'order', order, reasons: new Map([[order[0]!, 'tested swap']]) };
      }),
      idle: () => fixed(() => ({ kind: 'skip', reason: 'nothing to do' })),
    });
    const chain = new TwiddlerChain([{ name: 'sink' }, { name: 'idle' }, { name: 'swap' }], { registry });
    const result = chain.run(list);
    expect(ids(result.candidates)).toEqual(['c', 'b', 'a', 'd']);
    expect(result.steps.map((s) => s.label)).toEqual(['sink', 'idle', 'swap']);
    expect(result.steps[0]!.moves).toEqual([{ itemId: 'a', from: 0, to: 2, keyBefore: 4, keyAfter: 1.5, reason: 'tested sink' }]);
    expect(result.steps[1]).toEqual({ label: 'idle', name: 'idle', skipped: 'nothing to do', moves: [] });
    expect(result.steps[2]!.moves).toEqual([{ itemId: 'c', from: 1, to: 0, keyBefore: 2, keyAfter: 2, reason: 'tested swap' }]);
    expect(explainItem(result, 'a')).toEqual([
      { label: 'sink', name: 'sink', itemId: 'a', from: 0, to: 2, keyBefore: 4, keyAfter: 1.5, reason: 'tested sink' },
    ]);
    expect(explainItem(result, 'd')).toEqual([]);
    expect(Array.from(result.keys)).toEqual([2, 3, 1.5, 1]);
  });

  it('explains downranked items and reports a skipped downrank when the action log is degraded', () => {
    const list = ['a', 'b', 'c'].map((itemId, i) => ({ itemId, score: 3 - i }));
    const chain = new TwiddlerChain([DOWNRANK]);
    const actions = [0, 1, 2].map((k) => ({ itemId: 'a', action: 'impression', at: 900 + k }));
    const ran = chain.run(list, { now: 1000, recentActions: actions });
    expect(ids(ran.candidates)).toEqual(['b', 'a', 'c']);
    const [move] = explainItem(ran, 'a');
    expect(move).toMatchObject({ label: 'downrank', from: 0, to: 1, keyBefore: 3, keyAfter: 1.5 });
    expect(move!.reason).toMatch(/impression ×3 \(≥ 2\)/);
    const degraded = chain.run(list, { now: 1000 });
    expect(ids(degraded.candidates)).toEqual(['a', 'b', 'c']);
    expect(degraded.steps[0]!.skipped).toMatch(/action log/);
  });

  it('lets the request override replace the chain, extend it, or change parameters', () => {
    const list = [
      { itemId: 'a', score: 4, category: 'x' },
      { itemId: 'b', score: 3, category: 'x' },
      { itemId: 'c', score: 2, category: 'y' },
      { itemId: 'd', score: 1, category: 'y' },
    ];
    const actions = [{ itemId: 'a', action: 'impression', at: 10 }, { itemId: 'a', action: 'impression', at: 20 }];
    const chain = new TwiddlerChain([DOWNRANK]);
    const context = { now: 100, recentActions: actions };
    expect(ids(chain.run(list, context).candidates)).toEqual(['b', 'a', 'c', 'd']); // a: 4 → 2, below b (3)
    // Replace: interval only; the downrank is gone.
    const replaced = chain.run(list, { ...context, overrides: { chain: [INTERVAL] } });
    expect(ids(replaced.candidates)).toEqual(['a', 'c', 'b', 'd']);
    expect(replaced.steps.map((s) => s.label)).toEqual(['interval']);
    // Extend: downrank then interval.
    const extended = chain.run(list, { ...context, overrides: { append: [INTERVAL] } });
    expect(ids(extended.candidates)).toEqual(['b', 'c', 'a', 'd']);
    expect(extended.steps.map((s) => s.label)).toEqual(['downrank', 'interval']);
    // Parameters: a harsher factor for this request only.
    const harsher = chain.run(list, { ...context, overrides: { params: { downrank: { rules: { impression: { threshold: 2, factor: 0.1 } } } } } });
    expect(ids(harsher.candidates)).toEqual(['b', 'c', 'd', 'a']); // a: 4 → 0.4
    expect(ids(chain.run(list, context).candidates)).toEqual(['b', 'a', 'c', 'd']); // the configured chain is unchanged
    // Merged params are validated again, and named by the override's path.
    expectInvalid(() => chain.run(list, { ...context, overrides: { params: { downrank: { windowMs: -1 } } } }), 'context.overrides.params.downrank.windowMs');
    expectInvalid(() => chain.run(list, { ...context, overrides: { params: { nope: {} } } }), 'context.overrides.params.nope');
    expectInvalid(() => chain.run(list, { ...context, overrides: { append: [DOWNRANK] } }), 'context.overrides.append[0].label');
    const twice = chain.run(list, { ...context, overrides: { append: [{ ...DOWNRANK, label: 'again' }] } });
    expect(twice.steps.map((s) => s.label)).toEqual(['downrank', 'again']);
  });
});

describe('twiddler context', () => {
  it('takes the action log\'s actions as recent actions as they are', () => {
    expectTypeOf<LoggedAction>().toExtend<RecentAction>();
    const logged: LoggedAction[] = [{ id: '1', userId: 'u', itemId: 'a', action: 'click', at: 5, dwellMs: 800 }];
    const chain = new TwiddlerChain([{ name: 'downrank', params: { windowMs: 10, rules: { click: { threshold: 1, factor: 0.5 } } } }]);
    const result = chain.run([{ itemId: 'a', score: 2 }, { itemId: 'b', score: 1.5 }], { now: 10, recentActions: logged });
    expect(result.candidates.map((c) => c.itemId)).toEqual(['b', 'a']);
  });
});

describe('twiddler registry', () => {
  it('rejects an unknown twiddler name with an error naming it and where it was given', () => {
    let caught: unknown;
    try {
      new TwiddlerChain([DOWNRANK, { name: 'no-such-twiddler' }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnknownTwiddlerError);
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    const error = caught as UnknownTwiddlerError;
    expect(error.twiddler).toBe('no-such-twiddler');
    expect(error.argument).toBe('chain[1].name');
    expect(error.message).toMatch(/no-such-twiddler/);
    expect(error.message).toMatch(/downrank, interval, false-positive/);
    const chain = new TwiddlerChain([]);
    expect(() => chain.run([], { overrides: { chain: [{ name: 'ghost' }] } })).toThrow(UnknownTwiddlerError);
  });

  it('rejects duplicate registration, also of a built-in', () => {
    const registry = new TwiddlerRegistry();
    expectInvalid(() => registry.register('interval', () => fixed(() => ({ kind: 'skip', reason: '' }))), 'name');
    registry.register('mine', () => fixed(() => ({ kind: 'skip', reason: '' })));
    expectInvalid(() => registry.register('mine', () => fixed(() => ({ kind: 'skip', reason: '' }))), 'name');
    expectInvalid(() => registry.register('', () => fixed(() => ({ kind: 'skip', reason: '' }))), 'name');
    expectInvalid(() => registry.register('other', 42 as unknown as TwiddlerFactory), 'factory');
    expect(new TwiddlerRegistry(false).names()).toEqual([]);
  });

  it('runs user twiddlers registered in the default registry by name, with their params', () => {
    // Moves items of one author to the end, keeping their order.
    registerTwiddler('author-last', (params, argument) => {
      const author = (params as { author?: unknown } | undefined)?.author;
      if (typeof author !== 'string') throw new InvalidArgumentError(`${argument}.author`, 'a string', String(author));
      return fixed((view) => {
        const order = Int32Array.from([...view.order].sort((x, y) => {
          const ax = view.candidates[x]!.author === author ? 1 : 0;
          const ay = view.candidates[y]!.author === author ? 1 : 0;
          return ax - ay;
        }));
        return { kind: 'order', order, reasons: new Map() };
      });
    });
    expectInvalid(() => registerTwiddler('author-last', () => fixed(() => ({ kind: 'skip', reason: '' }))), 'name');
    expectInvalid(() => new TwiddlerChain([{ name: 'author-last', params: {} }]), 'chain[0].params.author');
    const list = [
      { itemId: 'a', score: 3, author: 'z' },
      { itemId: 'b', score: 2, author: 'y' },
      { itemId: 'c', score: 1, author: 'z' },
      { itemId: 'd', score: 0, author: 'x' },
    ];
    const chain = new TwiddlerChain([{ name: 'author-last', params: { author: 'z' } }]);
    expect(ids(chain.run(list).candidates)).toEqual(['b', 'd', 'a', 'c']);
  });

  it('names the bad parameter of each built-in', () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'downrank' }, 'chain[0].params'],
      [{ name: 'downrank', params: { rules: { impression: { threshold: 1, factor: 0.5 } } } }, 'chain[0].params.windowMs'],
      [{ name: 'downrank', params: { windowMs: 10, rules: {} } }, 'chain[0].params.rules'],
      [{ name: 'downrank', params: { windowMs: 10, rules: { click: { threshold: 0, factor: 0.5 } } } }, 'chain[0].params.rules.click.threshold'],
      [{ name: 'downrank', params: { windowMs: 10, rules: { click: { threshold: 1.5, factor: 0.5 } } } }, 'chain[0].params.rules.click.threshold'],
      [{ name: 'downrank', params: { windowMs: 10, rules: { click: { threshold: 1, factor: 1.5 } } } }, 'chain[0].params.rules.click.factor'],
      [{ name: 'downrank', params: { windowMs: 10, rules: { click: { threshold: 1, factor: Number.NaN } } } }, 'chain[0].params.rules.click.factor'],
      [{ name: 'downrank', params: { windowMs: 10, rules: { click: { threshold: 1, factor: 0.5, windowMs: 0 } } } }, 'chain[0].params.rules.click.windowMs'],
      [{ name: 'interval', params: { keys: [], minGap: 2 } }, 'chain[0].params.keys'],
      [{ name: 'interval', params: { keys: ['category', ''], minGap: 2 } }, 'chain[0].params.keys[1]'],
      [{ name: 'interval', params: { keys: ['category', 'category'], minGap: 2 } }, 'chain[0].params.keys[1]'],
      [{ name: 'interval', params: { keys: ['category'], minGap: 0 } }, 'chain[0].params.minGap'],
      [{ name: 'interval', params: { keys: ['category'], minGap: 2.5 } }, 'chain[0].params.minGap'],
      [{ name: 'false-positive', params: { threshold: 1.1, strength: 0.5 } }, 'chain[0].params.threshold'],
      [{ name: 'false-positive', params: { threshold: 0.5, strength: -0.1 } }, 'chain[0].params.strength'],
      [{ name: 'false-positive', params: { threshold: 0.5 } }, 'chain[0].params.strength'],
      [{ params: {} }, 'chain[0].name'],
      [{ name: 'interval', label: '', params: { keys: ['category'], minGap: 2 } }, 'chain[0].label'],
      [7, 'chain[0]'],
    ];
    for (const [spec, argument] of cases) {
      expectInvalid(() => new TwiddlerChain([spec as never]), argument);
    }
    expectInvalid(() => new TwiddlerChain([INTERVAL, INTERVAL]), 'chain[1].label');
    expect(new TwiddlerChain([INTERVAL, { ...INTERVAL, label: 'author-gap' }]).labels).toEqual(['interval', 'author-gap']);
  });

  it('rejects bad candidates, a bad context and a twiddler that answers nonsense', () => {
    const chain = new TwiddlerChain([DOWNRANK]);
    expectInvalid(() => chain.run('x' as never), 'candidates');
    expectInvalid(() => chain.run([{ itemId: 'a', score: 1 }, { itemId: 'a', score: 0 }]), 'candidates[1].itemId');
    expectInvalid(() => chain.run([{ itemId: 'a', score: Number.NaN }]), 'candidates[0].score');
    expectInvalid(() => chain.run([{ itemId: 7, score: 1 } as never]), 'candidates[0].itemId');
    expectInvalid(() => chain.run([], { now: Number.NaN }), 'context.now');
    expectInvalid(() => chain.run([], { recentActions: 'x' as never }), 'context.recentActions');
    expectInvalid(
      () => chain.run([], { recentActions: [{ itemId: 'a', action: 'click', at: 1 }, { itemId: 'a', action: 'click', at: Number.NaN }] }),
      'context.recentActions[1].at',
    );
    expectInvalid(() => chain.run([], { overrides: [] as never }), 'context.overrides');
    expectInvalid(() => chain.run([], { falsePositiveVectors: new Float32Array(2) as never }), 'context.falsePositiveVectors');

    const list = [{ itemId: 'a', score: 1 }, { itemId: 'b', score: 0 }];
    const registry = registryWith({
      notPermutation: () => fixed(() => ({ kind: 'order', order: Int32Array.of(0, 0), reasons: new Map() })),
      nanKeys: () => fixed(() => ({ kind: 'keys', keys: Float64Array.of(1, Number.NaN), reasons: new Map() })),
      shortKeys: () => fixed(() => ({ kind: 'keys', keys: Float64Array.of(1), reasons: new Map() })),
      badReason: () => fixed(() => ({ kind: 'keys', keys: Float64Array.of(1, 0), reasons: new Map([[5, 'x']]) })),
    });
    expectInvalid(() => new TwiddlerChain([{ name: 'notPermutation' }], { registry }).run(list), "twiddler 'notPermutation' result.order");
    expectInvalid(() => new TwiddlerChain([{ name: 'nanKeys' }], { registry }).run(list), "twiddler 'nanKeys' result.keys");
    expectInvalid(() => new TwiddlerChain([{ name: 'shortKeys' }], { registry }).run(list), "twiddler 'shortKeys' result.keys");
    expectInvalid(() => new TwiddlerChain([{ name: 'badReason' }], { registry }).run(list), "twiddler 'badReason' result.reasons");
  });
});
