import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AbortError,
  ActionLogBufferFullError,
  ActionLogUnavailableError,
  InvalidArgumentError,
  StoreError,
} from '../../src/core/errors.js';
import { decodeAction } from '../../src/store/action-codec.js';
import type { RecordOutcome, UserAction } from '../../src/store/action-log.js';
import { RedisActionLog, type RedisActionLogOptions } from '../../src/store/redis-action-log.js';
import { actionLogConformance } from './action-log-conformance.js';
import { hasRedisServer, RedisServer, redisSkipReason } from './redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

let prefixes = 0;
const freshPrefix = () => `test:${process.pid}:${++prefixes}:`;

/** A log on `url` whose connection is ready. */
async function openLog(options: RedisActionLogOptions): Promise<RedisActionLog> {
  const log = new RedisActionLog({ keyPrefix: freshPrefix(), ...options });
  await waitUntil(() => log.available);
  return log;
}

if (!hasRedisServer) {
  describe('RedisActionLog', () => {
    it.skip(redisSkipReason, () => {});
  });
} else {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  actionLogConformance('RedisActionLog', async (clock, retention) => openLog({ url: server.url, now: clock.now, ...retention }));

  describe('RedisActionLog layout', () => {
    it('keeps one sorted set per user: score = at, member = the compact action, with a TTL', async () => {
      const keyPrefix = freshPrefix();
      const log = await openLog({ url: server.url, keyPrefix, maxAgeMs: 60_000 });
      const at = Date.now();
      await log.record({ userId: 'u1', itemId: 'i1', action: 'click', at, dwellMs: 900 });
      await log.record({ userId: 'u1', itemId: 'i2', action: 'impression', at: at + 1 });
      const client = new Redis(server.url);
      try {
        expect(await client.type(`${keyPrefix}u1`)).toBe('zset');
        const withScores = await client.zrange(`${keyPrefix}u1`, '0', '-1', 'WITHSCORES');
        expect(withScores[1]).toBe(String(at));
        expect(withScores[3]).toBe(String(at + 1));
        expect(decodeAction(withScores[0]!)).toMatchObject({ userId: 'u1', itemId: 'i1', action: 'click', at, dwellMs: 900 });
        expect(withScores[0]!.length).toBeLessThan(80); // compact
        const ttl = await client.pttl(`${keyPrefix}u1`);
        expect(ttl).toBeGreaterThan(55_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      } finally {
        client.disconnect();
        await log.close();
      }
    });

    it('sends records issued together as one pipeline (one ZADD per user)', async () => {
      const log = await openLog({ url: server.url });
      const client = new Redis(server.url);
      try {
        await client.config('RESETSTAT');
        const at = Date.now();
        const outcomes = await Promise.all(
          Array.from({ length: 100 }, (_, i) => log.record({ userId: `u${i % 2}`, itemId: `i${i}`, action: 'seen', at })),
        );
        expect(new Set(outcomes)).toEqual(new Set(['stored']));
        const stats = await client.info('commandstats');
        expect(stats).toMatch(/cmdstat_zadd:calls=2,/);
        expect((await log.recent('u0', at)).length).toBe(50);
        // Same-millisecond actions come back in recording order.
        expect((await log.recent('u1', at)).map((a) => a.itemId)).toEqual(Array.from({ length: 50 }, (_, i) => `i${2 * i + 1}`));
      } finally {
        client.disconnect();
        await log.close();
      }
    });

    it('uses a client the caller owns and leaves it open on close()', async () => {
      const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      await waitUntil(() => client.status === 'ready');
      const log = new RedisActionLog({ client, keyPrefix: freshPrefix() });
      expect(await log.record({ userId: 'u', itemId: 'i', action: 'seen', at: Date.now() })).toBe('stored');
      expect((await log.recent('u', 0)).length).toBe(1);
      await log.close();
      expect(client.status).toBe('ready');
      client.disconnect();
    });

    it('checks its options', () => {
      expect(() => new RedisActionLog({})).toThrow(/options\.url and options\.client/);
      expect(() => new RedisActionLog({ url: server.url, client: {} as Redis })).toThrow(InvalidArgumentError);
      expect(() => new RedisActionLog({ client: {} as Redis })).toThrow(/options\.client/);
      expect(() => new RedisActionLog({ url: server.url, maxBuffered: 0 })).toThrow(/options\.maxBuffered/);
      expect(() => new RedisActionLog({ url: server.url, readTimeoutMs: -1 })).toThrow(/options\.readTimeoutMs/);
    });

    it('skips and reports members that are not actions', async () => {
      const keyPrefix = freshPrefix();
      const log = await openLog({ url: server.url, keyPrefix });
      const errors: StoreError[] = [];
      log.on('store-error', (e: StoreError) => errors.push(e));
      const client = new Redis(server.url);
      try {
        const at = Date.now();
        await client.zadd(`${keyPrefix}u`, at, 'garbage', at, '[1,2]');
        await log.record({ userId: 'u', itemId: 'i', action: 'seen', at });
        expect((await log.recent('u', 0)).map((a) => a.itemId)).toEqual(['i']);
        expect(log.metrics().corrupt).toBe(2);
        expect(errors.length).toBe(2);
      } finally {
        client.disconnect();
        await log.close();
      }
    });

    it('rejects a write Redis refuses for good (wrong key type) and still writes the others', async () => {
      const keyPrefix = freshPrefix();
      const log = await openLog({ url: server.url, keyPrefix });
      const client = new Redis(server.url);
      try {
        await client.set(`${keyPrefix}bad`, 'a string');
        const at = Date.now();
        const [bad, good] = await Promise.allSettled([
          log.record({ userId: 'bad', itemId: 'i', action: 'seen', at }),
          log.record({ userId: 'good', itemId: 'i', action: 'seen', at }),
        ]);
        expect(bad.status).toBe('rejected');
        expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
        expect((bad as PromiseRejectedResult).reason.message).toMatch(/WRONGTYPE/);
        expect(good).toEqual({ status: 'fulfilled', value: 'stored' });
        expect(log.metrics()).toMatchObject({ recorded: 2, failed: 1, written: 1, pending: 0 });
      } finally {
        client.disconnect();
        await log.close();
      }
    });
  });

  describe('RedisActionLog while Redis is down or slow', () => {
    it('fails reads at once, buffers writes (bounded), and replays them when Redis is back', async () => {
      const down = await RedisServer.start();
      const log = await openLog({ url: down.url, maxBuffered: 5, readTimeoutMs: 200 });
      try {
        const at = Date.now();
        expect(await log.record({ userId: 'u', itemId: 'before', action: 'seen', at })).toBe('stored');
        await down.kill();
        await waitUntil(() => !log.available);

        const started = Date.now();
        const unavailable = await log.recent('u', 0).catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(50);
        expect(unavailable).toBeInstanceOf(ActionLogUnavailableError);
        expect((unavailable as ActionLogUnavailableError).code).toBe('ERR_KINDRED_ACTION_LOG_UNAVAILABLE');

        const outcomes: RecordOutcome[] = [];
        for (let i = 0; i < 5; i++) outcomes.push(await log.record({ userId: 'u', itemId: `during${i}`, action: 'seen', at: at + 1 + i }));
        expect(outcomes).toEqual(Array(5).fill('buffered'));
        expect(log.pending).toBe(5);
        const full = await log.record({ userId: 'u', itemId: 'overflow', action: 'seen', at: at + 10 }).catch((e: unknown) => e);
        expect(full).toBeInstanceOf(ActionLogBufferFullError);
        expect((full as ActionLogBufferFullError).code).toBe('ERR_KINDRED_ACTION_LOG_BUFFER_FULL');
        await expect(log.flush({ timeoutMs: 50 })).rejects.toBeInstanceOf(ActionLogUnavailableError);

        await down.restart(); // empty: nothing persisted
        await log.flush({ timeoutMs: 10_000 });
        expect(log.pending).toBe(0);
        expect((await log.recent('u', 0)).map((a) => a.itemId)).toEqual(['during0', 'during1', 'during2', 'during3', 'during4']);
        expect(log.metrics()).toMatchObject({ recorded: 6, written: 6, buffered: 5, replayed: 5, rejected: 1, pending: 0 });
        expect(log.metrics().readFailures).toBeGreaterThanOrEqual(1);
      } finally {
        await log.close();
        await down.stop();
      }
    });

    it('bounds reads and writes by their deadlines while Redis hangs, and catches up after', async () => {
      const slow = await RedisServer.start();
      const log = await openLog({ url: slow.url, readTimeoutMs: 100, writeTimeoutMs: 100 });
      try {
        const at = Date.now();
        slow.pause();
        let started = Date.now();
        await expect(log.recent('u', 0)).rejects.toBeInstanceOf(ActionLogUnavailableError);
        expect(Date.now() - started).toBeGreaterThanOrEqual(90);
        expect(Date.now() - started).toBeLessThan(1000);

        started = Date.now();
        await expect(log.recent('u', 0, { timeoutMs: 30 })).rejects.toBeInstanceOf(ActionLogUnavailableError);
        expect(Date.now() - started).toBeLessThan(500);

        const controller = new AbortController();
        setTimeout(() => controller.abort(), 20);
        await expect(log.recent('u', 0, { timeoutMs: 5000, signal: controller.signal })).rejects.toBeInstanceOf(AbortError);

        started = Date.now();
        expect(await log.record({ userId: 'u', itemId: 'slow1', action: 'seen', at })).toBe('buffered');
        expect(Date.now() - started).toBeLessThan(1000);
        expect(await log.record({ userId: 'u', itemId: 'slow2', action: 'seen', at })).toBe('buffered'); // stalled: at once

        slow.resume();
        await log.flush({ timeoutMs: 10_000 });
        expect((await log.recent('u', 0)).map((a) => a.itemId)).toEqual(['slow1', 'slow2']);
        expect(await log.record({ userId: 'u', itemId: 'fast', action: 'seen', at })).toBe('stored');
      } finally {
        slow.resume();
        await log.close();
        await slow.stop();
      }
    });

    it('retries writes Redis refuses for now (OOM), and reads include them meanwhile', async () => {
      const full = await RedisServer.start();
      const log = await openLog({ url: full.url, maxPerUser: 3 });
      const client = new Redis(full.url);
      try {
        const at = Date.now();
        await log.record({ userId: 'u', itemId: 'a', action: 'seen', at });
        await client.config('SET', 'maxmemory-policy', 'noeviction');
        await client.config('SET', 'maxmemory', '1');
        const outcomes = [];
        for (const [i, itemId] of ['b', 'c', 'd'].entries()) outcomes.push(await log.record({ userId: 'u', itemId, action: 'seen', at: at + 1 + i }));
        expect(outcomes).toEqual(['buffered', 'buffered', 'buffered']);
        expect(log.pending).toBe(3);
        // Redis answers reads: it has 'a'; the buffer adds the rest; the count trim keeps 3.
        expect((await log.recent('u', 0)).map((x) => x.itemId)).toEqual(['b', 'c', 'd']);
        expect(await client.zcard(`${log.keyPrefix}u`)).toBe(1);
        await client.config('SET', 'maxmemory', '0');
        await log.flush({ timeoutMs: 10_000 });
        expect(await client.zrange(`${log.keyPrefix}u`, '0', '-1').then((m) => m.map((x) => decodeAction(x)!.itemId))).toEqual(['b', 'c', 'd']);
        expect(log.metrics()).toMatchObject({ failed: 0, replayed: 3 });
        expect(log.metrics().writeRetries).toBeGreaterThanOrEqual(1);
      } finally {
        client.disconnect();
        await log.close();
        await full.stop();
      }
    });

    it('does not duplicate a write it resent because the first reply never came', async () => {
      const frozen = await RedisServer.start();
      const errors: StoreError[] = [];
      // writeTimeoutMs 50 → a pipeline with no reply is abandoned and resent after 2000 ms.
      const log = await openLog({ url: frozen.url, writeTimeoutMs: 50 });
      log.on('store-error', (e: StoreError) => errors.push(e));
      try {
        const at = Date.now();
        frozen.pause();
        expect(await log.record({ userId: 'u', itemId: 'once', action: 'seen', at })).toBe('buffered');
        await waitUntil(() => log.metrics().writeRetries >= 1); // the first pipeline sits in the frozen socket
        frozen.resume(); // Redis now runs the first pipeline and the resent one
        await log.flush({ timeoutMs: 10_000 });
        const client = new Redis(frozen.url);
        expect(await client.zcard(`${log.keyPrefix}u`)).toBe(1);
        client.disconnect();
        expect((await log.recent('u', 0)).map((a) => a.itemId)).toEqual(['once']);
        expect(errors.some((e) => e.retryable)).toBe(true);
      } finally {
        frozen.resume();
        await log.close();
        await frozen.stop();
      }
    });

    it('reports accepted actions it could not write when closed while Redis is down', async () => {
      const down = await RedisServer.start();
      const log = await openLog({ url: down.url });
      await down.stop();
      await waitUntil(() => !log.available);
      expect(await log.record({ userId: 'u', itemId: 'i', action: 'seen', at: Date.now() })).toBe('buffered');
      await expect(log.close({ timeoutMs: 100 })).rejects.toThrow(/closed with 1 accepted actions not written/);
    });

    it('keeps every accepted write, in order, exactly once across a SIGKILL and restart', async () => {
      const crashing = await RedisServer.start({ persistent: true });
      const prefix = freshPrefix();
      const log = await openLog({ url: crashing.url, keyPrefix: prefix, writeTimeoutMs: 50, maxBuffered: 100_000, batchSize: 16 });
      const accepted: UserAction[] = [];
      const outcomes: Record<RecordOutcome, number> = { stored: 0, buffered: 0 };
      try {
        const base = Date.now();
        let n = 0;
        // Bursts of concurrent records, so pipelines are in flight when the server dies.
        const burst = async () => {
          const entries: UserAction[] = [];
          for (let k = 0; k < 8; k++, n++) {
            // Two actions per millisecond: ties must keep recording order.
            entries.push({ userId: `u${n % 3}`, itemId: `i${n}`, action: n % 5 === 0 ? 'click' : 'impression', at: base + (n >> 1) });
          }
          const results = await Promise.all(entries.map((e) => log.record(e)));
          entries.forEach((e, k) => {
            accepted.push(e);
            outcomes[results[k]!]++;
          });
          await sleep(1);
        };
        for (let i = 0; i < 40; i++) await burst();
        const killed = crashing.kill(); // mid-stream: not awaited before the next burst
        for (let i = 0; i < 10; i++) await burst();
        await killed;
        for (let i = 0; i < 40; i++) await burst(); // Redis is down: all buffered
        expect(log.pending).toBeGreaterThan(0);
        const restarted = crashing.restart();
        for (let i = 0; i < 40; i++) await burst(); // replay races new records
        await restarted;
        await log.flush({ timeoutMs: 20_000 });
        expect(log.pending).toBe(0);

        expect(outcomes.buffered).toBeGreaterThan(0);
        expect(outcomes.stored).toBeGreaterThan(0);
        const client = new Redis(crashing.url);
        try {
          for (const user of ['u0', 'u1', 'u2']) {
            const expected = accepted.filter((a) => a.userId === user).sort((x, y) => x.at - y.at);
            // Straight from Redis, not through the log: the set holds each accepted action once.
            const members = await client.zrange(`${prefix}${user}`, '0', '-1');
            const got = members.map((m) => decodeAction(m)!);
            expect(got.map((a) => a.itemId), user).toEqual(expected.map((a) => a.itemId));
            expect(new Set(got.map((a) => a.id)).size).toBe(got.length);
            expect((await log.recent(user, 0, { timeoutMs: 5000 })).map((a) => a.id)).toEqual(got.map((a) => a.id));
          }
        } finally {
          client.disconnect();
        }
        const metrics = log.metrics();
        expect(metrics.written).toBe(accepted.length);
        expect(metrics.buffered).toBe(outcomes.buffered);
        expect(metrics.replayed).toBe(outcomes.buffered);
        expect(metrics).toMatchObject({ recorded: accepted.length, rejected: 0, failed: 0, pending: 0 });
      } finally {
        await log.close();
        await crashing.stop();
      }
    });
  });
}
