import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StoreError } from '../../src/core/errors.js';
import { RedisEmbeddingMemory } from '../../src/store/redis-embedding-memory.js';
import { embeddingMemoryConformance } from './embedding-memory-conformance.js';
import { hasRedisServer, RedisServer, redisServerBinary } from './redis-server.js';

if (!hasRedisServer) {
  describe('RedisEmbeddingMemory', () => {
    it.skip(`skipped: ${redisServerBinary} is not installed (apt-get install redis-server)`, () => {});
  });
} else {
  let server: RedisServer;
  let prefixes = 0;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server.kill();
  });

  const waitUntil = async (check: () => Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  };

  const ready = async (memory: RedisEmbeddingMemory) => {
    await waitUntil(async () => !(await memory.getMany(['probe'])).degraded);
    return memory;
  };

  embeddingMemoryConformance('RedisEmbeddingMemory', async (clock, ttlMs) =>
    ready(new RedisEmbeddingMemory({ url: server.url, dim: 8, now: clock.now, ttlMs, keyPrefix: `test:${++prefixes}:` })),
  );

  describe('RedisEmbeddingMemory', () => {
    it('stores one binary string per user under the key prefix: version, updatedAt, then the vectors', async () => {
      const memory = await ready(new RedisEmbeddingMemory({ url: server.url, dim: 2, keyPrefix: 'layout:' }));
      await memory.put('u1', { user: new Float32Array([1, 2]), peer: new Float32Array([3, 4]), version: 1.7e12 + 0.5, updatedAt: 1234 });
      const client = new Redis(server.url);
      const value = (await client.getBuffer('layout:u1'))!;
      expect(value.length).toBe(16 + 4 * 4);
      expect(value.readDoubleLE(0)).toBe(1.7e12 + 0.5);
      expect(value.readDoubleLE(8)).toBe(1234);
      expect([0, 1, 2, 3].map((k) => value.readFloatLE(16 + 4 * k))).toEqual([1, 2, 3, 4]);
      // The script compares that stored version with the next write's, in Lua: equal is refused, above is taken.
      expect(await memory.put('u1', { user: new Float32Array(2), peer: new Float32Array(2), version: 1.7e12 + 0.5 })).toBe(false);
      expect(await memory.put('u1', { user: new Float32Array(2), peer: new Float32Array(2), version: 1.7e12 + 0.75 })).toBe(true);
      client.disconnect();
      await memory.close();
    });

    it('reads a key of another layout as missing (reporting a wrong-sized value) and overwrites it on the next write', async () => {
      const memory = await ready(new RedisEmbeddingMemory({ url: server.url, dim: 2, keyPrefix: 'other:' }));
      const errors: StoreError[] = [];
      memory.on('store-error', (e: StoreError) => errors.push(e));
      const client = new Redis(server.url);
      await client.hset('other:hash', 'v', '9', 't', '1', 'e', Buffer.alloc(16));
      await client.set('other:short', Buffer.alloc(5));
      const batch = await memory.getMany(['hash', 'short']);
      expect(Array.from(batch.found)).toEqual([0, 0]);
      expect(batch.degraded).toBe(false);
      expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/other:short holds 5 bytes, not 16 \+ 2 x 2 floats/)]);
      for (const id of ['hash', 'short']) {
        expect(await memory.put(id, { user: new Float32Array([5, 6]), peer: new Float32Array([7, 8]), version: 1 }), id).toBe(true);
      }
      const back = await memory.getMany(['hash', 'short']);
      expect(Array.from(back.found)).toEqual([1, 1]);
      expect(Array.from(back.user)).toEqual([5, 6, 5, 6]);
      expect(Array.from(back.peer)).toEqual([7, 8, 7, 8]);
      client.disconnect();
      await memory.close();
    });

    it('reads pools larger than one MGET in order', async () => {
      const memory = await ready(new RedisEmbeddingMemory({ url: server.url, dim: 1, keyPrefix: 'chunks:' }));
      const ids = Array.from({ length: 2_500 }, (_, i) => `u${i}`);
      await Promise.all(ids.map((id, i) => (i % 3 === 1 ? undefined : memory.put(id, { user: Float32Array.of(i), peer: Float32Array.of(-i), version: 1 }))));
      const batch = await memory.getMany(ids);
      ids.forEach((_, i) => {
        const stored = i % 3 !== 1;
        expect(batch.found[i], `u${i}`).toBe(stored ? 1 : 0);
        expect(batch.user[i], `u${i}`).toBe(stored ? i : 0);
        expect(batch.peer[i], `u${i}`).toBe(stored ? -i : 0);
      });
      await memory.close();
    });

    it('works with a client the caller owns, and leaves it open on close()', async () => {
      const client = new Redis(server.url);
      const memory = new RedisEmbeddingMemory({ client, dim: 2, keyPrefix: 'owned:' });
      await waitUntil(async () => client.status === 'ready');
      await memory.put('u', { user: new Float32Array(2), peer: new Float32Array(2), version: 1 });
      expect((await memory.get('u')).found).toBe(true);
      await memory.close();
      expect(client.status).toBe('ready');
      client.disconnect();
    });

    it('requires exactly one of url and client', () => {
      expect(() => new RedisEmbeddingMemory({})).toThrow(/options\.url and options\.client/);
    });

    it('degrades reads while Redis is down, reports errors, and recovers when it is back', async () => {
      const memory = await ready(new RedisEmbeddingMemory({ url: server.url, dim: 2, keyPrefix: 'crash:', readTimeoutMs: 200 }));
      const errors: StoreError[] = [];
      memory.on('store-error', (e: StoreError) => errors.push(e));
      const v = { user: new Float32Array([1, 1]), peer: new Float32Array([2, 2]) };
      await memory.put('u', { ...v, version: 1 });
      expect((await memory.get('u')).found).toBe(true);

      const before = memory.staleness();
      await server.kill();
      const started = Date.now();
      const read = await memory.get('u');
      expect(read).toEqual({ found: false, degraded: true });
      const batch = await memory.getMany(['u', 'v']);
      expect(batch.degraded).toBe(true);
      expect(Array.from(batch.found)).toEqual([0, 0]);
      expect(Date.now() - started).toBeLessThan(1000); // fails fast, no waiting on reconnects
      await expect(memory.put('u', { ...v, version: 2 })).rejects.toBeInstanceOf(StoreError);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => e.retryable)).toBe(true);
      const s = memory.staleness();
      expect(s.degradedReads - before.degradedReads).toBe(3);
      expect(s.errors).toBeGreaterThan(before.errors);

      await server.restart();
      expect(await waitUntil(async () => !(await memory.get('u')).degraded)).toBe(true);
      // The restarted server kept nothing (no persistence); writes and reads work again.
      expect(await memory.put('u', { ...v, version: 3 })).toBe(true);
      const back = await memory.get('u');
      expect(back.found && back.embedding.version).toBe(3);
      await memory.close();
    });
  });
}
