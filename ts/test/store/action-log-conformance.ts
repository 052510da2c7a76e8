/**
 * One behaviour suite for every ActionLog: order, windows, identical actions, retention by age
 * and by count, argument checks, abort, close, and a seeded random stream against a naive model.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { AbortError, ClosedError, InvalidArgumentError } from '../../src/core/errors.js';
import type { ActionLog, LoggedAction, UserAction } from '../../src/store/action-log.js';
import { seededRandom } from '../reference/random.js';

/** A clock the test moves by hand. */
export class FakeClock {
  time = 1_700_000_000_000;
  readonly now = (): number => this.time;
}

export interface LogRetention {
  maxAgeMs?: number;
  maxPerUser?: number;
}

/** What was recorded, without the id the log gave it. */
function plain(action: LoggedAction): UserAction {
  const { id: _id, ...rest } = action;
  return rest;
}

/**
 * @param make builds a fresh, empty log on `clock` with the given retention (defaults otherwise)
 */
export function actionLogConformance(name: string, make: (clock: FakeClock, retention: LogRetention) => Promise<ActionLog>): void {
  describe(`${name} (ActionLog conformance)`, () => {
    let clock: FakeClock;
    const opened: ActionLog[] = [];
    const open = async (retention: LogRetention = {}) => {
      const log = await make(clock, retention);
      opened.push(log);
      return log;
    };
    beforeEach(() => {
      clock = new FakeClock();
    });
    afterEach(async () => {
      for (const log of opened.splice(0)) await log.close();
    });

    it('returns what was recorded, oldest first, with ids, dwell only where given', async () => {
      const log = await open();
      const t = clock.time;
      expect(await log.record({ userId: 'u1', itemId: 'b', action: 'click', at: t - 10, dwellMs: 1234.5 })).toBe('stored');
      await log.record({ userId: 'u1', itemId: 'a', action: 'impression', at: t - 20 });
      await log.record({ userId: 'u1', itemId: 'c', action: 'impression', at: t });
      const got = await log.recent('u1', t - 1000);
      expect(got.map(plain)).toEqual([
        { userId: 'u1', itemId: 'a', action: 'impression', at: t - 20 },
        { userId: 'u1', itemId: 'b', action: 'click', at: t - 10, dwellMs: 1234.5 },
        { userId: 'u1', itemId: 'c', action: 'impression', at: t },
      ]);
      expect('dwellMs' in got[0]!).toBe(false);
      expect(new Set(got.map((a) => a.id)).size).toBe(3);
      expect(await log.recent('someone-else', 0)).toEqual([]);
    });

    it('keeps identical actions in the same millisecond as two entries, in recording order', async () => {
      const log = await open();
      const same = { userId: 'u', itemId: 'i', action: 'impression', at: clock.time };
      await Promise.all([log.record(same), log.record(same)]);
      await log.record({ ...same, action: 'click', dwellMs: 5 });
      const got = await log.recent('u', clock.time);
      expect(got.map(plain)).toEqual([same, same, { ...same, action: 'click', dwellMs: 5 }]);
      expect(got[0]!.id).not.toBe(got[1]!.id);
    });

    it('treats sinceMs as inclusive and has no upper bound', async () => {
      const log = await open();
      const t = clock.time;
      for (const at of [t - 101, t - 100, t - 99, t + 5000]) await log.record({ userId: 'u', itemId: `i${at - t}`, action: 'seen', at });
      expect((await log.recent('u', t - 100)).map((a) => a.at)).toEqual([t - 100, t - 99, t + 5000]);
      expect((await log.recent('u', t - 99)).map((a) => a.at)).toEqual([t - 99, t + 5000]);
      expect((await log.recent('u', t + 5001)).map((a) => a.at)).toEqual([]);
    });

    it('keeps users apart, and strings as they are', async () => {
      const log = await open();
      const odd = 'ユーザー:"x"\\,\n|';
      await log.record({ userId: odd, itemId: '["not json', action: 'clé', at: clock.time });
      await log.record({ userId: 'u2', itemId: 'x', action: 'seen', at: clock.time });
      expect((await log.recent(odd, 0)).map(plain)).toEqual([{ userId: odd, itemId: '["not json', action: 'clé', at: clock.time }]);
      expect((await log.recent('u2', 0)).map((a) => a.itemId)).toEqual(['x']);
    });

    it('trims by count, keeping the newest by time (not by recording order)', async () => {
      const log = await open({ maxPerUser: 3 });
      const t = clock.time;
      for (const offset of [5, 1, 9, 3, 7, 2]) await log.record({ userId: 'u', itemId: `i${offset}`, action: 'seen', at: t - 10 + offset });
      expect((await log.recent('u', 0)).map((a) => a.itemId)).toEqual(['i5', 'i7', 'i9']);
    });

    it('trims by age: nothing older than maxAgeMs is returned, the boundary is kept', async () => {
      const log = await open({ maxAgeMs: 1000 });
      const t = clock.time;
      await log.record({ userId: 'u', itemId: 'old', action: 'seen', at: t - 1001 }); // already too old
      await log.record({ userId: 'u', itemId: 'edge', action: 'seen', at: t - 1000 });
      await log.record({ userId: 'u', itemId: 'new', action: 'seen', at: t });
      expect((await log.recent('u', 0)).map((a) => a.itemId)).toEqual(['edge', 'new']);
      clock.time += 1;
      expect((await log.recent('u', 0)).map((a) => a.itemId)).toEqual(['new']);
      clock.time += 500;
      await log.record({ userId: 'u', itemId: 'newer', action: 'seen', at: clock.time });
      expect((await log.recent('u', -1e15)).map((a) => a.itemId)).toEqual(['new', 'newer']);
      clock.time += 1001;
      expect(await log.recent('u', 0)).toEqual([]);
    });

    it('rejects bad arguments with InvalidArgumentError naming the field', async () => {
      const log = await open();
      const good = { userId: 'u', itemId: 'i', action: 'click', at: clock.time };
      const cases: Array<[unknown, string]> = [
        [null, 'entry'],
        ['u', 'entry'],
        [{ ...good, userId: 42 }, 'entry.userId'],
        [{ ...good, userId: '' }, 'entry.userId'],
        [{ ...good, userId: 'x'.repeat(257) }, 'entry.userId'],
        [{ ...good, itemId: undefined }, 'entry.itemId'],
        [{ ...good, itemId: 7 }, 'entry.itemId'],
        [{ ...good, action: '' }, 'entry.action'],
        [{ ...good, action: null }, 'entry.action'],
        [{ ...good, at: Number.NaN }, 'entry.at'],
        [{ ...good, at: Number.POSITIVE_INFINITY }, 'entry.at'],
        [{ ...good, at: '1700000000000' }, 'entry.at'],
        [{ ...good, dwellMs: -1 }, 'entry.dwellMs'],
        [{ ...good, dwellMs: Number.NaN }, 'entry.dwellMs'],
        [{ ...good, dwellMs: '5' }, 'entry.dwellMs'],
      ];
      for (const [entry, argument] of cases) {
        const error = await log.record(entry as UserAction).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `record(${JSON.stringify(entry)})`).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe(argument);
      }
      const reads: Array<[() => Promise<unknown>, string]> = [
        [() => log.recent(42 as unknown as string, 0), 'userId'],
        [() => log.recent('', 0), 'userId'],
        [() => log.recent('u', Number.NaN), 'sinceMs'],
        [() => log.recent('u', '0' as unknown as number), 'sinceMs'],
        [() => log.recent('u', 0, { timeoutMs: 0 }), 'options.timeoutMs'],
        [() => log.recent('u', 0, { signal: 'stop' as unknown as AbortSignal }), 'options.signal'],
      ];
      for (const [read, argument] of reads) {
        await expect(read()).rejects.toMatchObject({ name: 'InvalidArgumentError', argument });
      }
      expect(await log.recent('u', 0)).toEqual([]); // nothing bad got in
    });

    it('copies the entry, so later changes to the caller object change nothing', async () => {
      const log = await open();
      const entry = { userId: 'u', itemId: 'i', action: 'seen', at: clock.time };
      const recording = log.record(entry);
      entry.itemId = 'changed';
      await recording;
      const [first] = await log.recent('u', 0);
      expect(first!.itemId).toBe('i');
      first!.itemId = 'mutated';
      expect((await log.recent('u', 0))[0]!.itemId).toBe('i');
    });

    it('rejects an aborted read with AbortError', async () => {
      const log = await open();
      const controller = new AbortController();
      controller.abort(new Error('request gone'));
      await expect(log.recent('u', 0, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    });

    it('counts what it recorded, and accepts nothing after close()', async () => {
      const log = await open();
      for (let i = 0; i < 4; i++) await log.record({ userId: 'u', itemId: `i${i}`, action: 'seen', at: clock.time });
      await log.flush();
      expect(log.pending).toBe(0);
      expect(log.metrics()).toMatchObject({ recorded: 4, written: 4, pending: 0, rejected: 0, failed: 0 });
      await log.close();
      await expect(log.record({ userId: 'u', itemId: 'i', action: 'seen', at: clock.time })).rejects.toBeInstanceOf(ClosedError);
      await expect(log.recent('u', 0)).rejects.toBeInstanceOf(ClosedError);
    });

    it('matches a naive model on a seeded random stream (ties, late and too-old actions)', async () => {
      const seed = 20261123;
      const random = seededRandom(seed);
      const retention = { maxAgeMs: 2000, maxPerUser: 40 };
      const log = await open(retention);
      const recorded: UserAction[] = [];
      const users = ['a', 'b', 'c'];
      for (let i = 0; i < 300; i++) {
        // Times on a 10 ms grid, up to 2.5 s back: many ties, some already older than maxAgeMs.
        const entry: UserAction = {
          userId: users[Math.floor(random() * users.length)]!,
          itemId: `item${Math.floor(random() * 20)}`,
          action: random() < 0.8 ? 'impression' : 'click',
          at: clock.time - Math.floor(random() * 250) * 10,
        };
        if (entry.action === 'click') entry.dwellMs = Math.floor(random() * 5000);
        recorded.push(entry);
        await log.record(entry);
      }
      const cutoff = clock.time - retention.maxAgeMs;
      for (const user of users) {
        // Stable sort: ties stay in recording order, as both logs promise.
        const kept = recorded
          .filter((a) => a.userId === user)
          .sort((x, y) => x.at - y.at)
          .slice(-retention.maxPerUser)
          .filter((a) => a.at >= cutoff);
        for (let w = 0; w < 8; w++) {
          const since = clock.time - Math.floor(random() * 260) * 10;
          const expected = kept.filter((a) => a.at >= since);
          expect((await log.recent(user, since)).map(plain), `seed ${seed}, user ${user}, since now-${clock.time - since}`).toEqual(expected);
        }
      }
    });
  });
}
