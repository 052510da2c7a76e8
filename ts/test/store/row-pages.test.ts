import { describe, expect, it } from 'vitest';

import { native } from '../../src/native/binding.js';
import { RowPages } from '../../src/store/row-pages.js';
import { seededRandom } from '../reference/random.js';

/** The gather spelled out: row slots[i] (page s / pageRows, row s % pageRows) split among the targets. */
function gatherReference(pages: Float32Array[], width: number, slots: Int32Array, targets: Float32Array[]): void {
  const pageRows = pages[0]!.length / width;
  const part = width / targets.length;
  slots.forEach((s, i) => {
    if (s < 0) return;
    const page = pages[Math.floor(s / pageRows)]!;
    const row = (s % pageRows) * width;
    targets.forEach((t, p) => {
      for (let k = 0; k < part; k++) t[i * part + k] = page[row + p * part + k]!;
    });
  });
}

describe('gatherRows (native)', () => {
  it('copies each slot’s row into its targets like the reference, on seeded stores, skipping negative slots', () => {
    for (const seed of [1, 2, 3, 4]) {
      const random = seededRandom(seed);
      const parts = 1 + (seed % 3);
      const width = parts * (1 + Math.floor(random() * 40));
      const pageRows = 1 + Math.floor(random() * 9);
      const pages = Array.from({ length: 1 + Math.floor(random() * 4) }, () => Float32Array.from({ length: pageRows * width }, () => random() * 2 - 1));
      const stored = pages.length * pageRows;
      // Repeats, both ends of the store, and misses (−1 and another negative).
      const slots = Int32Array.from({ length: 50 }, (_, i) => (i % 7 === 3 ? -1 - (i % 2) : i === 0 ? stored - 1 : Math.floor(random() * stored)));
      const make = () => Array.from({ length: parts }, () => Float32Array.from({ length: slots.length * (width / parts) }, (_, k) => 1000 + k));
      const got = make();
      const want = make();
      native().gatherRows(pages, width, slots, got);
      gatherReference(pages, width, slots, want);
      got.forEach((t, p) => expect(Array.from(t), `seed ${seed}, target ${p}`).toEqual(Array.from(want[p]!)));
    }
  });

  it('rejects bad calls by name and copies nothing', () => {
    const pages = [new Float32Array(8), new Float32Array(8)]; // 2 pages of 2 rows of width 4
    const target = new Float32Array(4).fill(7);
    const call = (p: unknown, w: unknown, s: unknown, t: unknown) => () => native().gatherRows(p as Float32Array[], w as number, s as Int32Array, t as Float32Array[]);
    expect(call(pages, 4, Int32Array.of(-1, 4), [new Float32Array(8)])).toThrow(/slots\[1\] = 4 is past the 4 stored rows/);
    expect(call([], 4, Int32Array.of(0), [target])).toThrow(/slots\[0\] = 0 is past the 0 stored rows/);
    expect(call(pages, 4, Int32Array.of(0, 1), [target])).toThrow(/targets\[0\] must hold at least 2 rows of 4 floats/);
    expect(call(pages, 4, Int32Array.of(0), [target, target, target])).toThrow(/does not split into 3 targets/);
    expect(call([new Float32Array(8), new Float32Array(4)], 4, Int32Array.of(0), [target])).toThrow(/same whole number of rows/);
    expect(call([new Float64Array(8)], 4, Int32Array.of(0), [target])).toThrow(/pages\[0\] must be a Float32Array/);
    expect(call(pages, 4, new Uint32Array(1), [target])).toThrow(/slots must be an Int32Array/);
    expect(call(pages, 2.5, Int32Array.of(0), [target])).toThrow(/width must be an integer/);
    expect(call(pages, 4, Int32Array.of(0), [])).toThrow(/targets must be a non-empty array/);
    expect(call(pages, 4, Int32Array.of(-1), [pages[1]!.subarray(2, 6)])).toThrow(/targets\[0\] must not overlap the pages/);
    expect(Array.from(target)).toEqual([7, 7, 7, 7]);
  });
});

describe('RowPages', () => {
  it('keeps rows across pages and gathers them back in halves', () => {
    const width = 6;
    const rows = new RowPages(width);
    const slots = [0, 1, 4_095, 4_096, 9_000];
    const rowOf = (s: number) => Float32Array.from({ length: width }, (_, k) => s + k / 10);
    for (const s of slots) {
      rows.write(s, rowOf(s).subarray(0, 3));
      rows.write(s, rowOf(s).subarray(3), 3);
    }
    expect(rows.capacity).toBe(3 * 4_096);
    expect(Array.from(rows.view(9_000, 3, 3))).toEqual(Array.from(rowOf(9_000).subarray(3)));
    const asked = Int32Array.of(9_000, -1, 4_096, 0, 4_095);
    const first = new Float32Array(asked.length * 3);
    const second = new Float32Array(asked.length * 3);
    rows.gather(asked, [first, second]);
    asked.forEach((s, i) => {
      const want = s < 0 ? new Float32Array(width) : rowOf(s);
      expect(Array.from(first.subarray(i * 3, i * 3 + 3)), `row ${i}`).toEqual(Array.from(want.subarray(0, 3)));
      expect(Array.from(second.subarray(i * 3, i * 3 + 3)), `row ${i}`).toEqual(Array.from(want.subarray(3)));
    });
    rows.clear();
    expect(rows.capacity).toBe(0);
    expect(() => rows.gather(Int32Array.of(0), [new Float32Array(width)])).toThrow(RangeError);
  });
});
