/**
 * Backends: which ones this machine has, which one runs by default, and how a name resolves.
 * Priority for `'auto'` is cuda > blas > portable; `portable` is always available.
 */
import { BackendUnavailableError } from '../core/errors.js';
import { invalidArgument } from '../core/validate.js';
import { native } from './binding.js';

/** A backend family. */
export type BackendName = 'cuda' | 'blas' | 'portable';
/** A backend family, or `'auto'` for the best available one. */
export type BackendChoice = BackendName | 'auto';

/** One backend family as {@link listBackends} reports it. */
export interface BackendInfo {
  /** `'cuda'`, `'blas'` or `'portable'`. */
  name: BackendName;
  /** `'gpu'` for cuda, `'cpu'` otherwise. */
  kind: 'cpu' | 'gpu';
  /** Whether it can run on this machine. */
  available: boolean;
  /** Why it cannot run, when `available` is false (e.g. "0 devices: ..."). */
  reason?: string;
  /** The library or device it runs on (OpenBLAS build, GPU name). */
  device?: string;
  /** CPU threads it uses. */
  threads?: number;
}

const BACKEND_NAMES: readonly BackendChoice[] = ['auto', 'cuda', 'blas', 'portable'];
let defaultChoice: BackendChoice = 'auto';

/**
 * Every backend family this build knows, in priority order, available or not, with the reason
 * when not. Probing CUDA happens once, on the first call.
 *
 * @example
 * for (const b of listBackends()) console.log(b.name, b.available ? b.device : b.reason);
 */
export function listBackends(): BackendInfo[] {
  return native().listBackends() as BackendInfo[];
}

/**
 * The backend a call with `backend: choice` (or no backend: the default) will use.
 * @throws {InvalidArgumentError} for a name that is not a backend
 * @throws {BackendUnavailableError} for a named backend that cannot run here, with every reason
 */
export function resolveBackend(choice: unknown = defaultChoice, argument = 'backend'): BackendName {
  if (typeof choice !== 'string' || !BACKEND_NAMES.includes(choice as BackendChoice)) {
    throw invalidArgument(argument, `one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}`, choice);
  }
  const all = listBackends();
  if (choice === 'auto') {
    const best = all.find((b) => b.available);
    if (best) return best.name;
  } else {
    const found = all.find((b) => b.name === choice);
    if (found?.available) return found.name;
  }
  throw new BackendUnavailableError(
    choice,
    all.filter((b) => !b.available).map((b) => ({ name: b.name, reason: b.reason ?? 'unavailable' })),
  );
}

/**
 * Sets the backend used when a call names none. `'auto'` (the initial default) picks the best
 * available backend at each call; naming one makes every later call use it.
 *
 * @param choice `'auto'`, `'cuda'`, `'blas'` or `'portable'`
 * @returns the backend family the choice resolves to now
 * @throws {BackendUnavailableError} when the named backend cannot run here (the default is unchanged)
 * @example
 * useBackend('portable'); // e.g. for reproducible benchmarks without BLAS
 */
export function useBackend(choice: BackendChoice): BackendName {
  const resolved = resolveBackend(choice, 'choice');
  defaultChoice = choice;
  return resolved;
}

/** The current default choice (`'auto'` unless {@link useBackend} changed it). */
export function defaultBackend(): BackendChoice {
  return defaultChoice;
}
