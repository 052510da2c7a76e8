import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AbortError, QueueFullError } from '../../src/core/errors.js';
import { Feed, type FeedOptions } from '../../src/feed/feed.js';
import type { FwFmRanker } from '../../src/rank/fwfm-ranker.js';
import { RedisActionLog } from '../../src/store/redis-action-log.js';
import { hasRedisServer, RedisServer, redisSkipReason } from '../store/redis-server.js';
import { activeUsers, historyOf, setUp, twiddlers, world, type WorldSetup } from './world-feed.js';

let setup: WorldSetup;

beforeAll(async () => {
  setup = await setUp();
});

afterAll(async () => {
  await setup?.pool.close();
});

function makeFeed(options: Partial<FeedOptions>): Feed {
  return new Feed({ index: setup.index, items: world.items, ranker: setup.ranker, twiddlers, anchors: { threshold: 6 }, ...options });
}

/** A ranker stand-in whose score() fails or never answers. */
function brokenRanker(score: FwFmRanker['score']): FwFmRanker {
  return { score, historyLength: 32, falsePositiveDwellMs: 3000 } as unknown as FwFmRanker;
}

const user = activeUsers(30)[0]!;
const { history, now } = historyOf(user);
const userId = String(user.userId);

describe('Feed with a failing ranker', () => {
  it("falls back to retrieval-score order with 'ranker' in degraded when the ranker fails", async () => {
    const feed = makeFeed({ ranker: brokenRanker(() => Promise.reject(new QueueFullError('model pool', 1))), twiddlers: [] });
    const result = await feed.rankFeed(userId, { history, now, limit: 30, explain: true });
    expect(result.degraded).toEqual(['ranker']);
    expect(result.items.length).toBe(30);
    for (const item of result.items) {
      expect(item.pctr).toBeUndefined();
      expect(item.score).toBe(item.explain!.retrievalScore);
    }
    for (let i = 1; i < 30; i++) expect(result.items[i]!.score).toBeLessThanOrEqual(result.items[i - 1]!.score);
  });

  it('stops waiting for a ranker slower than rankerTimeoutMs', async () => {
    const feed = makeFeed({ ranker: brokenRanker(() => new Promise<Float32Array>(() => {})), rankerTimeoutMs: 40 });
    const started = performance.now();
    const result = await feed.rankFeed(userId, { history, now, limit: 10 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.degraded).toEqual(['ranker']);
    expect(result.items.length).toBe(10);
  });

  it('degrades on a closed model pool, and still honours the caller’s abort', async () => {
    const own = await setUp();
    await own.pool.close();
    const feed = makeFeed({ ranker: own.ranker });
    const result = await feed.rankFeed(userId, { history, now, limit: 10 });
    expect(result.degraded).toEqual(['ranker']);
    const c = new AbortController();
    const hanging = makeFeed({
      ranker: brokenRanker((_request, options) => new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new AbortError())))),
      rankerTimeoutMs: 60_000,
    });
    const pending = hanging.rankFeed(userId, { history, now, signal: c.signal });
    setTimeout(() => c.abort(), 30);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
  });
});

describe('Feed with a silent action log', () => {
  it("answers by its deadline with 'action-log' degraded even if the log ignores its timeout", async () => {
    const silent = { recent: () => new Promise(() => {}) } as unknown as FeedOptions['actionLog'];
    const feed = makeFeed({ actionLog: silent, actionLogTimeoutMs: 30 });
    const started = performance.now();
    const result = await feed.rankFeed(userId, { history, now, limit: 10, explain: true });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.degraded).toEqual(['action-log']);
    expect(result.items.length).toBe(10);
  });

  it('reports a log that throws synchronously as degraded, not as a failure', async () => {
    const throwing = { recent: () => { throw new Error('boom'); } } as unknown as FeedOptions['actionLog'];
    const result = await makeFeed({ actionLog: throwing }).rankFeed(userId, { history, now, limit: 5 });
    expect(result.degraded).toEqual(['action-log']);
  });
});

describe.skipIf(!hasRedisServer)(`Feed with a Redis action log ${hasRedisServer ? '' : redisSkipReason}`, () => {
  it("answers within its deadline with 'action-log' degraded when Redis is killed or frozen, and recovers", async () => {
    const server = await RedisServer.start();
    const log = new RedisActionLog({ url: server.url, now: () => now, readTimeoutMs: 1000 });
    log.on('store-error', () => {});
    try {
      const feed = makeFeed({ actionLog: log, actionLogTimeoutMs: 50 });
      // Until the log's connection is up, requests are served degraded (never held up).
      let healthy = await feed.rankFeed(userId, { history, now, limit: 20 });
      for (let attempt = 0; attempt < 100 && healthy.degraded.length > 0; attempt++) {
        expect(healthy.degraded).toEqual(['action-log']);
        await new Promise((r) => setTimeout(r, 20));
        healthy = await feed.rankFeed(userId, { history, now, limit: 20 });
      }
      expect(healthy.degraded).toEqual([]);
      // Three impressions of the top item: downrank moves it while Redis is up.
      const top = healthy.items[0]!.itemId;
      for (let k = 0; k < 3; k++) expect(await log.record({ userId, itemId: String(top), action: 'impression', at: now - 1000 - k })).toBe('stored');
      const withLog = await feed.rankFeed(userId, { history, now, limit: 20, explain: true });
      expect(withLog.degraded).toEqual([]);
      expect(withLog.items[0]!.itemId).not.toBe(top);

      await server.kill();
      for (let attempt = 0; attempt < 3; attempt++) {
        const started = performance.now();
        const down = await feed.rankFeed(userId, { history, now, limit: 20, explain: true });
        const elapsed = performance.now() - started;
        expect(down.degraded).toEqual(['action-log']);
        // Deadline: the 50 ms log timeout plus the pipeline, never Redis' reconnect time.
        expect(elapsed).toBeLessThan(1000);
        // Without the log, downrank skips itself (so the seen item is back on top) and the rest still runs.
        expect(down.items[0]!.itemId).toBe(top);
        expect(down.items.length).toBe(20);
        expect(down.items.every((i) => i.pctr !== undefined)).toBe(true);
      }

      await server.restart();
      let back: Awaited<ReturnType<Feed['rankFeed']>> | undefined;
      for (let attempt = 0; attempt < 100 && (back === undefined || back.degraded.length > 0); attempt++) {
        await new Promise((r) => setTimeout(r, 50));
        back = await feed.rankFeed(userId, { history, now, limit: 20 });
      }
      expect(back!.degraded).toEqual([]);

      // Frozen (SIGSTOP): connected but silent; the request still answers by its deadline.
      server.pause();
      const started = performance.now();
      const frozen = await feed.rankFeed(userId, { history, now, limit: 20 });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(frozen.degraded).toEqual(['action-log']);
      server.resume();
    } finally {
      await log.close({ timeoutMs: 200 }).catch(() => {});
      await server.stop();
    }
  });
});
