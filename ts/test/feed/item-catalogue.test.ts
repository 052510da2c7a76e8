import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../src/core/errors.js';
import { AnchorMemo } from '../../src/feed/anchor-memo.js';
import { ItemCatalogue } from '../../src/feed/item-catalogue.js';
import { seededRandom } from '../reference/random.js';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('ItemCatalogue', () => {
  it('stores copies of the items, with category and author as strings', () => {
    const catalogue = new ItemCatalogue({ dim: 2 });
    const vector = v(1, 2);
    catalogue.add([{ id: 7, category: 3, author: 'a', vector }, { id: 'x', category: 'c', author: 9, vector: v(0, 1) }]);
    vector[0] = 99;
    expect(catalogue.size).toBe(2);
    expect(catalogue.get(7)).toMatchObject({ id: 7, key: '7', category: '3', author: 'a' });
    expect(Array.from(catalogue.get(7)!.vector)).toEqual([1, 2]);
    expect(catalogue.get('7')).toBeUndefined();
    expect(catalogue.has('x')).toBe(true);
  });

  it('adds all or nothing, and names the bad item', () => {
    const catalogue = new ItemCatalogue({ dim: 2 });
    catalogue.add([{ id: 1, category: 'c', author: 'a', vector: v(1, 1) }]);
    const cases: Array<[unknown[], string]> = [
      [[{ id: 2, category: 'c', author: 'a', vector: v(1, 1) }, { id: '1', category: 'c', author: 'a', vector: v(1, 1) }], 'items[1].id'],
      [[{ id: 3, category: 'c', author: 'a', vector: v(1, Number.NaN) }], 'items[0].vector'],
      [[{ id: 3, category: 'c', author: 'a', vector: v(1) }], 'items[0].vector'],
      [[{ id: 3, category: null, author: 'a', vector: v(1, 1) }], 'items[0].category'],
      [[{ id: 3, category: 'c', author: Number.POSITIVE_INFINITY, vector: v(1, 1) }], 'items[0].author'],
      [[{ id: {}, category: 'c', author: 'a', vector: v(1, 1) }], 'items[0].id'],
      [[5], 'items[0]'],
    ];
    for (const [items, argument] of cases) {
      let error: unknown;
      try {
        catalogue.add(items as never);
      } catch (e) {
        error = e;
      }
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
    expect(catalogue.size).toBe(1);
    expect(catalogue.has(2)).toBe(false);
    expect(() => new ItemCatalogue({ dim: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('AnchorMemo', () => {
  it('fingerprints equal histories alike and tells apart one-field changes (order, time, id type, id split)', () => {
    const random = seededRandom(11);
    const base = Array.from({ length: 300 }, (_, i) => ({ id: i % 3 === 0 ? `item-${i}` : i * 7, at: 1_700_000_000_000 + Math.floor(random() * 1e9) }));
    const fp = AnchorMemo.fingerprint(base);
    expect(AnchorMemo.fingerprint(base.map((r) => ({ ...r })))).toBe(fp);
    const variants: Array<Array<{ id: string | number; at: number }>> = [
      base.slice(1),
      [base[1]!, base[0]!, ...base.slice(2)],
      base.map((r, i) => (i === 150 ? { ...r, at: r.at + 1 } : r)),
      base.map((r, i) => (i === 4 ? { ...r, id: String(r.id) } : r)), // 28 → '28'
      base.map((r, i) => (i === 0 ? { ...r, id: 'item-0x' } : r)),
      [{ id: 'ab', at: 1 }, { id: 'c', at: 2 }],
    ];
    const seen = new Set([fp, AnchorMemo.fingerprint([{ id: 'a', at: 1 }, { id: 'bc', at: 2 }])]);
    for (const rows of variants) {
      const other = AnchorMemo.fingerprint(rows);
      expect(seen.has(other), JSON.stringify(rows.slice(0, 3))).toBe(false);
      seen.add(other);
    }
    expect(AnchorMemo.fingerprint([])).toBe(AnchorMemo.fingerprint([]));
  });


  it('hits only for the same fingerprint, rescales importance by exp(−λ·Δdays), and evicts the least recent user', () => {
    const memo = new AnchorMemo(2, 0.5);
    const rows = [
      { id: 1, at: 10 },
      { id: 'a', at: 20 },
    ];
    const fp = AnchorMemo.fingerprint(rows);
    expect(AnchorMemo.fingerprint([{ id: '1', at: 10 }, { id: 'a', at: 20 }])).not.toBe(fp);
    expect(AnchorMemo.fingerprint([...rows, { id: 2, at: 30 }])).not.toBe(fp);
    const vector = v(1, 0);
    memo.set('u1', fp, 1000, [{ itemId: 1, vector, importance: 2 }]);
    expect(memo.get('u1', 'other', 1000)).toBeUndefined();
    const later = memo.get('u1', fp, 1000 + 2 * 86_400_000)!;
    expect(later[0]!.importance).toBeCloseTo(2 * Math.exp(-0.5 * 2), 12);
    expect(later[0]!.vector).toBe(vector);
    memo.set('u2', 'f2', 0, []);
    memo.get('u1', fp, 1000); // u1 is now the most recent
    memo.set('u3', 'f3', 0, []);
    expect(memo.size).toBe(2);
    expect(memo.get('u2', 'f2', 0)).toBeUndefined();
    expect(memo.get('u1', fp, 1000)).toBeDefined();
  });
});
