import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { pinnerSage } from '../../src/cluster/pinner-sage.js';
import { AbortError, InvalidArgumentError, UnknownTwiddlerError } from '../../src/core/errors.js';
import { Feed, type FeedOptions, type RankFeedResult } from '../../src/feed/feed.js';
import { ItemCatalogue } from '../../src/feed/item-catalogue.js';
import { MemoryActionLog } from '../../src/store/memory-action-log.js';
import { activeUsers, bruteForceTopK, DAY, historyOf, setUp, topics, twiddlers, world, type WorldSetup } from './world-feed.js';

let setup: WorldSetup;

beforeAll(async () => {
  setup = await setUp();
});

afterAll(async () => {
  await setup?.pool.close();
});

function makeFeed(options: Partial<FeedOptions> = {}): Feed {
  return new Feed({
    index: setup.index,
    items: world.items,
    ranker: setup.ranker,
    actionLog: new MemoryActionLog(),
    twiddlers,
    anchors: { threshold: 6 },
    ...options,
  });
}

const ids = (result: RankFeedResult) => result.items.map((i) => i.itemId);

/** Positions of items sharing a category or author must be ≥ minGap apart. */
function gapViolations(result: RankFeedResult, minGap: number): number {
  let violations = 0;
  const items = result.items.map((i) => world.items[i.itemId as number]!);
  for (let a = 0; a < items.length; a++) {
    for (let b = a + 1; b < Math.min(items.length, a + minGap); b++) {
      if (items[a]!.category === items[b]!.category || items[a]!.author === items[b]!.author) violations++;
    }
  }
  return violations;
}

describe('Feed.rankFeed on the synthetic world', () => {
  it("fills the top of the feed with the user's clicked topics, never with history items", async () => {
    const feed = makeFeed();
    const users = activeUsers(15);
    expect(users.length).toBeGreaterThan(10);
    for (const user of users) {
      const { history, now } = historyOf(user);
      const result = await feed.rankFeed(String(user.userId), { history, now, limit: 20 });
      expect(result.degraded).toEqual([]);
      expect(result.items.length).toBe(20);
      const seen = new Set(history.map((h) => h.itemId));
      for (const id of ids(result)) expect(seen.has(id as number), `user ${user.userId} got history item ${id}`).toBe(false);
      const clicked = topics(user.clicks.filter((c) => c.dwellMs >= 3000).map((c) => c.itemId));
      const fed = topics(ids(result));
      const fromClicked = fed.reduce((sum, count, topic) => sum + (clicked[topic]! >= 2 ? count : 0), 0);
      // The catalogue share of those topics is far lower (12 topics); the feed is ≥ 90% theirs.
      expect(fromClicked / 20, `user ${user.userId}: clicked ${clicked} fed ${fed}`).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('ranks by pCTR without twiddlers, retrieves each item near its anchor, and anchors are PinnerSage medoids', async () => {
    const feed = makeFeed({ twiddlers: [], candidatesPerAnchor: 300 });
    const user = activeUsers(30)[0]!;
    const { history, now } = historyOf(user);
    const result = await feed.rankFeed(String(user.userId), { history, now, limit: 40, explain: true });
    // pCTR order (non-increasing), score = pCTR.
    for (let i = 1; i < result.items.length; i++) expect(result.items[i]!.pctr!).toBeLessThanOrEqual(result.items[i - 1]!.pctr!);
    for (const item of result.items) expect(item.score).toBe(item.pctr);
    // The pCTRs are the ranker's for this user, context and history (a direct call agrees).
    const positives = history.filter((h) => h.dwellMs! >= 3000).sort((a, b) => a.at - b.at);
    const direct = await setup.ranker.score({
      user: String(user.userId),
      context: { hour: new Date(now).getUTCHours(), device: 0 },
      history: positives.slice(-32).map((h) => h.itemId),
      items: result.items.map((i) => {
        const w = world.items[i.itemId as number]!;
        return { id: w.id, category: w.category, author: w.author };
      }),
    });
    result.items.forEach((item, i) => expect(item.pctr).toBeCloseTo(direct[i]!, 6));
    // Anchors: the PinnerSage medoids of the positive history.
    const embeddings = new Float32Array(positives.length * world.dim);
    positives.forEach((h, i) => embeddings.set(world.items[h.itemId as number]!.vector, i * world.dim));
    const sage = await pinnerSage({
      embeddings,
      n: positives.length,
      dim: world.dim,
      timestamps: positives.map((h) => h.at),
      now,
      itemIds: positives.map((h) => h.itemId),
      threshold: 6,
      maxAnchors: 5,
    });
    const anchorIds = new Set(sage.anchors.map((a) => a.itemId));
    expect(result.stats.anchors).toBe(sage.anchors.length);
    for (const item of result.items) {
      expect(anchorIds.has(item.anchor)).toBe(true);
      expect(item.explain!.anchors[0]!.anchorId).toBe(item.anchor);
      // Retrieved from the anchor's brute-force cosine top-300.
      const near = bruteForceTopK(world.items[item.anchor as number]!.vector, 300);
      expect(near).toContain(item.itemId);
    }
  });

  it('moves items the user recently saw down (downrank), and explains the move', async () => {
    const user = activeUsers(30)[1]!;
    const { history, now } = historyOf(user);
    // The world is dated: the log's retention clock must be the request's.
    const log = new MemoryActionLog({ now: () => now });
    const feed = makeFeed({ actionLog: log });
    const userId = String(user.userId);
    const before = await feed.rankFeed(userId, { history, now, limit: 30 });
    const seen = ids(before).slice(0, 3);
    for (const id of seen) {
      for (let k = 0; k < 3; k++) await log.record({ userId, itemId: String(id), action: 'impression', at: now - 1000 * (k + 1) });
    }
    const after = await feed.rankFeed(userId, { history, now, limit: 30, explain: true });
    for (const id of seen) {
      const was = ids(before).indexOf(id);
      const is = ids(after).indexOf(id);
      expect(is === -1 || is > was, `item ${id} was at ${was}, now at ${is}`).toBe(true);
    }
    // The items that took their places were never moved by downrank.
    const top = after.items.slice(0, 3);
    for (const item of top) expect(seen).not.toContain(item.itemId);
    // Explain: a downranked item that is still listed carries the downrank move and its reason.
    const deep = await feed.rankFeed(userId, { history, now, limit: 5000, explain: true });
    const listed = deep.items.filter((i) => seen.includes(i.itemId));
    expect(listed.length).toBe(3);
    for (const item of listed) {
      const move = item.explain!.moves.find((m) => m.label === 'downrank');
      expect(move).toBeDefined();
      expect(move!.keyAfter).toBeCloseTo(move!.keyBefore * 0.5, 9);
      expect(move!.reason).toMatch(/impression/);
    }
    // Actions older than the window have no effect.
    const old = new MemoryActionLog({ now: () => now });
    for (const id of seen) for (let k = 0; k < 3; k++) await old.record({ userId, itemId: String(id), action: 'impression', at: now - 2 * DAY });
    const stale = await makeFeed({ actionLog: old }).rankFeed(userId, { history, now, limit: 30 });
    expect(ids(stale)).toEqual(ids(before));
  });

  it('keeps the interval min gap for category and author in the returned list', async () => {
    const feed = makeFeed();
    for (const user of activeUsers(20).slice(0, 8)) {
      const { history, now } = historyOf(user);
      const result = await feed.rankFeed(String(user.userId), { history, now, limit: 30 });
      expect(gapViolations(result, 3), `user ${user.userId}`).toBe(0);
    }
    // Without the interval twiddler the same feeds do put same-category items next to each other.
    const plain = makeFeed({ twiddlers: twiddlers.slice(0, 2) });
    let violations = 0;
    for (const user of activeUsers(20).slice(0, 8)) {
      const { history, now } = historyOf(user);
      violations += gapViolations(await plain.rankFeed(String(user.userId), { history, now, limit: 30 }), 3);
    }
    expect(violations).toBeGreaterThan(0);
  });

  it('treats short-dwell clicks as false positives: excluded, never anchors, and similar items pushed down', async () => {
    const feed = makeFeed({ twiddlers: twiddlers.slice(1, 2) });
    const user = activeUsers(30)[2]!;
    const { history, now } = historyOf(user);
    const userId = String(user.userId);
    const base = await feed.rankFeed(userId, { history, now, limit: 30, explain: true });
    // Mark the category of the feed's top item as a mistake: one of its items, clicked for 1 s.
    const top = world.items[base.items[0]!.itemId as number]!;
    const mistake = world.items.find((i) => i.category === top.category && i.id !== top.id && !history.some((h) => h.itemId === i.id))!;
    const withMistake = [...history, { itemId: mistake.id, at: now - 5000, dwellMs: 1000 }];
    const result = await feed.rankFeed(userId, { history: withMistake, now, limit: 30, explain: true });
    expect(result.stats.falsePositives).toBe(base.stats.falsePositives + 1);
    expect(ids(result)).not.toContain(mistake.id);
    for (const item of result.items) expect(item.anchor).not.toBe(mistake.id);
    const sameCategory = (r: RankFeedResult) => r.items.filter((i) => world.items[i.itemId as number]!.category === top.category).length;
    expect(sameCategory(result)).toBeLessThan(sameCategory(base));
    // The same item also engaged with for real is no false positive; a repeated mistake counts once.
    const twice = await feed.rankFeed(userId, { history: [...withMistake, { itemId: mistake.id, at: now - 4000, dwellMs: 1000 }], now, limit: 30 });
    expect(twice.stats.falsePositives).toBe(result.stats.falsePositives);
    const redeemed = await feed.rankFeed(userId, { history: [...withMistake, { itemId: mistake.id, at: now - 4000, dwellMs: 60_000 }], now, limit: 30 });
    expect(redeemed.stats.falsePositives).toBe(base.stats.falsePositives);
    const wasTop = result.items.find((i) => i.itemId === top.id);
    if (wasTop !== undefined) expect(wasTop.explain!.moves.some((m) => m.label === 'false-positive')).toBe(true);
  });

  it('explains every item: the anchors that found it, its pCTR, ranker position and each twiddler move', async () => {
    const log = new MemoryActionLog();
    const feed = makeFeed({ actionLog: log });
    const user = activeUsers(30)[3]!;
    const { history, now } = historyOf(user);
    const plain = await feed.rankFeed(String(user.userId), { history, now, limit: 25 });
    for (const item of plain.items) expect(item.explain).toBeUndefined();
    const result = await feed.rankFeed(String(user.userId), { history, now, limit: 25, explain: true });
    expect(ids(result)).toEqual(ids(plain));
    let moved = 0;
    for (const item of result.items) {
      const e = item.explain!;
      expect(e.pctr).toBe(item.pctr);
      expect(e.anchors.length).toBeGreaterThan(0);
      for (let a = 1; a < e.anchors.length; a++) expect(e.anchors[a]!.score).toBeLessThanOrEqual(e.anchors[a - 1]!.score);
      expect(e.retrievalScore).toBe(e.anchors[0]!.score);
      expect(e.rankerPosition).toBeGreaterThanOrEqual(0);
      for (const m of e.moves) {
        expect(['downrank', 'false-positive', 'interval']).toContain(m.label);
        expect(m.itemId).toBe(String(item.itemId));
        expect(typeof m.reason).toBe('string');
        moved++;
      }
    }
    // The interval twiddler moves something in a 25-item feed of a few categories.
    expect(moved).toBeGreaterThan(0);
  });

  it('applies per-request overrides (A/B tests) without changing the feed', async () => {
    const feed = makeFeed();
    const user = activeUsers(30)[0]!;
    const { history, now } = historyOf(user);
    const userId = String(user.userId);
    const none = await feed.rankFeed(userId, { history, now, limit: 30, overrides: { chain: [] } });
    for (let i = 1; i < none.items.length; i++) expect(none.items[i]!.pctr!).toBeLessThanOrEqual(none.items[i - 1]!.pctr!);
    const wide = await feed.rankFeed(userId, { history, now, limit: 30, overrides: { params: { interval: { minGap: 6 } } } });
    expect(gapViolations(wide, 6)).toBeLessThan(gapViolations(none, 6));
    const configured = await feed.rankFeed(userId, { history, now, limit: 30 });
    expect(ids(configured)).not.toEqual(ids(none));
    expect(feed.twiddlers).toEqual(['downrank', 'false-positive', 'interval']);
  });

  it('gives the same feed with the anchor memo, the twiddle window and the cache as without them', async () => {
    const fast = makeFeed();
    const exact = makeFeed({ anchors: { threshold: 6, memoUsers: 0 }, twiddleDepth: 1_000_000, cache: false });
    for (const user of activeUsers(15).slice(0, 10)) {
      const { history, now } = historyOf(user);
      const userId = String(user.userId);
      for (const at of [now, now + 3 * DAY]) {
        const a = await fast.rankFeed(userId, { history, now: at, limit: 40, context: { hour: 20 } });
        const b = await exact.rankFeed(userId, { history, now: at, limit: 40, context: { hour: 20 } });
        expect(ids(a), `user ${userId} at +${at - now}`).toEqual(ids(b));
        expect(a.items.map((i) => i.score)).toEqual(b.items.map((i) => i.score));
        if (at !== now) expect(a.stats.anchorsMemoized).toBe(true);
        expect(b.stats.anchorsMemoized).toBe(false);
      }
    }
    // A new click changes the clustered history: the memo misses and clusters again.
    const user = activeUsers(15)[0]!;
    const { history, now } = historyOf(user);
    const fresh = world.items.find((i) => !history.some((h) => h.itemId === i.id))!;
    const grown = [...history, { itemId: fresh.id, at: now - 1, dwellMs: 20_000 }];
    await fast.rankFeed(String(user.userId), { history: grown, now, limit: 5 });
    const again = await fast.rankFeed(String(user.userId), { history: grown, now, limit: 5 });
    expect(again.stats.anchorsMemoized).toBe(true);
    const changed = await fast.rankFeed(String(user.userId), { history, now, limit: 5 });
    expect(changed.stats.anchorsMemoized).toBe(false);
    // A history time after now is clamped, which bypasses the memo.
    const future = [...history, { itemId: fresh.id, at: now + 60_000, dwellMs: 20_000 }];
    await fast.rankFeed(String(user.userId), { history: future, now, limit: 5 });
    expect((await fast.rankFeed(String(user.userId), { history: future, now, limit: 5 })).stats.anchorsMemoized).toBe(false);
    const stats = fast.cacheStats()!;
    expect(stats.hits).toBeGreaterThan(0);
    expect(exact.cacheStats()).toBeUndefined();
  });

  it('gives the whole list’s top items from a small twiddle window that has to grow (several runs)', async () => {
    const exact = makeFeed({ twiddleDepth: 1_000_000 });
    const small = makeFeed({ twiddleDepth: 1 });
    let grown = 0;
    for (const user of activeUsers(15).slice(0, 10)) {
      const { history, now } = historyOf(user);
      for (const limit of [1, 3, 12]) {
        const a = await small.rankFeed(String(user.userId), { history, now, limit, context: { hour: 20 } });
        const b = await exact.rankFeed(String(user.userId), { history, now, limit, context: { hour: 20 } });
        expect(ids(a), `user ${user.userId}, limit ${limit}`).toEqual(ids(b));
        expect(a.items.map((i) => i.score)).toEqual(b.items.map((i) => i.score));
        if (a.stats.twiddled > 4 * limit) grown++;
      }
    }
    // The window really grew past its first size on some requests.
    expect(grown).toBeGreaterThan(0);
  });

  it('returns an empty feed for a user without positive history', async () => {
    const feed = makeFeed();
    const result = await feed.rankFeed('cold', { history: [{ itemId: 1, at: 1000, dwellMs: 200 }], now: 2000 });
    expect(result.items).toEqual([]);
    expect(result.stats.falsePositives).toBe(1);
    expect((await feed.rankFeed('cold', { history: [] })).items).toEqual([]);
  });

  it('uses given vectors for history items outside the catalogue and ignores unknown ones', async () => {
    const feed = makeFeed();
    const user = activeUsers(30)[0]!;
    const { history, now } = historyOf(user);
    const userId = String(user.userId);
    const base = await feed.rankFeed(userId, { history, now, limit: 20 });
    const unknown = await feed.rankFeed(userId, { history: [...history, { itemId: 'gone', at: now - 1 }], now, limit: 20 });
    expect(ids(unknown)).toEqual(ids(base));
    // A history made only of outside items with given vectors (copies of a topic's items) still anchors.
    const topic4 = world.items.filter((i) => i.topic === 4).slice(0, 12);
    const outside = topic4.map((i, k) => ({ itemId: `ext-${k}`, at: now - k * 1000, dwellMs: 10_000, vector: i.vector }));
    const result = await feed.rankFeed(userId, { history: outside, now, limit: 20 });
    expect(result.items.length).toBe(20);
    expect(topics(ids(result))[4]).toBeGreaterThanOrEqual(18);
  });
});

describe('Feed argument checks', () => {
  it('rejects bad histories with InvalidArgumentError naming the entry and field', async () => {
    const feed = makeFeed();
    const nan = new Float32Array(world.dim);
    nan[3] = Number.NaN;
    const cases: Array<[unknown, string]> = [
      [[{ itemId: 'x', at: 1, vector: nan }], 'options.history[0].vector'],
      [[{ itemId: 1, at: 1 }, { itemId: 'y', at: 1, vector: new Float32Array(world.dim - 1) }], 'options.history[1].vector'],
      [[{ itemId: 1, at: Number.NaN }], 'options.history[0].at'],
      [[{ itemId: 1, at: 1, dwellMs: -1 }], 'options.history[0].dwellMs'],
      [[{ itemId: {}, at: 1 }], 'options.history[0].itemId'],
      [[null], 'options.history[0]'],
      ['nope', 'options.history'],
    ];
    for (const [history, argument] of cases) {
      const error = await feed.rankFeed('u', { history: history as never, now: 10 }).catch((e: unknown) => e);
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it('rejects a bad user, limit, now, context and overrides before doing any work', async () => {
    const feed = makeFeed();
    const history = [{ itemId: 1, at: 1 }];
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => feed.rankFeed('', { history }), 'user'],
      [() => feed.rankFeed(42 as never, { history }), 'user'],
      [() => feed.rankFeed('u', undefined as never), 'options'],
      [() => feed.rankFeed('u', { history, limit: 0 }), 'options.limit'],
      [() => feed.rankFeed('u', { history, now: Number.POSITIVE_INFINITY }), 'options.now'],
      [() => feed.rankFeed('u', { history, context: { hour: 25 } }), 'options.context.hour'],
      [() => feed.rankFeed('u', { history, context: { device: {} as never } }), 'options.context.device'],
      [() => feed.rankFeed('u', { history, overrides: { params: { interval: { minGap: -1 } } } }), 'options.overrides.params.interval.minGap'],
    ];
    for (const [call, argument] of cases) {
      const error = await call().catch((e: unknown) => e);
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
    const unknown = await feed.rankFeed('u', { history, overrides: { append: [{ name: 'nope' }] } }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnknownTwiddlerError);
    expect((unknown as UnknownTwiddlerError).argument).toMatch(/^options\.overrides\.append/);
  });

  it('rejects bad feed options naming them', () => {
    const base = { index: setup.index, items: world.items, ranker: setup.ranker, anchors: { threshold: 6 } };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, anchors: {} }, 'options.anchors.threshold'],
      [{ ...base, anchors: { threshold: 6, maxAnchors: 0 } }, 'options.anchors.maxAnchors'],
      [{ ...base, index: {} }, 'options.index'],
      [{ ...base, ranker: undefined }, 'options.ranker'],
      [{ ...base, actionLog: 5 }, 'options.actionLog'],
      [{ ...base, limit: 0 }, 'options.limit'],
      [{ ...base, actionLogTimeoutMs: 0 }, 'options.actionLogTimeoutMs'],
      [{ ...base, items: [{ id: 1, category: 'c', author: 'a', vector: new Float32Array(3) }] }, 'options.items[0].vector'],
      [{ ...base, items: [{ id: 1, category: 'c', author: 'a', vector: world.items[0]!.vector }, { id: '1', category: 'c', author: 'a', vector: world.items[0]!.vector }] }, 'options.items[1].id'],
      [{ ...base, twiddlers: [{ name: 'interval', params: { keys: [], minGap: 2 } }] }, 'options.twiddlers[0].params.keys'],
      [{ ...base, items: new ItemCatalogue({ dim: 8 }) }, 'options.items'],
    ];
    for (const [options, argument] of cases) {
      let error: unknown;
      try {
        new Feed(options as unknown as FeedOptions);
      } catch (e) {
        error = e;
      }
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
      expect((error as Error).message).toContain(argument);
    }
  });
});

describe('Feed cancellation', () => {
  it('rejects with AbortError for an aborted signal, and when aborted mid-request', async () => {
    const feed = makeFeed({ cache: false, anchors: { threshold: 6, memoUsers: 0 } });
    const user = activeUsers(30)[0]!;
    const { history, now } = historyOf(user);
    const controller = new AbortController();
    controller.abort();
    await expect(feed.rankFeed('u', { history, now, signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    for (const delay of [0, 1, 3]) {
      const c = new AbortController();
      const pending = feed.rankFeed(String(user.userId), { history, now, signal: c.signal });
      setTimeout(() => c.abort(new Error('client went away')), delay);
      const error = await pending.catch((e: unknown) => e);
      // Either it finished first, or it is an AbortError (never a degraded answer).
      if (error instanceof Error) {
        expect(error).toBeInstanceOf(AbortError);
      } else {
        expect((error as RankFeedResult).degraded).toEqual([]);
      }
    }
    // The feed keeps working after aborts.
    expect((await feed.rankFeed(String(user.userId), { history, now, limit: 5 })).items.length).toBe(5);
  });
});
