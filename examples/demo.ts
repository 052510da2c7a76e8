/**
 * kindred demo (`npm run demo`, or `npm run demo -- --redis redis://127.0.0.1:6379`): on the
 * bundled models and the synthetic world they were trained on,
 *  1. matchPool: 2,000 users of a live video-chat pool matched 1:1 — pairs, the share of pairs the
 *     hard filters forbid, total weight against the certified upper bound, timings per stage;
 *  2. rankFeed: one user's feed — the top 20 with the anchor that found each item, its pCTR and
 *     what the twiddlers did.
 * Without `--redis` everything is in-process. With it, the embedding memory and the action log
 * live in that Redis server.
 */
import {
  ExactIndex,
  Feed,
  FwFmRanker,
  InProcessEmbeddingMemory,
  MatchPool,
  MemoryActionLog,
  ModelPool,
  RedisActionLog,
  RedisEmbeddingMemory,
  SessionTower,
  defaultModelPath,
  listBackends,
  type ActionLog,
  type EmbeddingMemory,
  type PoolUser,
} from '../ts/src/index.js';
import { loadWorld, loadWorldUsers, sideInfoOf, type WorldPoolUser } from './synthetic-world.js';

const POOL = 2000;
const DAY = 86_400_000;
const redisUrl = (() => {
  const at = process.argv.indexOf('--redis');
  return at >= 0 ? process.argv[at + 1] : undefined;
})();

const sideOf = sideInfoOf;

/** Estimates the share of pairs the hard filters forbid from 200,000 random pairs (mutual wants, a shared language). */
function forbiddenShare(users: readonly WorldPoolUser[]): number {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) % users.length;
  const speaks = (u: WorldPoolUser) => (1 << u.language) | (1 << u.deviceLanguage);
  let forbidden = 0;
  const samples = 200_000;
  for (let s = 0; s < samples; s++) {
    const a = users[next()]!;
    const b = users[next()]!;
    const ok = ((a.wants >> b.gender) & 1) === 1 && ((b.wants >> a.gender) & 1) === 1 && (speaks(a) & speaks(b)) !== 0;
    if (!ok) forbidden++;
  }
  return forbidden / samples;
}

async function matchDemo(models: ModelPool, memory: EmbeddingMemory): Promise<void> {
  const users = loadWorldUsers().slice(0, POOL);
  console.log(`\n== matchPool: ${users.length} users of the synthetic world ==`);

  // What the background does as chats end: each user's session embedding is recomputed from its
  // past matches and written to the memory. Requests only read it.
  const sessions = new SessionTower(models, memory, { maxPending: users.length });
  let t0 = performance.now();
  for (const u of users) {
    const history = u.historyPartners.map((p, t) => ({ peerId: `w${p}`, durationSeconds: u.historySeconds[t]! }));
    sessions.update(`w${u.id}`, history, sideOf(u));
  }
  await sessions.flush();
  console.log(`session embeddings of ${users.length} users computed in the background: ${(performance.now() - t0).toFixed(0)} ms`);

  const matcher = await MatchPool.create({ pool: models, memory });
  const pool: PoolUser[] = users.map((u) => ({ id: `w${u.id}`, side: sideOf(u) }));
  await matcher.matchPool(pool); // warm-up: first-touches the score buffer, warms the workers
  t0 = performance.now();
  const result = await matcher.matchPool(pool);
  const wall = performance.now() - t0;
  const t = result.timings;
  console.log(`pairs: ${result.pairs.length}, unmatched: ${result.unmatched.length}, session vectors found: ${result.sessionHits}`);
  console.log(`pairs the hard filters forbid (gender/wants, no shared language): ~${(100 * forbiddenShare(users)).toFixed(1)}%`);
  console.log(
    `total weight ${result.totalWeight.toFixed(1)} ≤ upper bound ${result.upperBound.toFixed(1)}: ` +
      `at least ${((100 * result.totalWeight) / result.upperBound).toFixed(2)}% of the best possible`,
  );
  console.log(
    `timings (ms): embed ${t.embed.toFixed(1)} ‖ memory ${t.memory.toFixed(1)}, scores ${t.scores.toFixed(1)}, ` +
      `filters ${t.filters.toFixed(1)}, matching ${t.matching.toFixed(1)}; total ${wall.toFixed(1)}` +
      (result.degraded.length ? `  (degraded: ${result.degraded.join(', ')})` : ''),
  );
  const best = [...result.pairs].sort((x, y) => y.weight - x.weight).slice(0, 3);
  for (const p of best) {
    console.log(`  ${p.a} ↔ ${p.b}: weight ${p.weight.toFixed(1)} (predicted ${p.predicted.aToB.toFixed(1)} + ${p.predicted.bToA.toFixed(1)})`);
  }
  // A chat ends: both histories grow and both session embeddings are recomputed in the background.
  matcher.onMatchEnded({ a: best[0]!.a, b: best[0]!.b, outcome: { durationSeconds: 240 } });
  await matcher.flush();
  await sessions.close();
  await matcher.close(); // leaves `models` and `memory` open: the demo made them
}

async function feedDemo(models: ModelPool, actionLog: ActionLog): Promise<void> {
  const world = loadWorld();
  await models.load('fwfm-ranker', defaultModelPath('fwfm-ranker'));
  const index = new ExactIndex({ dim: world.dim, metric: 'cos' });
  index.add(world.items.map((i) => i.id), world.vectors);
  const feed = new Feed({
    index,
    items: world.items.map((i) => ({ id: i.id, category: i.category, author: i.author, vector: i.vector })),
    ranker: new FwFmRanker(models),
    actionLog,
    anchors: { threshold: 6 },
    twiddlers: [
      { name: 'downrank', params: { windowMs: DAY, rules: { impression: { threshold: 3, factor: 0.5 } } } },
      { name: 'false-positive', params: { threshold: 0.9, strength: 0.5 } },
      { name: 'interval', params: { keys: ['category', 'author'], minGap: 3 } },
    ],
  });
  const user = [...world.users].sort((a, b) => b.clicks.length - a.clicks.length)[0]!;
  const history = user.clicks.map((c) => ({ itemId: c.itemId, at: c.at, dwellMs: c.dwellMs }));
  const now = Math.max(...user.clicks.map((c) => c.at)) + 60_000;
  const shortDwell = user.clicks.filter((c) => c.dwellMs < world.falsePositiveDwellMs).length;
  console.log(`\n== rankFeed: user ${user.userId} (${history.length} clicks, ${shortDwell} short-dwell) ==`);

  // The user saw three items of the last feed three times each today: the downrank twiddler moves them.
  const first = await feed.rankFeed(`u${user.userId}`, { history, now, limit: 20 });
  const seen = first.items.slice(0, 3).map((item) => item.itemId);
  for (const item of first.items.slice(0, 3)) {
    for (let k = 0; k < 3; k++) await actionLog.record({ userId: `u${user.userId}`, itemId: String(item.itemId), action: 'impression', at: now - 3_600_000 + k });
  }
  await feed.rankFeed(`u${user.userId}`, { history, now, limit: 20 }); // warm: retrieval cached by medoid
  const result = await feed.rankFeed(`u${user.userId}`, { history, now, limit: 20, explain: true });
  const topicOf = (id: number | string) => world.items[Number(id)]!.topic;
  const clicked = new Map<number, number>();
  for (const c of user.clicks) if (c.dwellMs >= world.falsePositiveDwellMs) clicked.set(topicOf(c.itemId), (clicked.get(topicOf(c.itemId)) ?? 0) + 1);
  console.log(`topics the user clicked (topic: clicks): ${[...clicked].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' ')}`);
  console.log(' #  item  topic cat  author  pCTR   score  anchor  twiddler moves');
  result.items.forEach((item, rank) => {
    const w = world.items[Number(item.itemId)]!;
    const moves = item.explain?.moves.map((m) => `${m.label} ${m.from}→${m.to}`).join(', ') ?? '';
    console.log(
      `${String(rank + 1).padStart(2)}  ${String(item.itemId).padStart(4)}  ${String(w.topic).padStart(5)} ${String(w.category).padStart(3)}  ${String(w.author).padStart(6)}  ` +
        `${(item.pctr ?? Number.NaN).toFixed(3)}  ${item.score.toFixed(3)}  ${String(item.anchor).padStart(6)}  ${moves}`,
    );
  });
  const where = seen.map((id) => {
    const at = result.items.findIndex((item) => item.itemId === id);
    return `${id} (was #${seen.indexOf(id) + 1}) → ${at >= 0 ? `#${at + 1}` : 'below the top 20'}`;
  });
  console.log(`seen 3 times in the last hour, downranked: ${where.join(', ')}`);
  const tm = result.timings;
  console.log(
    `timings (ms): anchors ${tm.anchorsMs.toFixed(1)}, retrieval ${tm.retrievalMs.toFixed(1)}, ranking ${tm.rankingMs.toFixed(1)}, ` +
      `twiddlers ${tm.twiddleMs.toFixed(1)}; total ${tm.totalMs.toFixed(1)}` + (result.degraded.length ? `  (degraded: ${result.degraded.join(', ')})` : ''),
  );
}

async function main(): Promise<void> {
  console.log(`kindred demo${redisUrl ? ` (Redis at ${redisUrl})` : ''}\n\nBackends on this machine:`);
  for (const b of listBackends()) {
    console.log(`  ${b.name.padEnd(9)} ${b.available ? `yes  ${b.device ?? ''}` : `no   ${b.reason ?? ''}`}`);
  }
  const models = new ModelPool({ threads: 1 });
  const memory: EmbeddingMemory = redisUrl ? new RedisEmbeddingMemory({ url: redisUrl, dim: 64, keyPrefix: 'kindred-demo:emb:' }) : new InProcessEmbeddingMemory({ dim: 64 });
  // The world's clicks are dated early 2026: the log keeps a week from the request's clock.
  const log: ActionLog = redisUrl
    ? new RedisActionLog({ url: redisUrl, keyPrefix: 'kindred-demo:actions:', maxAgeMs: 3650 * DAY })
    : new MemoryActionLog({ maxAgeMs: 3650 * DAY });
  try {
    await models.load('feature-tower', defaultModelPath('feature-tower'));
    await models.load('session-tower', defaultModelPath('session-tower'));
    await matchDemo(models, memory);
    await feedDemo(models, log);
  } finally {
    await Promise.allSettled([models.close(), memory.close?.(), log.close?.()]);
  }
}

await main();
