/**
 * One behaviour suite for every EmbeddingMemory implementation: round trips, missing users,
 * version monotonicity (also under racing writes), ages, batch reads, TTL and argument checks.
 */
import { beforeEach, describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../src/core/errors.js';
import type { EmbeddingMemory } from '../../src/store/embedding-memory.js';
import { seededRandom } from '../reference/random.js';

/** A clock the test moves by hand. */
export class FakeClock {
  time = 1_700_000_000_000;
  readonly now = (): number => this.time;
}

export interface MemoryUnderTest {
  memory: EmbeddingMemory;
  clock: FakeClock;
}

const dim = 8;

function vectors(seed: number): { user: Float32Array; peer: Float32Array } {
  const random = seededRandom(seed);
  return {
    user: Float32Array.from({ length: dim }, () => random() * 2 - 1),
    peer: Float32Array.from({ length: dim }, () => random() * 2 - 1),
  };
}

/**
 * @param make builds a fresh, empty memory with `dim` 8, the given clock and TTL (ms, 0 = none)
 */
export function embeddingMemoryConformance(name: string, make: (clock: FakeClock, ttlMs: number) => Promise<EmbeddingMemory>): void {
  describe(`${name} (EmbeddingMemory conformance)`, () => {
    let memory: EmbeddingMemory;
    let clock: FakeClock;
    beforeEach(async () => {
      clock = new FakeClock();
      memory = await make(clock, 0);
      return async () => memory.close();
    });

    it('returns what was written, bit for bit, with its version and age', async () => {
      const v = vectors(1);
      expect(await memory.put('u1', { ...v, version: 5 })).toBe(true);
      clock.time += 1500;
      const hit = await memory.get('u1');
      expect(hit.found).toBe(true);
      if (!hit.found) return;
      expect(Array.from(hit.embedding.user)).toEqual(Array.from(v.user));
      expect(Array.from(hit.embedding.peer)).toEqual(Array.from(v.peer));
      expect(hit.embedding.version).toBe(5);
      expect(hit.ageMs).toBe(1500);
      expect(hit.degraded).toBe(false);
    });

    it('reports an unknown user as missing, not degraded', async () => {
      expect(await memory.get('nobody')).toEqual({ found: false, degraded: false });
    });

    it('never goes back in version: older and equal writes are ignored', async () => {
      const newer = vectors(2);
      const older = vectors(3);
      expect(await memory.put('u', { ...newer, version: 10 })).toBe(true);
      expect(await memory.put('u', { ...older, version: 9 })).toBe(false);
      expect(await memory.put('u', { ...older, version: 10 })).toBe(false);
      const hit = await memory.get('u');
      expect(hit.found && hit.embedding.version).toBe(10);
      expect(hit.found && Array.from(hit.embedding.user)).toEqual(Array.from(newer.user));
      expect(await memory.put('u', { ...older, version: 11 })).toBe(true);
      const after = await memory.get('u');
      expect(after.found && Array.from(after.embedding.user)).toEqual(Array.from(older.user));
      expect(memory.staleness().staleWrites).toBe(2);
    });

    it('keeps the newest of racing writes that arrive in any order', async () => {
      const random = seededRandom(11);
      const order = Array.from({ length: 30 }, (_, i) => i + 1).sort(() => random() - 0.5);
      const results = await Promise.all(order.map((version) => memory.put('race', { ...vectors(version), version })));
      expect(results.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      const hit = await memory.get('race');
      expect(hit.found && hit.embedding.version).toBe(30);
      expect(hit.found && Array.from(hit.embedding.user)).toEqual(Array.from(vectors(30).user));
    });

    it('reads many users in order, with zero rows, NaN ages and found = 0 for the missing', async () => {
      const a = vectors(4);
      const c = vectors(5);
      await memory.put('a', { ...a, version: 1, updatedAt: clock.time - 4000 });
      await memory.put('c', { ...c, version: 2, updatedAt: clock.time - 16000 });
      const before = memory.staleness();
      const batch = await memory.getMany(['a', 'b', 'c']);
      expect(batch.degraded).toBe(false);
      expect(batch.hits).toBe(2);
      expect(Array.from(batch.found)).toEqual([1, 0, 1]);
      expect(Array.from(batch.versions)).toEqual([1, 0, 2]);
      expect(batch.ageMs[0]).toBe(4000);
      expect(Number.isNaN(batch.ageMs[1])).toBe(true);
      expect(batch.ageMs[2]).toBe(16000);
      expect(Array.from(batch.user.subarray(0, dim))).toEqual(Array.from(a.user));
      expect(Array.from(batch.user.subarray(dim, 2 * dim))).toEqual(new Array(dim).fill(0));
      expect(Array.from(batch.peer.subarray(2 * dim))).toEqual(Array.from(c.peer));
      const s = memory.staleness();
      expect(s.hits - before.hits).toBe(2);
      expect(s.misses - before.misses).toBe(1);
      expect(s.age.count).toBe(2);
      expect(s.age.maxMs).toBe(16000);
      expect(s.age.p50Ms).toBe(16000);
    });

    it('reads into arrays the caller passes (zeroing rows of missing users), and checks them by name', async () => {
      const a = vectors(8);
      await memory.put('in-a', { ...a, version: 1 });
      // Arrays still holding an earlier read's rows: NaN everywhere.
      const into = { user: new Float32Array(2 * dim).fill(Number.NaN), peer: new Float32Array(2 * dim).fill(Number.NaN) };
      const batch = await memory.getMany(['in-missing', 'in-a'], { into });
      expect(Array.from(batch.found)).toEqual([0, 1]);
      expect(Array.from(batch.user)).toEqual([...new Array(dim).fill(0), ...Array.from(a.user)]);
      expect(Array.from(batch.peer)).toEqual([...new Array(dim).fill(0), ...Array.from(a.peer)]);
      // A memory may use its own arrays, but when it uses the caller's they hold the same rows.
      if (batch.user === into.user) expect(Array.from(into.peer)).toEqual(Array.from(batch.peer));
      await expect(memory.getMany(['in-a'], { into: { user: new Float32Array(dim + 1), peer: new Float32Array(dim) } })).rejects.toMatchObject({
        argument: 'options.into.user',
      });
      const shared = new Float32Array(2 * dim);
      await expect(memory.getMany(['in-a'], { into: { user: shared.subarray(0, dim), peer: shared.subarray(dim / 2, dim / 2 + dim) } })).rejects.toMatchObject({
        argument: 'options.into.peer',
      });
      await expect(memory.getMany(['in-a'], { into: { user: [], peer: [] } as unknown as { user: Float32Array; peer: Float32Array } })).rejects.toMatchObject({
        argument: 'options.into.user',
      });
    });

    it('returns an empty batch for no ids', async () => {
      const batch = await memory.getMany([]);
      expect(batch.user.length).toBe(0);
      expect(batch.hits).toBe(0);
    });

    it('forgets a deleted user', async () => {
      await memory.put('gone', { ...vectors(6), version: 1 });
      await memory.delete('gone');
      expect((await memory.get('gone')).found).toBe(false);
    });

    it('checks its arguments, naming them', async () => {
      const v = vectors(7);
      await expect(memory.put('', { ...v, version: 1 })).rejects.toMatchObject({ argument: 'id' });
      await expect(memory.put('x', { user: new Float32Array(dim + 1), peer: v.peer, version: 1 })).rejects.toMatchObject({ argument: 'write.user' });
      await expect(memory.put('x', { ...v, version: Number.NaN })).rejects.toMatchObject({ argument: 'write.version' });
      await expect(memory.getMany(['ok', 3 as unknown as string])).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('expires entries after the TTL', async () => {
      const withTtl = await make(clock, 150);
      try {
        await withTtl.put('t', { ...vectors(8), version: 1 });
        expect((await withTtl.get('t')).found).toBe(true);
        clock.time += 400; // the in-process memory follows the injected clock, Redis its own
        await new Promise((r) => setTimeout(r, 400));
        expect((await withTtl.get('t')).found).toBe(false);
      } finally {
        await withTtl.close();
      }
    });
  });
}
