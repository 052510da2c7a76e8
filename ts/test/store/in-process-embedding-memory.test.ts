import { describe, expect, it } from 'vitest';

import { InProcessEmbeddingMemory } from '../../src/store/in-process-embedding-memory.js';
import { embeddingMemoryConformance } from './embedding-memory-conformance.js';

embeddingMemoryConformance('InProcessEmbeddingMemory', async (clock, ttlMs) => new InProcessEmbeddingMemory({ dim: 8, now: clock.now, ttlMs }));

describe('InProcessEmbeddingMemory LRU', () => {
  const v = { user: new Float32Array(2), peer: new Float32Array(2) };

  it('keeps at most maxEntries users, evicting the least recently used', async () => {
    const memory = new InProcessEmbeddingMemory({ dim: 2, maxEntries: 3 });
    for (const id of ['a', 'b', 'c']) await memory.put(id, { ...v, version: 1 });
    await memory.get('a'); // a is now the most recently used; b the least
    await memory.put('d', { ...v, version: 1 });
    expect(memory.size).toBe(3);
    expect((await memory.get('b')).found).toBe(false);
    for (const id of ['a', 'c', 'd']) expect((await memory.get(id)).found, id).toBe(true);
  });

  it('stores a copy, so the writer may reuse its arrays', async () => {
    const memory = new InProcessEmbeddingMemory({ dim: 2 });
    const user = new Float32Array([1, 2]);
    await memory.put('u', { user, peer: new Float32Array(2), version: 1 });
    user[0] = 99;
    const hit = await memory.get('u');
    expect(hit.found && hit.embedding.user[0]).toBe(1);
  });

  it('gives every user its own rows after evictions and deletions reuse their slots (over 4,096, across pages)', async () => {
    const dim = 3;
    const memory = new InProcessEmbeddingMemory({ dim, maxEntries: 5_000 });
    const rowsOf = (id: number) => ({
      user: Float32Array.from({ length: dim }, (_, k) => id + k / 8),
      peer: Float32Array.from({ length: dim }, (_, k) => -id - k / 8),
    });
    for (let id = 0; id < 6_000; id++) await memory.put(`u${id}`, { ...rowsOf(id), version: 1 });
    // 0..999 were evicted (their slots went to 5,000..5,999); 1,000..1,099 are deleted, and their
    // slots go to 6,000..6,099; 6,100..7,099 evict 1,100..2,099 and take their slots.
    for (let id = 1_000; id < 1_100; id++) await memory.delete(`u${id}`);
    for (let id = 6_000; id < 7_100; id++) await memory.put(`u${id}`, { ...rowsOf(id), version: 1 });
    const ids = [0, 999, 1_000, 1_099, 1_100, 2_099, 2_100, 4_095, 4_096, 5_999, 6_000, 6_099, 6_100, 7_099].map((id) => `u${id}`);
    const batch = await memory.getMany(ids);
    const missing = new Set(['u0', 'u999', 'u1000', 'u1099', 'u1100', 'u2099']);
    ids.forEach((id, i) => {
      const want = missing.has(id) ? { user: new Float32Array(dim), peer: new Float32Array(dim) } : rowsOf(Number(id.slice(1)));
      expect(batch.found[i], id).toBe(missing.has(id) ? 0 : 1);
      expect(Array.from(batch.user.subarray(i * dim, (i + 1) * dim)), id).toEqual(Array.from(want.user));
      expect(Array.from(batch.peer.subarray(i * dim, (i + 1) * dim)), id).toEqual(Array.from(want.peer));
    });
    expect(memory.size).toBe(5_000);
  });

  it('checks its options', () => {
    expect(() => new InProcessEmbeddingMemory({ maxEntries: 0 })).toThrow(/options\.maxEntries/);
  });
});
