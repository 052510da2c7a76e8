/**
 * The ioredis client of a Redis-backed store: made from `{ url }` with the store's own settings
 * (then owned, so closed with the store), or the caller's `{ client }` (used as is, never closed).
 */
import { Redis, type RedisOptions } from 'ioredis';

import { invalidArgument } from '../core/validate.js';

export interface RedisConnection {
  url?: string;
  client?: Redis;
}

export function redisClient(o: RedisConnection, settings: RedisOptions): { client: Redis; owned: boolean } {
  if ((o.url === undefined) === (o.client === undefined)) {
    throw invalidArgument('options', 'exactly one of options.url and options.client', o);
  }
  if (o.url !== undefined) {
    if (typeof o.url !== 'string') throw invalidArgument('options.url', 'a redis:// URL', o.url);
    return { client: new Redis(o.url, settings), owned: true };
  }
  if (typeof o.client !== 'object' || o.client === null || typeof (o.client as Redis).pipeline !== 'function') {
    throw invalidArgument('options.client', 'an ioredis client', o.client);
  }
  return { client: o.client, owned: false };
}
