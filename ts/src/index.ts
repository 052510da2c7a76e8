/**
 * kindred — reciprocal matching and feed ranking with a C++/CUDA core.
 * Public exports only; see README.md for the guide.
 */
export {
  AbortError,
  BackendUnavailableError,
  InvalidArgumentError,
  KindredError,
  NativeError,
  NativeLoadError,
  type BackendReason,
  type KindredErrorCode,
} from './core/errors.js';
export {
  defaultBackend,
  listBackends,
  useBackend,
  type BackendChoice,
  type BackendInfo,
  type BackendName,
} from './native/backends.js';
export { pairScores, type PairScoresOptions } from './match/pair-scores.js';
export { matchWeights, type MatchWeightsOptions } from './match/match-weights.js';
export {
  matchEmbeddings,
  type MatchEmbeddingsOptions,
  type MatchFilters,
  type MatchHead,
  type MutualFilter,
  type PairTransform,
} from './match/match-embeddings.js';
export type { MatchResult, MatchTuning } from './match/match-result.js';
export {
  MatchPool,
  type MatchedPair,
  type MatchOutcome,
  type MatchPoolCallOptions,
  type MatchPoolDegradation,
  type MatchPoolMetrics,
  type MatchPoolOptions,
  type MatchPoolResult,
  type PoolUser,
} from './match/match-pool.js';
export type { MatchHeadSpec } from './match/match-heads.js';
export type { MatchHistoryOptions } from './match/match-history.js';
export {
  ClosedError,
  ModelError,
  QueueFullError,
  StoreError,
  WorkerError,
  type ModelErrorCode,
} from './core/errors.js';
export {
  ModelPool,
  type ModelLoadOptions,
  type ModelPoolOptions,
  type ModelPoolStats,
  type ModelRunOptions,
} from './embed/model-pool.js';
export type {
  InputArray,
  ModelDescription,
  ModelFeeds,
  ModelInput,
  ModelOutputs,
  TensorSpec,
} from './embed/model-contract.js';
export { FeatureTower, type EmbedOptions, type FeatureTowerOptions, type TowerEmbeddings } from './embed/feature-tower.js';
export type { FeatureCacheMetrics } from './embed/feature-cache.js';
export {
  SessionTower,
  type HistoryEntry,
  type SessionTowerMetrics,
  type SessionTowerOptions,
  type SessionUpdateOptions,
} from './embed/session-tower.js';
export { addSessionEmbeddings, embedUsers, type FullEmbeddings } from './embed/full-embedding.js';
export { defaultModelPath, defaultModelsDir, type DefaultModelName } from './embed/default-models.js';
export { sideInfoInputs, type SideInfoVocab, type UserSideInfo } from './embed/side-info.js';
export type {
  EmbeddingBatch,
  EmbeddingLookup,
  EmbeddingMemory,
  EmbeddingWrite,
  SessionEmbedding,
} from './store/embedding-memory.js';
export type { AgeDistribution, StalenessMetrics } from './store/staleness.js';
export { InProcessEmbeddingMemory, type InProcessEmbeddingMemoryOptions } from './store/in-process-embedding-memory.js';
export { RedisEmbeddingMemory, type RedisEmbeddingMemoryOptions } from './store/redis-embedding-memory.js';
export { wardLinkage, type WardLinkageOptions } from './cluster/ward-linkage.js';
export { cutTree, type CutTreeOptions } from './cluster/cut-tree.js';
export { medoids, type MedoidsOptions } from './cluster/medoids.js';
export {
  pinnerSage,
  type PinnerSageAnchor,
  type PinnerSageCluster,
  type PinnerSageOptions,
  type PinnerSageResult,
} from './cluster/pinner-sage.js';
export type { IndexMetric, ItemHit, ItemId, ItemIndex, ItemSearchOptions } from './retrieve/item-index.js';
export { ExactIndex, type ExactIndexOptions } from './retrieve/exact-index.js';
export { HnswIndex, type HnswIndexOptions } from './retrieve/hnsw-index.js';
export {
  AnchorCache,
  type Anchor,
  type AnchorCacheOptions,
  type AnchorCacheStats,
  type AnchorMatch,
  type RetrievedCandidate,
  type RetrieveOptions,
} from './retrieve/anchor-cache.js';
export { ActionLogBufferFullError, ActionLogUnavailableError } from './core/errors.js';
export type {
  ActionLog,
  ActionLogMetrics,
  ActionLogRetentionOptions,
  ActionLogFlushOptions,
  LoggedAction,
  RecentActionsOptions,
  RecordOutcome,
  UserAction,
} from './store/action-log.js';
export { MemoryActionLog, type MemoryActionLogOptions } from './store/memory-action-log.js';
export { RedisActionLog, type RedisActionLogOptions } from './store/redis-action-log.js';
export { UnknownTwiddlerError } from './core/errors.js';
export {
  defaultTwiddlerRegistry,
  registerTwiddler,
  TwiddlerRegistry,
  type RankedCandidate,
  type RecentAction,
  type ResolvedTwiddleContext,
  type TwiddleContext,
  type TwiddleOverrides,
  type TwiddleStep,
  type TwiddleView,
  type Twiddler,
  type TwiddlerFactory,
  type TwiddlerSpec,
} from './twiddle/twiddler.js';
export {
  explainItem,
  TwiddlerChain,
  type ItemExplanation,
  type TwiddleMove,
  type TwiddleResult,
  type TwiddleStepReport,
  type TwiddlerChainOptions,
} from './twiddle/twiddler-chain.js';
export type { DownrankParams, DownrankRule } from './twiddle/downrank.js';
export type { IntervalParams } from './twiddle/interval.js';
export type { FalsePositiveParams } from './twiddle/false-positive.js';
export { FeatureHasher, type FeatureValue } from './rank/feature-hasher.js';
export {
  FwFmRanker,
  type FwFmRankerOptions,
  type RankerContext,
  type RankerItem,
  type RankerRequest,
  type RankerScoreOptions,
} from './rank/fwfm-ranker.js';
export { ItemCatalogue, type CatalogueEntry, type FeedItem, type ItemCatalogueOptions } from './feed/item-catalogue.js';
export {
  Feed,
  type FeedAnchorOptions,
  type FeedHistoryEntry,
  type FeedItemExplanation,
  type FeedOptions,
  type FeedResultItem,
  type FeedTimings,
  type RankFeedOptions,
  type RankFeedResult,
} from './feed/feed.js';
