/**
 * The compact serialized form of one action, used as a Redis sorted-set member:
 * `["<id>","<userId>","<itemId>","<action>",<at>(,<dwellMs>)]` (a JSON array, so any string is safe).
 *
 * The id comes first and has a fixed width: Redis orders members with equal scores (same `at`)
 * by their bytes, so same-millisecond actions come back in the order this process recorded them.
 * The id's random tag keeps actions from different processes apart, so two identical actions are
 * two members, and a write replayed after a lost reply is the same member again (ZADD is then a
 * no-op): replays never duplicate.
 */
import { randomBytes } from 'node:crypto';

import type { LoggedAction, UserAction } from './action-log.js';

// 11 base-36 digits hold every safe integer, so the sequence never outgrows its width.
const sequenceWidth = 11;
const processTag = randomBytes(5).toString('hex');
let sequence = 0;

/** A new unique action id, greater (as a string) than every id made before in this process. */
export function nextActionId(): string {
  return `${(sequence++).toString(36).padStart(sequenceWidth, '0')}.${processTag}`;
}

/** The serialized member of `entry` under `id`. */
export function encodeAction(id: string, entry: UserAction): string {
  const fields: Array<string | number> = [id, entry.userId, entry.itemId, entry.action, entry.at];
  if (entry.dwellMs !== undefined) fields.push(entry.dwellMs);
  return JSON.stringify(fields);
}

/** The action in `member`, or undefined when it is not one of ours (corrupt or foreign). */
export function decodeAction(member: string): LoggedAction | undefined {
  let fields: unknown;
  try {
    fields = JSON.parse(member);
  } catch {
    return undefined;
  }
  if (!Array.isArray(fields) || (fields.length !== 5 && fields.length !== 6)) return undefined;
  const [id, userId, itemId, action, at, dwellMs] = fields as unknown[];
  if (typeof id !== 'string' || typeof userId !== 'string' || typeof itemId !== 'string' || typeof action !== 'string') return undefined;
  if (typeof at !== 'number' || (dwellMs !== undefined && typeof dwellMs !== 'number')) return undefined;
  const logged: LoggedAction = { id, userId, itemId, action, at };
  if (dwellMs !== undefined) logged.dwellMs = dwellMs;
  return logged;
}
