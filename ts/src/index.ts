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
  type MutualFilter,
  type PairTransform,
} from './match/match-embeddings.js';
export type { MatchResult, MatchTuning } from './match/match-result.js';
