import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelPool } from '../../src/embed/model-pool.js';
import type { UserSideInfo } from '../../src/embed/side-info.js';
import { MatchPool, type PoolUser } from '../../src/match/match-pool.js';
import { RedisEmbeddingMemory } from '../../src/store/redis-embedding-memory.js';
import { hasRedisServer, RedisServer, redisSkipReason } from '../store/redis-server.js';

const side = (gender: number, wants: number): UserSideInfo => ({
  country: 3,
  language: 1,
  gender,
  wants,
  ageBucket: 2,
  deviceLanguage: 1,
  accountAgeDays: 30,
  recentReports: 0,
});

// Four users who can all meet someone: two pairs of opposite genders that want each other.
const users: PoolUser[] = [
  { id: 'r1', side: side(0, 2) },
  { id: 'r2', side: side(1, 1) },
  { id: 'r3', side: side(0, 2) },
  { id: 'r4', side: side(1, 1) },
];

describe.skipIf(!hasRedisServer)(`MatchPool with a RedisEmbeddingMemory${hasRedisServer ? '' : ` (${redisSkipReason})`}`, () => {
  let server: RedisServer;
  let models: ModelPool;
  let memory: RedisEmbeddingMemory;
  let matcher: MatchPool;

  beforeAll(async () => {
    server = await RedisServer.start();
    models = new ModelPool({ threads: 1, logSeverityLevel: 4 });
    memory = new RedisEmbeddingMemory({ url: server.url, dim: 64, keyPrefix: 'match-pool:', readTimeoutMs: 200 });
    matcher = await MatchPool.create({ pool: models, memory, memoryTimeoutMs: 1000 });
  });
  afterAll(async () => {
    await matcher.close();
    await memory.close();
    await models.close();
    await server.kill();
  });

  it('reads session vectors written after a match, degrades while Redis is down, and recovers', async () => {
    const first = await until(() => matcher.matchPool(users), (r) => r.degraded.length === 0);
    expect(first.degraded).toEqual([]);
    expect(first.sessionHits).toBe(0);
    matcher.onMatchEnded({ a: 'r1', b: 'r2', outcome: { durationSeconds: 120 } });
    await matcher.flush();
    expect(matcher.metrics().session.failed).toBe(0);
    const warm = await matcher.matchPool(users);
    expect(warm.degraded).toEqual([]);
    expect(warm.sessionHits).toBe(2);

    await server.kill();
    const down = await matcher.matchPool(users);
    expect(down.degraded).toEqual(['embedding-memory']);
    expect(down.sessionHits).toBe(0);
    expect(down.pairs.length).toBe(2); // still matched, on feature embeddings alone
    expect(down.timings.memory).toBeLessThan(1000);
    // A recomputation that cannot be stored is counted, not thrown.
    matcher.onMatchEnded({ a: 'r3', b: 'r4', outcome: { durationSeconds: 60 } });
    await matcher.flush();
    expect(matcher.metrics().session.failed).toBe(2);

    await server.restart();
    const back = await until(() => matcher.matchPool(users), (r) => r.degraded.length === 0);
    expect(back.degraded).toEqual([]);
    expect(back.sessionHits).toBe(0); // the restarted server kept nothing
  });
});

async function until<T>(call: () => Promise<T>, done: (value: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await call();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
