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
