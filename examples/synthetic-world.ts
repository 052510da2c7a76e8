/**
 * Loads the synthetic world of models/world (written by tools/models/world.py) for the demo, the
 * feed tests and the feed benchmark: 5000 items (topic, category, author, a 64-d float32 content
 * vector) and per-user click logs. Not public API: models/world is not shipped in the package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { UserSideInfo } from '../ts/src/embed/side-info.js';

/** One item of the world. */
export interface WorldItem {
  readonly id: number;
  readonly topic: number;
  readonly category: number;
  readonly author: number;
  /** A view into {@link World.vectors}. */
  readonly vector: Float32Array;
}

/** One click of a user. */
export interface WorldClick {
  readonly itemId: number;
  readonly at: number;
  readonly dwellMs: number;
}

/** One user's click log, oldest first. */
export interface WorldUser {
  readonly userId: number;
  readonly cluster: number;
  readonly clicks: readonly WorldClick[];
}

export interface World {
  readonly dim: number;
  readonly items: readonly WorldItem[];
  /** count × dim, row i = item i. */
  readonly vectors: Float32Array;
  readonly users: readonly WorldUser[];
  /** Clicks with a dwell below this are false positives. */
  readonly falsePositiveDwellMs: number;
}

/** The models/world folder, found from this file or its compiled copy (build/js/examples). */
export function worldDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'models', 'world', 'items.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find models/world above ${import.meta.url}`);
    dir = parent;
  }
  return join(dir, 'models', 'world');
}

let cached: World | undefined;

/** Reads models/world once (items.json + items.bin + clicks.json). */
export function loadWorld(): World {
  if (cached !== undefined) return cached;
  const dir = worldDir();
  const meta = JSON.parse(readFileSync(join(dir, 'items.json'), 'utf8')) as {
    count: number;
    dim: number;
    contentFile: string;
    topic: number[];
    category: number[];
    author: number[];
  };
  const bytes = readFileSync(join(dir, meta.contentFile));
  if (bytes.byteLength !== meta.count * meta.dim * 4) {
    throw new Error(`${meta.contentFile} holds ${bytes.byteLength} bytes, expected ${meta.count} × ${meta.dim} float32`);
  }
  // Copy into an aligned buffer (Buffer slices may be unaligned); float32 little-endian as written.
  const vectors = new Float32Array(meta.count * meta.dim);
  new Uint8Array(vectors.buffer).set(bytes);
  const items: WorldItem[] = [];
  for (let i = 0; i < meta.count; i++) {
    items.push({
      id: i,
      topic: meta.topic[i]!,
      category: meta.category[i]!,
      author: meta.author[i]!,
      vector: vectors.subarray(i * meta.dim, (i + 1) * meta.dim),
    });
  }
  const clicks = JSON.parse(readFileSync(join(dir, 'clicks.json'), 'utf8')) as { falsePositiveDwellMs: number; users: WorldUser[] };
  cached = { dim: meta.dim, items, vectors, users: clicks.users, falsePositiveDwellMs: clicks.falsePositiveDwellMs };
  return cached;
}

/** One user of the world's video-chat pool (models/world/users.json): side information and past chats. */
export interface WorldPoolUser {
  readonly id: number;
  readonly country: number;
  readonly language: number;
  readonly gender: number;
  readonly wants: number;
  readonly ageBucket: number;
  readonly deviceLanguage: number;
  readonly accountAgeDays: number;
  readonly recentReports: number;
  readonly cluster: number;
  /** Past partners' ids, oldest first, and how long each chat lasted. */
  readonly historyPartners: readonly number[];
  readonly historySeconds: readonly number[];
}

let cachedUsers: readonly WorldPoolUser[] | undefined;

/** Reads models/world/users.json once. */
export function loadWorldUsers(): readonly WorldPoolUser[] {
  cachedUsers ??= (JSON.parse(readFileSync(join(worldDir(), 'users.json'), 'utf8')) as { users: WorldPoolUser[] }).users;
  return cachedUsers;
}

/** The eight side-information fields the feature tower reads, picked from a world user (which has more). */
export function sideInfoOf(u: UserSideInfo): UserSideInfo {
  return {
    country: u.country,
    language: u.language,
    gender: u.gender,
    wants: u.wants,
    ageBucket: u.ageBucket,
    deviceLanguage: u.deviceLanguage,
    accountAgeDays: u.accountAgeDays,
    recentReports: u.recentReports,
  };
}
