/** Bounds a wait by a timeout and an AbortSignal, so an action-log call never hangs a request. */
import { AbortError } from '../core/errors.js';

/**
 * Resolves like `work`, unless `timeoutMs` passes first (rejects with `onTimeout()`) or `signal`
 * aborts (rejects with an AbortError). `work` keeps running; its late result is ignored.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  onTimeout: () => Error,
): Promise<T> {
  if (signal?.aborted) {
    work.catch(() => {});
    throw new AbortError(undefined, { cause: signal.reason });
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      timer = setTimeout(() => reject(onTimeout()), timeoutMs);
      if (signal !== undefined) {
        onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      work.then(resolve, reject);
    });
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
