import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { InvalidArgumentError, ModelError } from '../../src/core/errors.js';
import { InProcessEmbeddingMemory } from '../../src/store/in-process-embedding-memory.js';
import { FeatureTower } from '../../src/embed/feature-tower.js';
import { addSessionEmbeddings, embedUsers } from '../../src/embed/full-embedding.js';
import { ModelPool } from '../../src/embed/model-pool.js';
import { SessionTower } from '../../src/embed/session-tower.js';
import type { UserSideInfo } from '../../src/embed/side-info.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tiny-models/${name}`, import.meta.url));
const tolerance = 1e-5;

interface PySide {
  country: number;
  language: number;
  gender: number;
  wants: number;
  age_bucket: number;
  device_language: number;
  account_age_days: number;
  recent_reports: number;
}

const toSide = (u: PySide): UserSideInfo => ({
  country: u.country,
  language: u.language,
  gender: u.gender,
  wants: u.wants,
  ageBucket: u.age_bucket,
  deviceLanguage: u.device_language,
  accountAgeDays: u.account_age_days,
  recentReports: u.recent_reports,
});

function expectClose(actual: Float32Array, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]`).toBeLessThan(tolerance * Math.max(1, Math.abs(expected[i]!)));
  }
}

describe('towers', () => {
  let pool: ModelPool;
  const featureRef = JSON.parse(readFileSync(fixture('feature-tower.expected.json'), 'utf8')) as {
    users: PySide[];
    expected: Array<{ user: number[]; peer: number[] }>;
  };
  const users = featureRef.users.map(toSide);

  beforeAll(async () => {
    pool = new ModelPool({ maxDelayMs: 5, logSeverityLevel: 4 });
    await pool.load('feature-tower', fixture('feature-tower.onnx'));
    await pool.load('session-tower', fixture('session-tower.onnx'));
    await pool.load('echo', fixture('echo.onnx'));
  });
  afterAll(async () => pool.close());

  describe('FeatureTower', () => {
    it('matches the numpy reference for a batch, row by row', async () => {
      const tower = new FeatureTower(pool);
      expect(tower.dim).toBe(64);
      expect(tower.vocab).toMatchObject({ country: 5, language: 4 });
      const out = await tower.embed(users);
      expect(out.rows).toBe(3);
      featureRef.expected.forEach((want, i) => {
        expectClose(out.user.subarray(i * 64, (i + 1) * 64), want.user, `user row ${i}`);
        expectClose(out.peer.subarray(i * 64, (i + 1) * 64), want.peer, `peer row ${i}`);
      });
    });

    it('gives the same rows alone as in a batch (concurrent calls are batched)', async () => {
      const tower = new FeatureTower(pool);
      const together = await tower.embed(users);
      const alone = await Promise.all(users.map((u) => tower.embed([u])));
      alone.forEach((one, i) => expect(Array.from(one.user)).toEqual(Array.from(together.user.subarray(i * 64, (i + 1) * 64))));
    });

    it('checks ids against the model vocabulary, naming the field', async () => {
      const tower = new FeatureTower(pool);
      await expect(tower.embed([users[0]!, { ...users[1]!, country: 5 }])).rejects.toMatchObject({ argument: 'users[1].country' });
      await expect(tower.embed([{ ...users[0]!, wants: 0 }])).rejects.toMatchObject({ argument: 'users[0].wants' });
      await expect(tower.embed([{ ...users[0]!, accountAgeDays: Number.NaN }])).rejects.toMatchObject({ argument: 'users[0].accountAgeDays' });
      await expect(tower.embed([])).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('serves cached rows equal to what the model computes, hits and misses mixed, within its bound (LRU)', async () => {
      let seed = 7;
      const next = (m: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % m;
      };
      const random = (): UserSideInfo => ({
        country: next(5),
        language: next(4),
        gender: next(3),
        wants: 1 + next(7),
        ageBucket: next(7),
        deviceLanguage: next(4),
        accountAgeDays: next(4000) / 7,
        recentReports: next(3),
      });
      const distinct = Array.from({ length: 6 }, random);
      const plain = new FeatureTower(pool);
      const cached = new FeatureTower(pool, { cacheEntries: 4 });
      expect(cached.cacheMetrics()).toEqual({ hits: 0, misses: 0, size: 0, evictions: 0 });
      expect(plain.cacheMetrics()).toBeUndefined();
      const same = async (batch: UserSideInfo[], what: string) => {
        const want = await plain.embed(batch);
        const got = await cached.embed(batch);
        expect(Array.from(got.user), `${what} user`).toEqual(Array.from(want.user));
        expect(Array.from(got.peer), `${what} peer`).toEqual(Array.from(want.peer));
      };
      // Cold, with a tuple repeated inside the batch (computed per repeat, stored once).
      const runs0 = pool.stats().rows;
      await same([distinct[0]!, distinct[1]!, distinct[0]!], 'cold batch');
      expect(pool.stats().rows - runs0).toBe(3 + 3);
      expect(cached.cacheMetrics()).toMatchObject({ hits: 0, misses: 3, size: 2 });
      // Warm: no model row at all.
      const runs1 = pool.stats().rows;
      const warm = await cached.embed([distinct[1]!, distinct[0]!]);
      expect(pool.stats().rows).toBe(runs1);
      expect(Array.from(warm.user.subarray(0, 64))).toEqual(Array.from((await plain.embed([distinct[1]!])).user));
      // Mixed, then past the bound: the oldest tuples go first.
      await same([distinct[2]!, distinct[0]!, distinct[3]!, distinct[4]!, distinct[5]!], 'mixed batch');
      // Six tuples > 4: the least recently used go, down to 90% of the bound (3 kept).
      expect(cached.cacheMetrics()).toMatchObject({ size: 3, evictions: 3 });
      const misses = cached.cacheMetrics()!.misses;
      await cached.embed([distinct[5]!]);
      expect(cached.cacheMetrics()!.misses, 'a newest tuple stays').toBe(misses);
      await cached.embed([distinct[1]!]);
      expect(cached.cacheMetrics()!.misses, 'the least recently used tuple went').toBe(misses + 1);
      await same(distinct, 'after eviction');
      cached.clearCache();
      expect(cached.cacheMetrics()).toMatchObject({ size: 0 });
      // Validation still covers hits: a bad field is named even when the rest is cached.
      await expect(cached.embed([distinct[0]!, { ...distinct[1]!, country: 9 }])).rejects.toMatchObject({ argument: 'users[1].country' });
      expect(() => new FeatureTower(pool, { cacheEntries: -1 })).toThrow(InvalidArgumentError);
      expect(() => new FeatureTower(pool, { cacheEntries: 1.5 })).toThrow(/options\.cacheEntries/);
    });

    it('refuses a model that breaks the tower contract', () => {
      expect(() => new FeatureTower(pool, { model: 'echo' })).toThrow(ModelError);
      expect(() => new FeatureTower(pool, { model: 'not-loaded' })).toThrow(InvalidArgumentError);
    });
  });

  describe('SessionTower', () => {
    const sessionRef = JSON.parse(readFileSync(fixture('session-tower.expected.json'), 'utf8')) as {
      userId: string;
      side: PySide;
      history: Array<{ peerId: string; durationSeconds: number }>;
      user: number[];
      peer: number[];
    };

    it('update() returns at once, and the result lands in the memory (hashing matches Python)', async () => {
      const memory = new InProcessEmbeddingMemory({ dim: 64 });
      const tower = new SessionTower(pool, memory);
      expect(tower.hashing.buckets).toBe(17);
      const result = tower.update(sessionRef.userId, sessionRef.history, toSide(sessionRef.side), { version: 7 });
      expect(result).toBeUndefined();
      expect(tower.metrics().queued + tower.metrics().inFlight).toBe(1);
      expect((await memory.get(sessionRef.userId)).found).toBe(false);
      await tower.flush();
      const hit = await memory.get(sessionRef.userId);
      expect(hit.found).toBe(true);
      if (!hit.found) return;
      expect(hit.embedding.version).toBe(7);
      expectClose(hit.embedding.user, sessionRef.user, 'session user');
      expectClose(hit.embedding.peer, sessionRef.peer, 'session peer');
      expect(tower.metrics().completed).toBe(1);
      expect(tower.metrics().recomputeRatePerSec).toBeGreaterThan(0);
    });

    it('pads histories of different lengths and batches concurrent users', async () => {
      const memory = new InProcessEmbeddingMemory({ dim: 64 });
      const tower = new SessionTower(pool, memory);
      const runs = pool.stats().runs;
      const side = toSide(sessionRef.side);
      for (let k = 0; k < 8; k++) {
        tower.update(`user-${k}`, Array.from({ length: 5 + (k % 3) }, (_, t) => ({ peerId: `p${t}`, durationSeconds: t })), side);
      }
      await tower.flush();
      expect(pool.stats().runs - runs).toBe(1); // lengths 5..7 all pad to 8: one batch
      const batch = await memory.getMany(Array.from({ length: 8 }, (_, k) => `user-${k}`));
      expect(batch.hits).toBe(8);
    });

    it('keeps only the newest of several updates of a user, whatever order they finish in', async () => {
      const memory = new InProcessEmbeddingMemory({ dim: 64 });
      const tower = new SessionTower(pool, memory);
      const side = toSide(sessionRef.side);
      tower.update('u', [{ peerId: 'a', durationSeconds: 10 }], side, { version: 3 });
      tower.update('u', [{ peerId: 'b', durationSeconds: 10 }], side, { version: 1 });
      await tower.flush();
      const hit = await memory.get('u');
      expect(hit.found && hit.embedding.version).toBe(3);
    });

    it('reports failures through events and metrics, never to the caller', async () => {
      const memory = new InProcessEmbeddingMemory({ dim: 64 });
      // A hashing spec larger than the model's table: the Gather fails inside the model.
      const tower = new SessionTower(pool, memory, { hashing: { buckets: 1_000_003, shift: {} } });
      const failures: unknown[] = [];
      tower.on('failed', (error: unknown) => failures.push(error));
      tower.update('x', [{ peerId: 'y', durationSeconds: 1 }], toSide(sessionRef.side));
      await tower.flush();
      expect(tower.metrics().failed).toBe(1);
      expect(failures[0]).toBeInstanceOf(ModelError);
      expect((await memory.get('x')).found).toBe(false);
    });

    it('stores nothing for a cold user and checks arguments before queueing', async () => {
      const memory = new InProcessEmbeddingMemory({ dim: 64 });
      const tower = new SessionTower(pool, memory);
      tower.update('cold', [], toSide(sessionRef.side));
      await tower.flush();
      expect((await memory.get('cold')).found).toBe(false);
      expect(() => tower.update('', [], toSide(sessionRef.side))).toThrow(/userId/);
      expect(() => tower.update('u', [{ peerId: 'p', durationSeconds: -1 }], toSide(sessionRef.side))).toThrow(/history\[0\]\.durationSeconds/);
      expect(() => tower.update('u', [], { ...toSide(sessionRef.side), country: 99 })).toThrow(/sideInfo\.country/);
      expect(() => new SessionTower(pool, new InProcessEmbeddingMemory({ dim: 8 }))).toThrow(/memory/);
    });

    it('drops the oldest waiting update when its queue is full', async () => {
      const memory = new InProcessEmbeddingMemory({ dim: 64 });
      const tower = new SessionTower(pool, memory, { maxPending: 2, concurrency: 1 });
      const side = toSide(sessionRef.side);
      for (const id of ['a', 'b', 'c', 'd']) tower.update(id, [{ peerId: 'p', durationSeconds: 1 }], side);
      await tower.flush();
      // 'a' started at once; 'b' was dropped for 'd'.
      expect(tower.metrics().dropped).toBe(1);
      expect(Array.from((await memory.getMany(['a', 'b', 'c', 'd'])).found)).toEqual([1, 0, 1, 1]);
    });
  });

  describe('full embeddings', () => {
    it('adds session rows to feature rows; a cold user keeps the feature embedding', async () => {
      const memory = new InProcessEmbeddingMemory({ dim: 64 });
      const feature = new FeatureTower(pool);
      const session = { user: new Float32Array(64).fill(0.5), peer: new Float32Array(64).fill(-1) };
      await memory.put('warm', { ...session, version: 1 });
      const full = await embedUsers(feature, memory, [
        { id: 'warm', side: users[0]! },
        { id: 'cold', side: users[1]! },
      ]);
      const base = await feature.embed([users[0]!, users[1]!]);
      expect(Array.from(full.sessionFound)).toEqual([1, 0]);
      expect(full.degraded).toBe(false);
      for (let j = 0; j < 64; j++) {
        expect(full.user[j]).toBeCloseTo(base.user[j]! + 0.5, 5);
        expect(full.peer[j]).toBeCloseTo(base.peer[j]! - 1, 5);
        expect(full.user[64 + j]).toBe(base.user[64 + j]);
      }
    });

    it('checks that the shapes agree', () => {
      const feature = { rows: 2, dim: 2, user: new Float32Array(4), peer: new Float32Array(4) };
      expect(() => addSessionEmbeddings(feature, { dim: 2, user: new Float32Array(3), peer: new Float32Array(4) })).toThrow(/session\.user/);
      const sum = addSessionEmbeddings(feature, { dim: 2, user: Float32Array.of(1, 2, 3, 4), peer: new Float32Array(4) });
      expect(Array.from(sum.user)).toEqual([1, 2, 3, 4]);
      expect(Array.from(feature.user)).toEqual([0, 0, 0, 0]);
    });

    it('adds in place, natively, as float32 sums of the same rows (odd lengths, views into larger buffers)', () => {
      const rows = 37;
      const dim = 3;
      const random = (k: number) => Math.fround(Math.sin(k * 12.9898) * 43.758);
      const backing = new Float32Array(rows * dim + 5).map((_, k) => random(k));
      const feature = { rows, dim, user: backing.subarray(2, 2 + rows * dim), peer: Float32Array.from({ length: rows * dim }, (_, k) => random(k + 900)) };
      const session = { dim, user: Float32Array.from({ length: rows * dim }, (_, k) => random(k + 300)), peer: Float32Array.from({ length: rows * dim }, (_, k) => random(k + 600)) };
      const want = { user: feature.user.map((x, k) => Math.fround(x + session.user[k]!)), peer: feature.peer.map((x, k) => Math.fround(x + session.peer[k]!)) };
      const before = [backing[0], backing[1], backing.at(-3), backing.at(-2), backing.at(-1)];
      const sum = addSessionEmbeddings(feature, session, { inPlace: true });
      expect(sum.user).toBe(feature.user);
      expect(Array.from(sum.user)).toEqual(Array.from(want.user));
      expect(Array.from(sum.peer)).toEqual(Array.from(want.peer));
      // Nothing outside the view changed.
      expect([backing[0], backing[1], backing.at(-3), backing.at(-2), backing.at(-1)]).toEqual(before);
    });
  });
});
