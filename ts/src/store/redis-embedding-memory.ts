/**
 * An {@link EmbeddingMemory} in Redis, shared by several service instances. One string per user,
 * `<prefix><id>` → the version and updatedAt (ms) as float64 little-endian, then the user and peer
 * vectors as float32 little-endian (16 + 8·dim bytes). A Lua script compares versions and writes in
 * one step, so a late recompute never overwrites a newer one. A read is one round trip of MGETs
 * (READ_CHUNK users each); when Redis is down reads come back missing with `degraded: true` instead
 * of failing the request. (With one hash per user, a read was a pipeline of one HMGET per user:
 * 22–33 ms for 2,000 users on a local server, ioredis handling each command on its own, and still
 * ~17 ms as one Lua script of HMGETs; as MGETs of strings, 7–9 ms.)
 */
import { EventEmitter } from 'node:events';
import { endianness } from 'node:os';

import { Redis } from 'ioredis';

import { StoreError } from '../core/errors.js';
import { integerInRange, invalidArgument, optionsObject } from '../core/validate.js';
import { redisClient } from './redis-client.js';
import type { EmbeddingBatch, EmbeddingLookup, EmbeddingMemory, EmbeddingReadOptions, EmbeddingWrite } from './embedding-memory.js';
import { checkId, checkIds, checkInto, checkWrite, emptyBatch, zeroRow } from './memory-arguments.js';
import { StalenessTracker, type StalenessMetrics } from './staleness.js';

/** Options of {@link RedisEmbeddingMemory}: a connection (`url` or `client`) and the storage layout. */
export interface RedisEmbeddingMemoryOptions {
  /** A Redis URL (`redis://host:port/db`); the memory opens and closes its own connection, which fails fast while Redis is down. */
  url?: string;
  /** An ioredis client you own (not closed by `close()`). Prefer `enableOfflineQueue: false` so reads fail fast. */
  client?: Redis;
  /** Floats per side. 1..65536, default 64. */
  dim?: number;
  /** Key prefix. Default `'kindred:emb:'`. */
  keyPrefix?: string;
  /** Expire entries this long after their last write, in ms; 0 = never (default). */
  ttlMs?: number;
  /** A read that takes longer is answered missing and degraded, in ms. 1..60000, default 100. */
  readTimeoutMs?: number;
  /** The clock used for ages and default `updatedAt`, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

// KEYS[1] = key; ARGV = version, the whole value (its first 8 bytes: the same version as a
// float64), ttlMs. Returns 1 when written, 0 when a version >= ARGV[1] is already there. A key of
// another type or a value too short to hold a version (not this layout) is overwritten.
const putScript = `
local current = redis.pcall('GET', KEYS[1])
if type(current) == 'string' and #current >= 8 and struct.unpack('<d', current) >= tonumber(ARGV[1]) then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
`;
// Bytes before the vectors: version and updatedAt, float64 each.
const HEADER_BYTES = 16;
// Keys per MGET: bounds how long one command holds the (single-threaded) server.
const READ_CHUNK = 1024;

const littleEndian = endianness() === 'LE';

/**
 * A Redis-backed embedding memory. Emits `'store-error'` (StoreError) for every Redis failure.
 *
 * @example
 * const memory = new RedisEmbeddingMemory({ url: 'redis://127.0.0.1:6379', dim: 64, ttlMs: 86_400_000 });
 * const batch = await memory.getMany(['u1', 'u2']); // batch.degraded is true while Redis is down
 */
export class RedisEmbeddingMemory extends EventEmitter implements EmbeddingMemory {
  readonly dim: number;
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #readTimeoutMs: number;
  readonly #now: () => number;
  readonly #tracker = new StalenessTracker();

  /** @throws InvalidArgumentError naming the bad option (exactly one of `url` and `client` is required) */
  constructor(options: RedisEmbeddingMemoryOptions) {
    super();
    const o = optionsObject<RedisEmbeddingMemoryOptions>(options, 'options');
    this.dim = integerInRange(o.dim ?? 64, 'options.dim', 1, 65536);
    this.#ttlMs = integerInRange(o.ttlMs ?? 0, 'options.ttlMs', 0, Number.MAX_SAFE_INTEGER);
    this.#readTimeoutMs = integerInRange(o.readTimeoutMs ?? 100, 'options.readTimeoutMs', 1, 60_000);
    this.#prefix = o.keyPrefix ?? 'kindred:emb:';
    if (typeof this.#prefix !== 'string') throw invalidArgument('options.keyPrefix', 'a string', this.#prefix);
    this.#now = o.now ?? Date.now;
    ({ client: this.#client, owned: this.#owned } = redisClient(o, {
      // Fail fast while disconnected instead of queueing behind a reconnect: a request
      // would rather read "missing" now than a fresh embedding later.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
    }));
    // ioredis reports connection errors as events; count them instead of letting them go unhandled.
    this.#client.on('error', (error: unknown) => this.#report('connection', error));
  }

  async get(id: string): Promise<EmbeddingLookup> {
    checkId(id);
    const batch = await this.getMany([id]);
    if (batch.found[0] !== 1) return { found: false, degraded: batch.degraded };
    const embedding = { user: batch.user, peer: batch.peer, version: batch.versions[0]!, updatedAt: this.#now() - batch.ageMs[0]! };
    return { found: true, embedding, ageMs: batch.ageMs[0]!, degraded: false };
  }

  async getMany(ids: readonly string[], options?: EmbeddingReadOptions): Promise<EmbeddingBatch> {
    checkIds(ids);
    const into = checkInto(options, ids.length, this.dim);
    if (ids.length === 0) return emptyBatch(ids, this.dim, false);
    let replies: Array<[Error | null, unknown]> | null;
    try {
      if (this.#client.status !== 'ready') throw new Error(`Redis connection is ${this.#client.status}`);
      const pipeline = this.#client.pipeline();
      for (let from = 0; from < ids.length; from += READ_CHUNK) {
        pipeline.mgetBuffer(ids.slice(from, from + READ_CHUNK).map((id) => this.#prefix + id));
      }
      replies = await withTimeout(pipeline.exec(), this.#readTimeoutMs);
      if (replies === null) throw new Error('the pipeline was discarded');
    } catch (error) {
      this.#report('read', error);
      for (let i = 0; i < ids.length; i++) this.#tracker.miss(true);
      return emptyBatch(ids, this.dim, true);
    }
    const failed = replies.some(([error]) => error !== null);
    // A command that failed (e.g. the connection dropped mid-pipeline) makes the whole read degraded.
    // A degraded read leaves the caller's arrays alone (and its rows zero in arrays of its own).
    const batch = emptyBatch(ids, this.dim, failed, failed ? undefined : into);
    const now = this.#now();
    const bytes = this.dim * 4;
    ids.forEach((id, i) => {
      const [error, reply] = replies![Math.floor(i / READ_CHUNK)] ?? [new Error('no reply'), null];
      const value = error === null ? ((reply as Array<Buffer | null> | null)?.[i % READ_CHUNK] ?? null) : null;
      if (error !== null || value === null || value.length !== HEADER_BYTES + 2 * bytes) {
        if (error !== null) this.#report('read', error);
        else if (value !== null) {
          this.#report('read', new Error(`${this.#prefix}${id} holds ${value.length} bytes, not ${HEADER_BYTES} + 2 x ${this.dim} floats`));
        }
        this.#tracker.miss(error !== null);
        if (into !== undefined && !failed) zeroRow(batch, i);
        return;
      }
      readFloats(value, HEADER_BYTES, batch.user, i * this.dim, this.dim);
      readFloats(value, HEADER_BYTES + bytes, batch.peer, i * this.dim, this.dim);
      batch.found[i] = 1;
      batch.versions[i] = value.readDoubleLE(0);
      batch.ageMs[i] = now - value.readDoubleLE(8);
      batch.hits++;
      this.#tracker.hit(batch.ageMs[i]!);
    });
    return batch;
  }

  async put(id: string, write: EmbeddingWrite): Promise<boolean> {
    checkId(id);
    const w = checkWrite(write, this.dim, this.#now());
    const value = Buffer.alloc(HEADER_BYTES + 2 * this.dim * 4);
    value.writeDoubleLE(w.version, 0);
    value.writeDoubleLE(w.updatedAt, 8);
    writeFloats(w.user, value, HEADER_BYTES);
    writeFloats(w.peer, value, HEADER_BYTES + this.dim * 4);
    let stored: unknown;
    try {
      stored = await this.#client.eval(putScript, 1, this.#prefix + id, String(w.version), value, String(this.#ttlMs));
    } catch (error) {
      throw this.#report('write', error);
    }
    this.#tracker.write(stored === 1);
    return stored === 1;
  }

  async delete(id: string): Promise<void> {
    checkId(id);
    try {
      await this.#client.del(this.#prefix + id);
    } catch (error) {
      throw this.#report('delete', error);
    }
  }

  staleness(): StalenessMetrics {
    return this.#tracker.snapshot();
  }

  /** Closes the connection if this memory opened it. */
  async close(): Promise<void> {
    if (!this.#owned) return;
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect());
    else this.#client.disconnect();
  }

  #report(what: string, error: unknown): StoreError {
    this.#tracker.error();
    const message = error instanceof Error ? error.message : String(error);
    const storeError = new StoreError(`Redis embedding memory ${what} failed: ${message}`, { cause: error, retryable: true });
    if (this.listenerCount('store-error') > 0) this.emit('store-error', storeError);
    return storeError;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function writeFloats(from: Float32Array, to: Buffer, offset: number): void {
  if (littleEndian) {
    to.set(new Uint8Array(from.buffer, from.byteOffset, from.byteLength), offset);
    return;
  }
  for (let i = 0; i < from.length; i++) to.writeFloatLE(from[i]!, offset + 4 * i);
}

function readFloats(from: Buffer, offset: number, to: Float32Array, at: number, count: number): void {
  if (littleEndian) {
    // The Buffer may not be 4-byte aligned, so copy bytes rather than view them as floats.
    new Uint8Array(to.buffer, to.byteOffset + at * 4, count * 4).set(from.subarray(offset, offset + count * 4));
    return;
  }
  for (let i = 0; i < count; i++) to[at + i] = from.readFloatLE(offset + 4 * i);
}
