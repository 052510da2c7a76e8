/**
 * The feature tower (Wide&Deep over request-time side information): computed on every request,
 * because filters and side information change per request.
 */
import { optionalSignal, optionsObject } from '../core/validate.js';
import type { ModelPool } from './model-pool.js';
import { metadataJson } from './onnx-metadata.js';
import { readVocab, sideInfoFeeds, type SideInfoVocab, type UserSideInfo } from './side-info.js';
import { towerModel } from './tower-model.js';

/** Options of {@link FeatureTower}. */
export interface FeatureTowerOptions {
  /** The model's name in the pool. Default `'feature-tower'`. */
  model?: string;
}

/** Per-call options of {@link FeatureTower.embed}. */
export interface EmbedOptions {
  signal?: AbortSignal;
}

/** User and peer embeddings of a batch: row i of each (`dim` floats) belongs to user i. */
export interface TowerEmbeddings {
  readonly rows: number;
  readonly dim: number;
  /** `rows × dim`. */
  readonly user: Float32Array;
  /** `rows × dim`. */
  readonly peer: Float32Array;
}

/**
 * Embeds users from their side information with the feature-tower model loaded in a pool.
 *
 * @example
 * await pool.load('feature-tower', 'models/feature-tower.onnx');
 * const tower = new FeatureTower(pool);
 * const { user, peer } = await tower.embed([{ country: 3, language: 1, gender: 0, wants: 2, ageBucket: 2,
 *   deviceLanguage: 1, accountAgeDays: 30, recentReports: 0 }]);
 */
export class FeatureTower {
  readonly #pool: ModelPool;
  readonly #model: string;
  /** Floats per side. */
  readonly dim: number;
  /** Vocabulary sizes the ids are checked against (from `kindred.vocab`, possibly empty). */
  readonly vocab: SideInfoVocab;
  /** The match heads of `kindred.heads` (raw JSON), or undefined when the model has none. */
  readonly heads: unknown;

  /**
   * @param pool a pool where the model is loaded
   * @throws InvalidArgumentError when the model is not loaded; ModelError when it breaks the contract
   */
  constructor(pool: ModelPool, options?: FeatureTowerOptions) {
    const o = optionsObject<FeatureTowerOptions>(options, 'options');
    this.#pool = pool;
    this.#model = o.model ?? 'feature-tower';
    const { model, dim } = towerModel(pool, this.#model, []);
    this.dim = dim;
    this.vocab = readVocab(model.metadata);
    this.heads = metadataJson(model.metadata, 'kindred.heads');
  }

  /**
   * Embeds a batch of users (micro-batched with concurrent calls).
   *
   * @throws InvalidArgumentError naming the bad field (e.g. `users[2].country` outside the vocabulary)
   * @throws (rejects) ModelError, QueueFullError, AbortError, WorkerError from the pool
   */
  async embed(users: readonly UserSideInfo[], options?: EmbedOptions): Promise<TowerEmbeddings> {
    const signal = optionalSignal(optionsObject<EmbedOptions>(options, 'options').signal, 'options.signal');
    const feeds = sideInfoFeeds(users, this.vocab);
    const out = await this.#pool.run(this.#model, feeds, signal === undefined ? undefined : { signal });
    return { rows: users.length, dim: this.dim, user: out.user!, peer: out.peer! };
  }
}
