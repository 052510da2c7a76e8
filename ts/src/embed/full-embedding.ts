/**
 * A user's full embedding = feature embedding (computed per request) + session embedding (read
 * from the embedding memory, possibly seconds old; zero for a cold user), per side.
 */
import { invalidArgument } from '../core/validate.js';
import { native } from '../native/binding.js';
import type { EmbeddingBatch, EmbeddingMemory } from '../store/embedding-memory.js';
import type { EmbedOptions, FeatureTower, TowerEmbeddings } from './feature-tower.js';
import type { UserSideInfo } from './side-info.js';

/** Full embeddings of a batch, with what the session side contributed. */
export interface FullEmbeddings extends TowerEmbeddings {
  /** 1 where a session embedding was found and added; 0 where a zero vector was used. */
  readonly sessionFound: Uint8Array;
  /** Age of each session embedding in ms (NaN where none). */
  readonly sessionAgeMs: Float64Array;
  /** True when the memory could not be read: every session vector is then zero. */
  readonly degraded: boolean;
}

/**
 * Adds session rows to feature rows, per side: `user[i] = feature.user[i] + session.user[i]`.
 * Missing session rows are zero in an {@link EmbeddingBatch}, so a cold user keeps its feature
 * embedding.
 *
 * @param feature the feature tower's output for `rows` users
 * @param session the memory's rows for the same users, in the same order
 * @param options.inPlace add into `feature`'s arrays instead of new ones (default false)
 * @throws InvalidArgumentError when the rows or dims differ
 */
export function addSessionEmbeddings(
  feature: TowerEmbeddings,
  session: Pick<EmbeddingBatch, 'user' | 'peer' | 'dim'>,
  options?: { inPlace?: boolean },
): { user: Float32Array; peer: Float32Array } {
  const n = feature.rows * feature.dim;
  if (session.dim !== feature.dim) throw invalidArgument('session.dim', `${feature.dim} (the feature dim)`, session.dim);
  for (const [name, array] of [
    ['feature.user', feature.user],
    ['feature.peer', feature.peer],
    ['session.user', session.user],
    ['session.peer', session.peer],
  ] as const) {
    if (!(array instanceof Float32Array) || array.length !== n) {
      throw invalidArgument(name, `a Float32Array of length ${n} (${feature.rows} rows x ${feature.dim})`, array);
    }
  }
  const user = options?.inPlace === true ? feature.user : new Float32Array(feature.user);
  const peer = options?.inPlace === true ? feature.peer : new Float32Array(feature.peer);
  // Natively: V8 converts each float through a double and never vectorizes (256K floats per
  // side at N = 2,000: ~0.9 ms of main thread in a matchPool call, ~0.05 ms in the addon).
  native().addInto(user, session.user);
  native().addInto(peer, session.peer);
  return { user, peer };
}

/**
 * Full embeddings of users: the feature tower runs while the memory is read, then the two add.
 * A memory that is down degrades to feature-only embeddings (`degraded: true`), never an error.
 *
 * @throws (rejects) what {@link FeatureTower.embed} throws
 */
export async function embedUsers(
  tower: FeatureTower,
  memory: EmbeddingMemory,
  users: ReadonlyArray<{ id: string; side: UserSideInfo }>,
  options?: EmbedOptions,
): Promise<FullEmbeddings> {
  if (!Array.isArray(users) || users.length === 0) throw invalidArgument('users', 'a non-empty array of { id, side }', users);
  const sides = users.map((u, i) => {
    if (typeof u !== 'object' || u === null) throw invalidArgument(`users[${i}]`, 'an object { id, side }', u);
    return u.side;
  });
  const [feature, session] = await Promise.all([tower.embed(sides, options), memory.getMany(users.map((u) => u.id))]);
  const { user, peer } = addSessionEmbeddings(feature, session, { inPlace: true });
  return {
    rows: feature.rows,
    dim: feature.dim,
    user,
    peer,
    sessionFound: session.found,
    sessionAgeMs: session.ageMs,
    degraded: session.degraded,
  };
}
