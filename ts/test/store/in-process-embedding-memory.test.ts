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

  it('checks its options', () => {
    expect(() => new InProcessEmbeddingMemory({ maxEntries: 0 })).toThrow(/options\.maxEntries/);
  });
});
