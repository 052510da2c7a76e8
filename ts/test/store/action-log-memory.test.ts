import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../src/core/errors.js';
import { MemoryActionLog } from '../../src/store/memory-action-log.js';
import { actionLogConformance, FakeClock } from './action-log-conformance.js';

actionLogConformance('MemoryActionLog', async (clock, retention) => new MemoryActionLog({ ...retention, now: clock.now }));

describe('MemoryActionLog', () => {
  it('forgets a user whose last write is older than maxAgeMs (the TTL of a Redis key)', async () => {
    const clock = new FakeClock();
    const log = new MemoryActionLog({ maxAgeMs: 1000, now: clock.now });
    await log.record({ userId: 'idle', itemId: 'i', action: 'seen', at: clock.time + 10_000 }); // future-dated
    clock.time += 500;
    await log.record({ userId: 'active', itemId: 'i', action: 'seen', at: clock.time });
    expect(log.users).toBe(2);
    expect((await log.recent('idle', 0)).length).toBe(1);
    clock.time += 500; // idle's last write is now maxAgeMs old
    expect(await log.recent('idle', 0)).toEqual([]);
    expect(log.users).toBe(1);
    clock.time += 500;
    expect(log.users).toBe(0);
  });

  it('always stores at once: nothing pending, flush resolves', async () => {
    const log = new MemoryActionLog();
    expect(await log.record({ userId: 'u', itemId: 'i', action: 'seen', at: Date.now() })).toBe('stored');
    expect(log.pending).toBe(0);
    await expect(log.flush({ timeoutMs: 1 })).resolves.toBeUndefined();
  });

  it('checks its options', () => {
    expect(() => new MemoryActionLog({ maxAgeMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new MemoryActionLog({ maxPerUser: 1.5 })).toThrow(/options\.maxPerUser/);
    expect(() => new MemoryActionLog({ now: 5 as unknown as () => number })).toThrow(/options\.now/);
    expect(() => new MemoryActionLog('x' as never)).toThrow(/options/);
  });
});
