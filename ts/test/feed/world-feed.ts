/** Shared setup of the feed tests: the synthetic world in an ExactIndex, the shipped ranker in a pool. */
import { loadWorld, type WorldUser } from '../../../examples/synthetic-world.js';
import { defaultModelPath } from '../../src/embed/default-models.js';
import { ModelPool } from '../../src/embed/model-pool.js';
import type { FeedHistoryEntry } from '../../src/feed/feed.js';
import { FwFmRanker } from '../../src/rank/fwfm-ranker.js';
import { ExactIndex } from '../../src/retrieve/exact-index.js';
import type { TwiddlerSpec } from '../../src/twiddle/twiddler.js';

export const world = loadWorld();
export const DAY = 86_400_000;

export interface WorldSetup {
  pool: ModelPool;
  ranker: FwFmRanker;
  index: ExactIndex;
}

export async function setUp(): Promise<WorldSetup> {
  const pool = new ModelPool({ threads: 1, maxBatch: 8192 });
  await pool.load('fwfm-ranker', defaultModelPath('fwfm-ranker'));
  const index = new ExactIndex({ dim: world.dim, metric: 'cos' });
  index.add(world.items.map((i) => i.id), world.vectors);
  return { pool, ranker: new FwFmRanker(pool), index };
}

/** The three twiddlers of the issue, tuned to the world (cosine 0.9 ≈ the same category). */
export const twiddlers: TwiddlerSpec[] = [
  { name: 'downrank', params: { windowMs: DAY, rules: { impression: { threshold: 3, factor: 0.5 }, click: { threshold: 1, factor: 0.3 } } } },
  { name: 'false-positive', params: { threshold: 0.9, strength: 0.5 } },
  { name: 'interval', params: { keys: ['category', 'author'], minGap: 3 } },
];

/** A user's whole click log as a history, and the request time just after it. */
export function historyOf(user: WorldUser): { history: FeedHistoryEntry[]; now: number } {
  const history = user.clicks.map((c) => ({ itemId: c.itemId, at: c.at, dwellMs: c.dwellMs }));
  return { history, now: Math.max(...user.clicks.map((c) => c.at)) + 60_000 };
}

/** Users with at least `min` positive clicks, most active first. */
export function activeUsers(min: number): WorldUser[] {
  return world.users
    .filter((u) => u.clicks.filter((c) => c.dwellMs >= world.falsePositiveDwellMs).length >= min)
    .sort((a, b) => b.clicks.length - a.clicks.length);
}

/** Topic counts of a list of item ids. */
export function topics(ids: ReadonlyArray<number | string>): number[] {
  const counts = new Array<number>(12).fill(0);
  for (const id of ids) counts[world.items[Number(id)]!.topic]!++;
  return counts;
}

/** Cosine top-k of `vector` over the whole world, brute force (the naive retrieval reference). */
export function bruteForceTopK(vector: Float32Array, k: number): number[] {
  const dim = world.dim;
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const q = norm(vector);
  const scored = world.items.map((item) => {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += vector[j]! * item.vector[j]!;
    return { id: item.id, score: dot / (q * norm(item.vector)) };
  });
  scored.sort((a, b) => b.score - a.score || a.id - b.id);
  return scored.slice(0, k).map((s) => s.id);
}
