/**
 * rankFeed benchmark on the synthetic world (models/world): history 500, ~2000 candidates, 3
 * twiddlers (downrank, false-positive, interval), the shipped FwFM ranker in a 2-thread ModelPool
 * (one model run per request: the model computes the request side once, so splitting a request
 * into parallel parts no longer pays for its second worker round trip).
 *
 * Rows, all in the same run (so ratios carry over between machines):
 *   - warm cache + in-memory action log, one request at a time (p50, p99)
 *   - the same with the per-user anchor memo off, so Ward clustering runs on every request
 *   - warm cache + local Redis action log (a redis-server started here), one at a time
 *   - the same two pipelines with the retrieval cache disabled (`cache: false`): the baseline
 *   - throughput with 8 requests in flight (in-memory and Redis, warm cache)
 * Each request's stage timings are averaged and printed, so the cost of each stage is visible.
 *
 *   npm run bench:feed
 *   node build/js/bench/rank-feed.bench.js 300     # requests per row (default 1000)
 */
import { availableParallelism, loadavg } from 'node:os';

import { Bench } from 'tinybench';

import { loadWorld, type World } from '../examples/synthetic-world.js';
import { Feed, type FeedHistoryEntry, type RankFeedResult } from '../ts/src/feed/feed.js';
import { FwFmRanker } from '../ts/src/rank/fwfm-ranker.js';
import {
  ExactIndex,
  MemoryActionLog,
  ModelPool,
  RedisActionLog,
  type ActionLog,
  type TwiddlerSpec,
} from '../ts/src/index.js';
import { hasRedisServer, RedisServer } from '../ts/test/store/redis-server.js';
import { seededRandom } from '../ts/test/reference/random.js';
import { machineLine, repoFile } from './machine.js';

const HISTORY = 500;
const USERS = 40;
const NOW = Date.UTC(2026, 0, 20, 12);
const DAY = 86_400_000;

/** A 500-entry history per user: 3 favourite topics (80%), the rest anywhere; 5% short-dwell clicks. */
function histories(world: World): FeedHistoryEntry[][] {
  const random = seededRandom(2026);
  const byTopic: number[][] = Array.from({ length: 12 }, () => []);
  for (const item of world.items) byTopic[item.topic]!.push(item.id);
  return Array.from({ length: USERS }, () => {
    const favourites = [0, 1, 2].map(() => Math.floor(random() * 12));
    const seen = new Set<number>();
    const history: FeedHistoryEntry[] = [];
    while (history.length < HISTORY) {
      const pool = random() < 0.8 ? byTopic[favourites[Math.floor(random() * 3)]!]! : byTopic[Math.floor(random() * 12)]!;
      const id = pool[Math.floor(random() * pool.length)]!;
      if (seen.has(id)) continue;
      seen.add(id);
      history.push({ itemId: id, at: NOW - Math.floor(random() * 30 * DAY), dwellMs: random() < 0.05 ? 1200 : 5000 + Math.floor(random() * 60_000) });
    }
    return history;
  });
}

const twiddlers: TwiddlerSpec[] = [
  { name: 'downrank', params: { windowMs: DAY, rules: { impression: { threshold: 3, factor: 0.5 }, click: { threshold: 1, factor: 0.3 } } } },
  { name: 'false-positive', params: { threshold: 0.9, strength: 0.5 } }, // 0.9 ≈ the same category in this world
  { name: 'interval', params: { keys: ['category', 'author'], minGap: 3 } },
];

/** 200 recent impressions per user over the last day, on items near their history (so downrank acts). */
async function fillLog(log: ActionLog, world: World): Promise<void> {
  const random = seededRandom(7);
  const writes: Promise<unknown>[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let a = 0; a < 200; a++) {
      const item = world.items[Math.floor(random() * world.items.length)]!;
      writes.push(log.record({ userId: `u${u}`, itemId: String(item.id), action: 'impression', at: NOW - Math.floor(random() * DAY) }));
    }
  }
  await Promise.all(writes);
}



interface Row {
  name: string;
  p50: number;
  p99: number;
  /** Process CPU time (all threads) per request, ms: robust to a busy machine, unlike wall time. */
  cpu: number;
  stages: string;
  degraded: number;
}

async function latencyRow(name: string, feed: Feed, users: FeedHistoryEntry[][], requests: number): Promise<Row> {
  let u = 0;
  const sums = { anchorsMs: 0, retrievalMs: 0, rankingMs: 0, actionLogWaitMs: 0, twiddleMs: 0, candidates: 0 };
  let runs = 0;
  let degraded = 0;
  const record = (r: RankFeedResult) => {
    runs++;
    sums.anchorsMs += r.timings.anchorsMs;
    sums.retrievalMs += r.timings.retrievalMs;
    sums.rankingMs += r.timings.rankingMs;
    sums.actionLogWaitMs += r.timings.actionLogWaitMs;
    sums.twiddleMs += r.timings.twiddleMs;
    sums.candidates += r.stats.candidates;
    if (r.degraded.length > 0) degraded++;
  };
  const bench = new Bench({ iterations: requests, time: 0, warmupIterations: 20, warmupTime: 0 });
  bench.add(name, async () => {
    const i = u++ % users.length;
    record(await feed.rankFeed(`u${i}`, { history: users[i]!, now: NOW, limit: 50, context: { device: 0 } }));
  });
  const cpu0 = process.cpuUsage();
  await bench.run();
  const cpuUsed = process.cpuUsage(cpu0);
  const task = bench.tasks[0]!;
  const latency = 'latency' in task.result ? task.result.latency : undefined;
  const avg = (x: number) => (x / runs).toFixed(2);
  return {
    name,
    p50: latency?.p50 ?? Number.NaN,
    p99: latency?.p99 ?? Number.NaN,
    cpu: (cpuUsed.user + cpuUsed.system) / 1000 / runs,
    stages: `anchors ${avg(sums.anchorsMs)} | retrieval ${avg(sums.retrievalMs)} | ranking ${avg(sums.rankingMs)} | log wait ${avg(sums.actionLogWaitMs)} | twiddle ${avg(sums.twiddleMs)} | ${Math.round(sums.candidates / runs)} candidates`,
    degraded,
  };
}

async function throughput(feed: Feed, users: FeedHistoryEntry[][], requests: number, inFlight: number): Promise<{ rps: number; cpu: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      const i = next++ % users.length;
      await feed.rankFeed(`u${i}`, { history: users[i]!, now: NOW, limit: 50, context: { device: 0 } });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { rps: requests / ((performance.now() - started) / 1000), cpu: (cpu.user + cpu.system) / 1000 / requests };
}

async function main() {
  const requests = Number(process.argv[2] ?? 1000);
  console.log(`rankFeed benchmark — ${machineLine()}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start`);
  console.log(`history ${HISTORY} (5% short-dwell), ~2000 candidates (5 anchors × 1000 neighbours, merged, history removed, capped at 2000), 3 twiddlers, limit 50, ranker: 2 pool threads + inline when idle, one run per request, ${requests} requests per row`);
  const world = loadWorld();
  const users = histories(world);
  // Two ORT workers: with 8 requests in flight, two model runs at once. Each request is one run
  // (its ~2,000 rows ≥ maxBatch, so it runs alone); the model pools the history once per request.
  // A run that finds the pool idle (one request at a time) goes inline: ~1 ms, no thread hop.
  const pool = new ModelPool({ threads: 2, maxDelayMs: 0, inlineWhenIdle: true });
  // defaultModelPath() resolves from dist/ or ts/src/, not from this compiled copy under build/js.
  await pool.load('fwfm-ranker', repoFile('models/fwfm-ranker.onnx'), { maxBatch: 1000 });
  const ranker = new FwFmRanker(pool);
  const index = new ExactIndex({ dim: world.dim, metric: 'cos' });
  index.add(world.items.map((i) => i.id), world.vectors);
  const memoryLog = new MemoryActionLog({ now: () => NOW });
  await fillLog(memoryLog, world);
  const redis = hasRedisServer ? await RedisServer.start() : undefined;
  const redisLog = redis === undefined ? undefined : new RedisActionLog({ url: redis.url, now: () => NOW });
  if (redisLog !== undefined) await fillLog(redisLog, world);

  const make = (actionLog: ActionLog, cache: boolean, memo = true) =>
    new Feed({
      index,
      items: world.items,
      ranker,
      actionLog,
      twiddlers,
      anchors: { threshold: 6, maxAnchors: 5, ...(memo ? {} : { memoUsers: 0 }) },
      candidatesPerAnchor: 1000,
      maxCandidates: 2000,
      ...(cache ? {} : { cache: false as const }),
    });
  const rows: Row[] = [];
  // Warm the cache (and the anchor memo): every user once.
  const memoryFeed = make(memoryLog, true);
  for (let i = 0; i < users.length; i++) await memoryFeed.rankFeed(`u${i}`, { history: users[i]!, now: NOW });
  rows.push(await latencyRow('in-memory log, warm cache', memoryFeed, users, requests));
  // Every feed has its anchor memo warmed the same way, so the rows differ only in what they name.
  const warm = async (feed: Feed) => {
    for (let i = 0; i < users.length; i++) await feed.rankFeed(`u${i}`, { history: users[i]!, now: NOW });
    return feed;
  };
  rows.push(await latencyRow('in-memory log, cache disabled (baseline)', await warm(make(memoryLog, false)), users, requests));
  const noMemo = await warm(make(memoryLog, true, false));
  rows.push(await latencyRow('in-memory log, warm cache, anchor memo off (Ward every request)', noMemo, users, requests));
  let redisFeed: Feed | undefined;
  if (redisLog !== undefined) {
    redisFeed = await warm(make(redisLog, true));
    rows.push(await latencyRow('local Redis log, warm cache', redisFeed, users, requests));
    rows.push(await latencyRow('local Redis log, cache disabled (baseline)', await warm(make(redisLog, false)), users, requests));
  }
  console.log('\n| pipeline (one request at a time) | p50 ms | p99 ms | CPU ms / request | mean stage ms | degraded |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.stages} | ${r.degraded} |`);
  const base = rows[1]!;
  console.log(`\nwarm cache vs cache disabled (in-memory): p50 ${(base.p50 / rows[0]!.p50).toFixed(2)}× faster, p99 ${(base.p99 / rows[0]!.p99).toFixed(2)}× faster`);

  const cores = availableParallelism();
  console.log(`\n| throughput, 8 in flight | requests/s | vs one at a time (1000/p50) | CPU ms / request | CPU bound on ${cores} cores |`);
  console.log('| --- | --- | --- | --- | --- |');
  const tput = async (name: string, feed: Feed, serialP50: number) => {
    await throughput(feed, users, 40, 8);
    const { rps, cpu } = await throughput(feed, users, requests, 8);
    console.log(`| ${name} | ${rps.toFixed(0)} | ${(rps / (1000 / serialP50)).toFixed(2)}× | ${cpu.toFixed(2)} | ${((cores * 1000) / cpu).toFixed(0)} requests/s |`);
  };
  await tput('in-memory log, warm cache', memoryFeed, rows[0]!.p50);
  if (redisFeed !== undefined) await tput('local Redis log, warm cache', redisFeed, rows[3]!.p50);
  await tput('in-memory log, warm cache, anchor memo off', noMemo, rows[2]!.p50);
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end (other processes share these cores)`);
  console.log(`\nmodel pool: ${JSON.stringify(pool.stats())}`);
  console.log(`cache: ${JSON.stringify(memoryFeed.cacheStats())}`);

  await redisLog?.close();
  await redis?.stop();
  await pool.close();
}

await main();
