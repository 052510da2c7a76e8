import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { InvalidArgumentError, ModelError } from '../../src/core/errors.js';
import { ModelPool } from '../../src/embed/model-pool.js';
import type { UserSideInfo } from '../../src/embed/side-info.js';
import { headsOf, parseMatchHeads } from '../../src/match/match-heads.js';
import { MatchHistory } from '../../src/match/match-history.js';
import { MatchPool, type PoolUser } from '../../src/match/match-pool.js';
import { filterOrder, languageBits, poolFilters } from '../../src/match/pool-filters.js';
import { InProcessEmbeddingMemory } from '../../src/store/in-process-embedding-memory.js';
import { seededRandom } from '../reference/random.js';

const side: UserSideInfo = { country: 3, language: 1, gender: 0, wants: 2, ageBucket: 2, deviceLanguage: 1, accountAgeDays: 30, recentReports: 0 };
const user = (id: string, extra: Partial<PoolUser> = {}): PoolUser => ({ id, side: { ...side }, ...extra });

describe('MatchPool argument checks', () => {
  let models: ModelPool;
  let matcher: MatchPool;

  beforeAll(async () => {
    models = new ModelPool({ threads: 1, logSeverityLevel: 4 });
    matcher = await MatchPool.create({ pool: models });
  });
  afterAll(async () => {
    await matcher.close();
    await models.close();
  });

  const cases: Array<[string, unknown, string]> = [
    ['an empty pool', [], 'users'],
    ['not an array', { id: 'a' }, 'users'],
    ['a duplicate id', [user('a'), user('b'), user('a')], 'users[2].id'],
    ['a numeric id', [user('a'), { ...user('b'), id: 7 }], 'users[1].id'],
    ['an empty id', [user('')], 'users[0].id'],
    ['no side', [{ id: 'a' }], 'users[0].side'],
    ['a missing side field', [user('a'), { id: 'b', side: { ...side, country: undefined } }], 'users[1].side.country'],
    ['a side field left out', [{ id: 'a', side: (({ ageBucket: _, ...rest }) => rest)(side) }], 'users[0].side.ageBucket'],
    ['an unknown side field', [{ id: 'a', side: { ...side, age: 3 } }], 'users[0].side.age'],
    ['an unknown user field', [{ ...user('a'), blockd: ['b'] }], 'users[0].blockd'],
    // As many keys as expected, one of them unknown: the count alone would not tell.
    ['an unknown side field in place of a known one', [{ id: 'a', side: { ...(({ ageBucket: _, ...rest }) => rest)(side), age: 3 } }], 'users[0].side.age'],
    ['an unknown user field beside all the known ones', [{ ...user('a'), languages: [1], blocked: [], blockd: ['b'] }], 'users[0].blockd'],
    ['a country outside the vocabulary', [{ id: 'a', side: { ...side, country: 12 } }], 'users[0].side.country'],
    ['wants nobody (0)', [{ id: 'a', side: { ...side, wants: 0 } }], 'users[0].side.wants'],
    ['wants a bit past the genders (8)', [{ id: 'a', side: { ...side, wants: 8 } }], 'users[0].side.wants'],
    ['a gender outside 0–2', [{ id: 'a', side: { ...side, gender: 3 } }], 'users[0].side.gender'],
    ['a negative account age', [{ id: 'a', side: { ...side, accountAgeDays: -1 } }], 'users[0].side.accountAgeDays'],
    ['no languages', [user('a', { languages: [] })], 'users[0].languages'],
    ['a language past 31', [user('a', { languages: [1, 32] })], 'users[0].languages[1]'],
    ['a fractional language', [user('a', { languages: [1.5] })], 'users[0].languages[0]'],
    ['blocked not an array', [{ ...user('a'), blocked: 'b' }], 'users[0].blocked'],
    ['a blocked id that is not a string', [user('a'), user('b', { blocked: ['a', 3 as unknown as string] })], 'users[1].blocked[1]'],
  ];

  it.each(cases)('rejects %s, naming the argument', async (_what, users, argument) => {
    const error = await matcher.matchPool(users as PoolUser[]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
    expect((error as InvalidArgumentError).code).toBe('ERR_KINDRED_INVALID_ARGUMENT');
  });

  it('allows blocked ids that are not in the pool (block lists outlive pools) and self-blocks', async () => {
    const a = user('a', { blocked: ['stranger', 'a'] });
    const b = { id: 'b', side: { ...side, gender: 1, wants: 1 } };
    const result = await matcher.matchPool([a, b]);
    expect(result.pairs.map((p) => [p.a, p.b])).toEqual([['a', 'b']]);
  });

  it('rejects a bad signal and bad onMatchEnded events', async () => {
    await expect(matcher.matchPool([user('a')], { signal: 'soon' as unknown as AbortSignal })).rejects.toMatchObject({ argument: 'options.signal' });
    const bad: Array<[unknown, string]> = [
      [{ a: '', b: 'x', outcome: { durationSeconds: 1 } }, 'event.a'],
      [{ a: 'x', b: 5, outcome: { durationSeconds: 1 } }, 'event.b'],
      [{ a: 'x', b: 'x', outcome: { durationSeconds: 1 } }, 'event.b'],
      [{ a: 'x', b: 'y', outcome: { durationSeconds: -1 } }, 'event.outcome.durationSeconds'],
      [{ a: 'x', b: 'y', outcome: { durationSeconds: Number.NaN } }, 'event.outcome.durationSeconds'],
      [{ a: 'x', b: 'y', outcome: 12 }, 'event.outcome'],
    ];
    for (const [event, argument] of bad) {
      expect(() => matcher.onMatchEnded(event as never), argument).toThrow(expect.objectContaining({ argument }));
    }
  });

  it('checks its options and the memory width', async () => {
    await expect(MatchPool.create({ pool: models, threads: 0 })).rejects.toMatchObject({ argument: 'options.threads' });
    await expect(MatchPool.create({ pool: models, matching: { rounds: 0 } })).rejects.toMatchObject({ argument: 'options.matching.rounds' });
    await expect(MatchPool.create({ pool: models, memoryTimeoutMs: 0 })).rejects.toMatchObject({ argument: 'options.memoryTimeoutMs' });
    await expect(MatchPool.create({ pool: {} as ModelPool })).rejects.toMatchObject({ argument: 'options.pool' });
    await expect(MatchPool.create({ pool: models, memory: new InProcessEmbeddingMemory({ dim: 32 }) })).rejects.toMatchObject({
      argument: 'options.memory',
    });
    await expect(MatchPool.create({ models: { featureTower: '/nonexistent/feature-tower.onnx' } })).rejects.toBeInstanceOf(ModelError);
  });
});

describe('parseMatchHeads', () => {
  const projection = (rows: number, cols: number) => Array.from({ length: rows * cols }, (_, k) => k / 100);

  it('reads projections row-major (64×d) and stores them transposed (d×64)', () => {
    const raw = [
      { name: 'a', weight: 1, transform: { kind: 'exp', w: 1, b: 0.1 }, userProjection: null, peerProjection: null, dim: 4 },
      { name: 'b', weight: 20, transform: { kind: 'identity' }, userProjection: projection(4, 3), peerProjection: projection(4, 3), dim: 3 },
    ];
    const heads = parseMatchHeads(raw, 4);
    expect(heads.map((h) => [h.name, h.dim, h.weight, h.transform.kind])).toEqual([
      ['a', 4, 1, 'exp'],
      ['b', 3, 20, 'identity'],
    ]);
    // P[k][t] = (k·3 + t)/100 ends up at [t·4 + k].
    expect(heads[1]!.userProjection![2 * 4 + 1]).toBeCloseTo((1 * 3 + 2) / 100, 6);
    expect(parseMatchHeads(undefined, 8)).toMatchObject([{ dim: 8, weight: 1, transform: { kind: 'exp', w: 1, b: 0 } }]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an array', { name: 'a' }, /kindred\.heads: expected an array/],
    ['a zero weight', [{ weight: 0, dim: 4, userProjection: null, peerProjection: null }], /\[0\]\.weight/],
    ['an unknown transform', [{ transform: { kind: 'log' }, dim: 4, userProjection: null, peerProjection: null }], /\[0\]\.transform/],
    ['a dim without projection other than the model width', [{ dim: 3, userProjection: null, peerProjection: null }], /\[0\]\.dim/],
    ['a projection of the wrong size', [{ dim: 3, userProjection: projection(4, 2), peerProjection: projection(4, 3) }], /\[0\]\.userProjection/],
    ['a projection on one side only', [{ dim: 3, userProjection: projection(4, 3), peerProjection: null }], /\[0\]\.peerProjection/],
    ['a NaN in a projection', [{ dim: 3, userProjection: projection(4, 3), peerProjection: [...projection(4, 3).slice(1), null] }], /entry 11/],
  ];
  it.each(bad)('refuses %s with a ModelError naming the head', (_what, raw, message) => {
    expect(() => parseMatchHeads(raw, 4)).toThrow(ModelError);
    expect(() => parseMatchHeads(raw, 4)).toThrow(message);
  });

  it('gives matchEmbeddings each head with its projections (dim × inputDim, as user · P uses them)', () => {
    const P = projection(4, 3).map((x) => x - 0.05);
    const heads = parseMatchHeads([{ dim: 3, userProjection: P, peerProjection: P }, { weight: 2 }], 4);
    const u = new Float32Array(5 * 4);
    const [projected, plain] = headsOf(heads, u, u, 4);
    expect(projected).toMatchObject({ user: u, peer: u, dim: 3, inputDim: 4, weight: 1 });
    // Row t of the stored projection is column t of P (P row-major, 4 × 3).
    for (let t = 0; t < 3; t++) {
      for (let k = 0; k < 4; k++) expect(projected!.userProjection![t * 4 + k]).toBe(Math.fround(P[k * 3 + t]!));
    }
    expect(plain).toEqual({ user: u, peer: u, dim: 4, transform: { kind: 'exp', w: 1, b: 0 }, weight: 2 });
  });
});

describe('poolFilters', () => {
  it('builds gender/wants, language bitsets and blocked row pairs (strangers and self-blocks dropped)', () => {
    const users = [
      { gender: 0, wants: 2, languages: [1, 3] },
      { gender: 1, wants: 1, languages: [3], blocked: ['u0', 'ghost', 'u1'] },
      { gender: 2, wants: 7, languages: [31] },
    ];
    const filters = poolFilters(users, ['u0', 'u1', 'u2']);
    expect(Array.from(filters.mutual[0]!.attr)).toEqual([0, 1, 2]);
    expect(Array.from(filters.mutual[0]!.accepts)).toEqual([2, 1, 7]);
    expect(Array.from(filters.overlap[0]!)).toEqual([0b1010, 0b1000, 2 ** 31]);
    expect(Array.from(filters.blocked)).toEqual([1, 0]);
  });

  it('checks languages, naming the entry', () => {
    expect(languageBits([0, 31], 'x')).toBe((1 | 2 ** 31) >>> 0);
    expect(() => languageBits([2, -1], 'users[4].languages')).toThrow(expect.objectContaining({ argument: 'users[4].languages[1]' }));
  });
});

describe('MatchHistory', () => {
  it('keeps the last maxEntries matches per user and forgets the least recently touched user', () => {
    const history = new MatchHistory({ maxUsers: 2, maxEntries: 3 });
    for (let k = 0; k < 5; k++) history.append('a', { peerId: `p${k}`, durationSeconds: k });
    expect(history.get('a')!.entries.map((e) => e.peerId)).toEqual(['p2', 'p3', 'p4']);
    history.remember('b', side);
    history.append('a', { peerId: 'p5', durationSeconds: 5 }); // a is now the most recent
    history.remember('c', side); // evicts b
    expect(history.get('b')).toBeUndefined();
    expect(history.get('a')!.entries.length).toBe(3);
    expect(history.get('c')!.side).toEqual(side);
    expect(history.evicted).toBe(1);
    expect(() => new MatchHistory({ maxEntries: 0 })).toThrow(expect.objectContaining({ argument: 'options.maxEntries' }));
  });
});

describe('filterOrder', () => {
  it('is a permutation sorted by gender, then wants, with ties in pool order (a naive sort agrees)', () => {
    const random = seededRandom(41);
    for (const n of [0, 1, 7, 500]) {
      const users = Array.from({ length: n }, () => ({
        gender: Math.floor(random() * 3),
        wants: 1 + Math.floor(random() * 7),
        languages: [Math.floor(random() * 4)],
      }));
      const order = Array.from(filterOrder(users));
      const naive = users
        .map((u, i) => ({ u, i }))
        .sort((a, b) => a.u.gender - b.u.gender || a.u.wants - b.u.wants || a.i - b.i)
        .map((x) => x.i);
      expect(order).toEqual(naive);
    }
  });
});
