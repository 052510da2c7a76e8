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
    it('stores one binary hash per user under the key prefix', async () => {
      const memory = await ready(new RedisEmbeddingMemory({ url: server.url, dim: 2, keyPrefix: 'layout:' }));
      await memory.put('u1', { user: new Float32Array([1, 2]), peer: new Float32Array([3, 4]), version: 7, updatedAt: 1234 });
      const client = new Redis(server.url);
      const fields = await client.hgetallBuffer('layout:u1');
      expect(fields.v!.toString()).toBe('7');
      expect(fields.t!.toString()).toBe('1234');
      expect(Array.from(new Float32Array(new Uint8Array(fields.e!).buffer))).toEqual([1, 2, 3, 4]);
      client.disconnect();
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
