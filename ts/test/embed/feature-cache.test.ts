import { describe, expect, it } from 'vitest';

import { FeatureCache } from '../../src/embed/feature-cache.js';
import type { UserSideInfo } from '../../src/embed/side-info.js';

const DIM = 4;

/** Distinct tuples: user k's accountAgeDays is k. */
const side = (k: number): UserSideInfo => ({
  country: k % 5,
  language: k % 3,
  gender: k % 2,
  wants: 1 + (k % 3),
  ageBucket: k % 7,
  deviceLanguage: k % 4,
  accountAgeDays: k,
  recentReports: 0,
});

/** Rows that say whose they are: user k's user row is k, k+0.25, …; its peer row the negatives. */
function rowsOf(ks: number[]) {
  const user = new Float32Array(ks.length * DIM);
  const peer = new Float32Array(ks.length * DIM);
  ks.forEach((k, r) => {
    for (let t = 0; t < DIM; t++) {
      user[r * DIM + t] = k + t / 4;
      peer[r * DIM + t] = -(k + t / 4);
    }
  });
  return { user, peer };
}

describe('FeatureCache', () => {
  it('gives back each stored row across its pages, and drops the least recently used tenth past the bound', () => {
    // 9,000 entries fill more than two of the cache's 4,096-entry pages.
    const cache = new FeatureCache(10_000, DIM);
    const first = Array.from({ length: 9_000 }, (_, k) => k);
    cache.store(first.map(side), rowsOf(first));
    const asked = [8_999, 0, 4_095, 4_096, 17, 8_192];
    const user = new Float32Array(asked.length * DIM);
    const peer = new Float32Array(asked.length * DIM);
    expect(cache.fill(asked.map(side), user, peer)).toEqual([]);
    expect(Array.from(user)).toEqual(Array.from(rowsOf(asked).user));
    expect(Array.from(peer)).toEqual(Array.from(rowsOf(asked).peer));
    expect(cache.fill([side(9_000)], user, peer), 'never stored').toEqual([0]);
    // Touch 0..999 again, then store 2,000 more: 11,000 > 10,000, so the 2,000 least recently used
    // go (down to 9,000), all from 1,000..8,999, and the touched ones stay.
    const touched = first.slice(0, 1_000);
    cache.fill(touched.map(side), new Float32Array(1_000 * DIM), new Float32Array(1_000 * DIM));
    const more = Array.from({ length: 2_000 }, (_, k) => 9_000 + k);
    cache.store(more.map(side), rowsOf(more));
    expect(cache.metrics()).toMatchObject({ size: 9_000, evictions: 2_000 });
    const all = [...touched, ...more];
    const back = { user: new Float32Array(all.length * DIM), peer: new Float32Array(all.length * DIM) };
    expect(cache.fill(all.map(side), back.user, back.peer)).toEqual([]);
    expect(Array.from(back.user)).toEqual(Array.from(rowsOf(all).user));
    // The freed slots were reused for the new rows, and a re-stored tuple overwrites its row.
    cache.store([side(5)], rowsOf([123]));
    const one = { user: new Float32Array(DIM), peer: new Float32Array(DIM) };
    cache.fill([side(5)], one.user, one.peer);
    expect(Array.from(one.user)).toEqual(Array.from(rowsOf([123]).user));
    cache.clear();
    expect(cache.metrics().size).toBe(0);
    expect(cache.fill([side(5)], one.user, one.peer)).toEqual([0]);
  });
});
