import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sideInfoOf } from '../../../examples/synthetic-world.js';
import { AbortError, ClosedError } from '../../src/core/errors.js';
import { defaultModelPath } from '../../src/embed/default-models.js';
import { FeatureTower } from '../../src/embed/feature-tower.js';
import { ModelPool } from '../../src/embed/model-pool.js';
import { SessionTower } from '../../src/embed/session-tower.js';
import type { UserSideInfo } from '../../src/embed/side-info.js';
import { MatchPool, type MatchPoolResult, type PoolUser } from '../../src/match/match-pool.js';
import type { EmbeddingBatch, EmbeddingMemory, EmbeddingReadOptions } from '../../src/store/embedding-memory.js';
import { InProcessEmbeddingMemory } from '../../src/store/in-process-embedding-memory.js';
import { StalenessTracker } from '../../src/store/staleness.js';

// ---- the synthetic world (models/world/users.json, written by tools/models/world.py) ----

interface WorldUser extends UserSideInfo {
  id: number;
  historyPartners: number[];
  historySeconds: number[];
}

const world = JSON.parse(readFileSync(fileURLToPath(new URL('../../../models/world/users.json', import.meta.url)), 'utf8')) as {
  users: WorldUser[];
};

const sideOf = sideInfoOf;

/** A pool of world users: every 10th blocks the next one (and a stranger), every 7th speaks only its primary language. */
function worldPool(from: number, count: number): PoolUser[] {
  return world.users.slice(from, from + count).map((u, k) => {
    const user: PoolUser = { id: `w${u.id}`, side: sideOf(u) };
    if (k % 10 === 0) user.blocked = [`w${u.id + 1}`, 'not-in-this-pool'];
    if (k % 7 === 0) user.languages = [u.language];
    return user;
  });
}

// ---- naive references ----

/** The hard filters, written the obvious way (mirrors tools/models/world.py's allowed_pairs, plus blocks). */
function naiveAllowed(x: PoolUser, y: PoolUser): boolean {
  const mutual = ((x.side.wants >> y.side.gender) & 1) === 1 && ((y.side.wants >> x.side.gender) & 1) === 1;
  const lx = x.languages ?? [x.side.language, x.side.deviceLanguage];
  const ly = y.languages ?? [y.side.language, y.side.deviceLanguage];
  const shared = lx.some((l) => ly.includes(l));
  const blocked = (x.blocked ?? []).includes(y.id) || (y.blocked ?? []).includes(x.id);
  return mutual && shared && !blocked;
}

interface RawHead {
  weight: number;
  transform: { kind: string; w: number; b: number };
  userProjection: number[] | null;
  peerProjection: number[] | null;
  dim: number;
}

/** Σ_t weight_t · exp(w_t · (u P_u)·(p P_p) + b_t) in double, straight from the raw kindred.heads JSON. */
function naiveDirected(heads: RawHead[], u: Float64Array, p: Float64Array, modelDim: number): number {
  let sum = 0;
  for (const h of heads) {
    const project = (v: Float64Array, m: number[] | null) => {
      if (m === null) return v;
      const out = new Float64Array(h.dim);
      for (let t = 0; t < h.dim; t++) for (let k = 0; k < modelDim; k++) out[t]! += v[k]! * m[k * h.dim + t]!;
      return out;
    };
    const pu = project(u, h.userProjection);
    const pp = project(p, h.peerProjection);
    let s = 0;
    for (let k = 0; k < pu.length; k++) s += pu[k]! * pp[k]!;
    sum += h.weight * (h.transform.kind === 'exp' ? Math.exp(h.transform.w * s + h.transform.b) : s);
  }
  return sum;
}

/** The full embeddings the pipeline should use: the feature tower's rows + the memory's rows, in double. */
async function referenceVectors(tower: FeatureTower, memory: EmbeddingMemory | undefined, users: PoolUser[]) {
  const feature = await tower.embed(users.map((u) => u.side));
  const session = memory === undefined ? undefined : await memory.getMany(users.map((u) => u.id));
  const d = tower.dim;
  const row = (side: 'user' | 'peer', i: number) => {
    const v = new Float64Array(d);
    for (let k = 0; k < d; k++) v[k] = feature[side][i * d + k]! + (session === undefined ? 0 : session[side][i * d + k]!);
    return v;
  };
  return { row, hits: session?.hits ?? 0 };
}

/** Checks a result against the references: allowed pairs only, nobody twice, weights, predictions, bound. */
async function expectMatchesReference(result: MatchPoolResult, users: PoolUser[], tower: FeatureTower, memory: EmbeddingMemory | undefined) {
  const byId = new Map(users.map((u, i) => [u.id, i]));
  const seen = new Set<string>();
  const { row } = await referenceVectors(tower, memory, users);
  const heads = tower.heads as RawHead[];
  let total = 0;
  for (const pair of result.pairs) {
    const i = byId.get(pair.a)!;
    const j = byId.get(pair.b)!;
    expect(i, `pair ${pair.a}-${pair.b} is in the pool`).toBeDefined();
    expect(naiveAllowed(users[i]!, users[j]!), `pair ${pair.a}-${pair.b} is allowed by the filters`).toBe(true);
    for (const id of [pair.a, pair.b]) {
      expect(seen.has(id), `${id} appears once`).toBe(false);
      seen.add(id);
    }
    const aToB = naiveDirected(heads, row('user', i), row('peer', j), tower.dim);
    const bToA = naiveDirected(heads, row('user', j), row('peer', i), tower.dim);
    // float32 GEMMs and exp against double: 1e-4 relative.
    expect(Math.abs(pair.weight - (aToB + bToA)) / (aToB + bToA), `weight of ${pair.a}-${pair.b}`).toBeLessThan(1e-4);
    expect(Math.abs(pair.predicted.aToB - aToB) / aToB, `aToB of ${pair.a}-${pair.b}`).toBeLessThan(1e-4);
    expect(Math.abs(pair.predicted.bToA - bToA) / bToA, `bToA of ${pair.a}-${pair.b}`).toBeLessThan(1e-4);
    total += pair.weight;
  }
  for (const id of result.unmatched) {
    expect(seen.has(id), `${id} is unmatched and matched`).toBe(false);
    seen.add(id);
  }
  expect(seen.size, 'every user is either matched or unmatched').toBe(users.length);
  expect(Math.abs(result.totalWeight - total) / Math.max(1, total)).toBeLessThan(1e-4);
  expect(result.upperBound).toBeGreaterThanOrEqual(result.totalWeight * (1 - 1e-6));
  // An unmatched pair of unmatched users that the filters allow would be a free gain: there is none.
  for (let x = 0; x < result.unmatched.length; x++) {
    for (let y = x + 1; y < result.unmatched.length; y++) {
      const u = users[byId.get(result.unmatched[x]!)!]!;
      const v = users[byId.get(result.unmatched[y]!)!]!;
      expect(naiveAllowed(u, v), `unmatched ${u.id} and ${v.id} could meet`).toBe(false);
    }
  }
}

/** A memory whose every call fails (Redis down and past its own handling). */
class FailingMemory implements EmbeddingMemory {
  readonly dim = 64;
  reads = 0;
  constructor(private readonly mode: 'reject' | 'hang') {}
  getMany(): Promise<EmbeddingBatch> {
    this.reads++;
    return this.mode === 'reject' ? Promise.reject(new Error('connection refused')) : new Promise<EmbeddingBatch>(() => undefined);
  }
  get(): never {
    throw new Error('connection refused');
  }
  put(): Promise<boolean> {
    return Promise.reject(new Error('connection refused'));
  }
  delete(): Promise<void> {
    return Promise.reject(new Error('connection refused'));
  }
  staleness() {
    return new StalenessTracker().snapshot();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Another memory's reads, except the first: it answers only once `answerFirst()` is called, then
 * scribbles NaN over the arrays it was given, as a reply landing after the call's timeout would.
 * Meanwhile it records whether a later read was handed those same arrays.
 */
class LateFirstRead implements EmbeddingMemory {
  readonly dim = 64;
  #firstInto: EmbeddingReadOptions['into'];
  #answer: () => void = () => undefined;
  #pending = false;
  sharedWhilePending = false;
  settled: Promise<void> = Promise.resolve();
  constructor(private readonly inner: EmbeddingMemory) {}
  getMany(ids: readonly string[], options?: EmbeddingReadOptions): Promise<EmbeddingBatch> {
    if (this.#firstInto !== undefined || this.#pending) {
      const into = options?.into;
      if (this.#pending && into && (into.user === this.#firstInto?.user || into.peer === this.#firstInto?.peer)) this.sharedWhilePending = true;
      return this.inner.getMany(ids, options);
    }
    this.#pending = true;
    this.#firstInto = options?.into;
    const late = (async () => {
      await new Promise<void>((resolve) => (this.#answer = resolve));
      const batch = await this.inner.getMany(ids, options);
      options?.into?.user.fill(Number.NaN);
      options?.into?.peer.fill(Number.NaN);
      this.#pending = false;
      return batch;
    })();
    this.settled = late.then(() => undefined);
    return late;
  }
  answerFirst(): void {
    this.#answer();
  }
  get(id: string) {
    return this.inner.get(id);
  }
  put(id: string, write: Parameters<EmbeddingMemory['put']>[1]) {
    return this.inner.put(id, write);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
  staleness() {
    return this.inner.staleness();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('MatchPool on the synthetic world', () => {
  let models: ModelPool;
  let memory: InProcessEmbeddingMemory;
  let matcher: MatchPool;
  let tower: FeatureTower;

  beforeAll(async () => {
    models = new ModelPool({ threads: 1, logSeverityLevel: 4 });
    memory = new InProcessEmbeddingMemory({ dim: 64 });
    matcher = await MatchPool.create({ pool: models, memory });
    tower = new FeatureTower(models);
    // Session vectors for some of the pool, from the world's histories (as the background tower would).
    const sessions = new SessionTower(models, memory);
    for (const u of world.users.slice(0, 300).filter((_, k) => k % 3 === 0)) {
      const history = u.historyPartners.map((p, t) => ({ peerId: `w${p}`, durationSeconds: u.historySeconds[t]! }));
      sessions.update(`w${u.id}`, history, sideOf(u));
    }
    await sessions.close();
  });
  afterAll(async () => {
    await matcher.close();
    await models.close();
  });

  it('parses the shipped heads: chat duration (64-d, no projection) and like (16-d projections, weight 20)', () => {
    expect(matcher.heads.map((h) => [h.name, h.dim, h.weight, h.userProjection?.length ?? 0])).toEqual([
      ['chat_duration', 64, 1, 0],
      ['like', 16, 20, 1024],
    ]);
  });

  it('matches 300 users: allowed pairs only, nobody twice, weights = the naive Σ-heads weights, bound ≥ total', async () => {
    const users = worldPool(0, 300);
    const result = await matcher.matchPool(users);
    expect(result.degraded).toEqual([]);
    expect(result.sessionHits).toBe(100);
    expect(result.pairs.length).toBeGreaterThan(100);
    await expectMatchesReference(result, users, tower, memory);
    for (const key of ['embed', 'memory', 'scores', 'filters', 'matching', 'total'] as const) {
      expect(result.timings[key], key).toBeGreaterThanOrEqual(0);
    }
    expect(result.timings.total).toBeGreaterThanOrEqual(result.timings.matching);
    // The blocked pairs exist and are allowed otherwise in at least one case, so the block mattered.
    expect(users.some((u) => u.blocked !== undefined && naiveAllowed({ ...u, blocked: [] }, users.find((v) => v.id === u.blocked![0])!))).toBe(true);
  });

  it('reuses the score buffer across sizes (a smaller pool gets a view) and stays correct', async () => {
    const users = worldPool(300, 200);
    const before = matcher.metrics().freeBuffers;
    expect(before).toBeGreaterThan(0);
    const result = await matcher.matchPool(users);
    await expectMatchesReference(result, users, tower, memory);
    expect(matcher.metrics().freeBuffers).toBeLessThanOrEqual(2);
  });

  it('serves users seen before from the feature cache: no model rows, the same answer', async () => {
    const users = worldPool(1200, 160);
    const first = await matcher.matchPool(users);
    const cache0 = matcher.metrics().featureCache;
    const rows0 = models.stats().rows;
    const again = await matcher.matchPool(users);
    expect(models.stats().rows).toBe(rows0);
    expect(matcher.metrics().featureCache.hits - cache0.hits).toBe(users.length);
    expect(matcher.metrics().featureCache.misses).toBe(cache0.misses);
    expect(again.pairs).toEqual(first.pairs);
    expect(again.upperBound).toBe(first.upperBound);
    await expectMatchesReference(again, users, tower, memory);
  });

  it('serves concurrent calls, each with its own buffer, with the results of serial calls', async () => {
    const pools = [worldPool(600, 150), worldPool(750, 220), worldPool(970, 90)];
    const serial: MatchPoolResult[] = [];
    for (const users of pools) serial.push(await matcher.matchPool(users));
    const together = await Promise.all(pools.map((users) => matcher.matchPool(users)));
    // Concurrent small requests share a feature-tower batch, which may move the last float bits,
    // and the heuristic matcher with them: the totals agree to 0.1%.
    together.forEach((result, k) => {
      expect(Math.abs(result.totalWeight - serial[k]!.totalWeight) / serial[k]!.totalWeight, `pool ${k}`).toBeLessThan(1e-3);
    });
    for (let k = 0; k < pools.length; k++) await expectMatchesReference(together[k]!, pools[k]!, tower, memory);
    expect(matcher.metrics().inFlight).toBe(0);
  });

  it('reuses its row arrays only once a late memory read has settled, and then writes every row afresh', async () => {
    const late = new LateFirstRead(memory);
    const reusing = await MatchPool.create({ pool: models, memory: late, memoryTimeoutMs: 30 });
    const users = worldPool(0, 240);
    const first = await reusing.matchPool(users);
    expect(first.degraded).toEqual(['embedding-memory']);
    await expectMatchesReference(first, users, tower, undefined);
    // The late read still holds its arrays: the next calls must get others.
    for (let k = 0; k < 3; k++) {
      const next = await reusing.matchPool(users);
      expect(next.degraded).toEqual([]);
      await expectMatchesReference(next, users, tower, memory);
    }
    expect(late.sharedWhilePending).toBe(false);
    late.answerFirst();
    await late.settled;
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Now the scribbled arrays are back in the free list, and the next calls run on them.
    for (const pool of [users, worldPool(40, 200), users]) {
      const again = await reusing.matchPool(pool);
      expect(again.degraded).toEqual([]);
      await expectMatchesReference(again, pool, tower, memory);
    }
    await reusing.close();
  });

  it('a pool of 1 gives no pairs and one unmatched user; a pool of 2 pairs them when allowed', async () => {
    const [one] = worldPool(0, 1);
    const single = await matcher.matchPool([one!]);
    expect(single.pairs).toEqual([]);
    expect(single.unmatched).toEqual([one!.id]);
    expect(single.totalWeight).toBe(0);

    const users = worldPool(0, 60);
    const [x, y] = pairAllowed(users, true);
    const two = await matcher.matchPool([x, y]);
    expect(two.pairs.map((p) => [p.a, p.b])).toEqual([[x.id, y.id]]);
    expect(two.unmatched).toEqual([]);
    await expectMatchesReference(two, [x, y], tower, memory);

    // A block on either side forbids the pair (it is allowed otherwise).
    for (const blocked of [[{ ...x, blocked: [y.id] }, y], [x, { ...y, blocked: ['someone-else', x.id] }]]) {
      const none = await matcher.matchPool(blocked);
      expect(none.pairs).toEqual([]);
      expect(none.unmatched).toEqual([x.id, y.id]);
    }

    const [u, v] = pairAllowed(users, false);
    const apart = await matcher.matchPool([u, v]);
    expect(apart.pairs).toEqual([]);
    expect(apart.unmatched).toEqual([u.id, v.id]);
  });

  it('onMatchEnded queues both session recomputations; the next call reads the new vectors', async () => {
    const users = worldPool(1200, 80).map((u) => ({ ...u, id: `fresh-${u.id}` }));
    const [x, y] = pairAllowed(users, true);
    const before = await matcher.matchPool([x, y]);
    expect(before.sessionHits).toBe(0);
    const completed = matcher.metrics().session.completed;
    matcher.onMatchEnded({ a: x.id, b: y.id, outcome: { durationSeconds: 240 } });
    expect(matcher.metrics().session.queued + matcher.metrics().session.inFlight).toBe(2);
    await matcher.flush();
    expect(matcher.metrics().session.completed).toBe(completed + 2);
    expect((await memory.get(x.id)).found).toBe(true);
    expect((await memory.get(y.id)).found).toBe(true);
    const after = await matcher.matchPool([x, y]);
    expect(after.sessionHits).toBe(2);
    expect(after.pairs[0]!.weight).not.toBeCloseTo(before.pairs[0]!.weight, 3);
    await expectMatchesReference(after, [x, y], tower, memory);

    // A user never seen in a pool: its history grows, but there is no side information to recompute with.
    const skipped = matcher.metrics().sessionSkipped;
    matcher.onMatchEnded({ a: x.id, b: 'never-seen', outcome: { durationSeconds: 3 } });
    expect(matcher.metrics().sessionSkipped).toBe(skipped + 1);
    await matcher.flush();
  });

  it('rejects with AbortError for an aborted signal, before or during the call', async () => {
    const users = worldPool(0, 300);
    const aborted = new AbortController();
    aborted.abort(new Error('too late'));
    await expect(matcher.matchPool(users, { signal: aborted.signal })).rejects.toMatchObject({ name: 'AbortError', cause: { message: 'too late' } });
    const during = new AbortController();
    const call = matcher.matchPool(users, { signal: during.signal });
    queueMicrotask(() => during.abort(new Error('client left')));
    await expect(call).rejects.toBeInstanceOf(AbortError);
    // The pool is still fine afterwards.
    expect((await matcher.matchPool(worldPool(0, 50))).pairs.length).toBeGreaterThan(0);
  });

  it('goes on without session vectors when the memory fails or hangs (degraded), and says so', async () => {
    for (const mode of ['reject', 'hang'] as const) {
      const failing = new FailingMemory(mode);
      const degradedMatcher = await MatchPool.create({ pool: models, memory: failing, memoryTimeoutMs: 30 });
      const users = worldPool(0, 120);
      const result = await degradedMatcher.matchPool(users);
      expect(result.degraded, mode).toEqual(['embedding-memory']);
      expect(result.sessionHits).toBe(0);
      expect(failing.reads).toBe(1);
      await expectMatchesReference(result, users, tower, undefined);
      expect(degradedMatcher.metrics().degradedCalls).toBe(1);
      // Recomputations that fail to store are counted, never thrown.
      degradedMatcher.onMatchEnded({ a: users[0]!.id, b: users[1]!.id, outcome: { durationSeconds: 30 } });
      await degradedMatcher.flush();
      expect(degradedMatcher.metrics().session.failed).toBe(2);
      await degradedMatcher.close();
    }
    // The caller's pool survives a MatchPool's close.
    expect(models.describe('feature-tower')).toBeDefined();
    expect((await tower.embed([sideOf(world.users[0]!)])).rows).toBe(1);
  });
});

describe('MatchPool lifecycle', () => {
  it('creates and closes its own pool and memory; calls after close reject with ClosedError', async () => {
    const matcher = await MatchPool.create({ models: { featureTower: defaultModelPath('feature-tower') } });
    const result = await matcher.matchPool(worldPool(0, 40));
    expect(result.pairs.length).toBeGreaterThan(0);
    await matcher.close();
    await expect(matcher.matchPool(worldPool(0, 40))).rejects.toBeInstanceOf(ClosedError);
    expect(() => matcher.onMatchEnded({ a: 'a', b: 'b', outcome: { durationSeconds: 1 } })).toThrow(ClosedError);
    await matcher.close(); // idempotent
  });
});

/** Two users of `users` that the filters allow (or forbid) to meet. */
function pairAllowed(users: PoolUser[], allowed: boolean): [PoolUser, PoolUser] {
  for (let i = 0; i < users.length; i++) {
    for (let j = i + 1; j < users.length; j++) if (naiveAllowed(users[i]!, users[j]!) === allowed) return [users[i]!, users[j]!];
  }
  throw new Error(`no ${allowed ? 'allowed' : 'forbidden'} pair in the sample`);
}
