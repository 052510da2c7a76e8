/**
 * Runs a native call with an AbortSignal: the addon polls an Int32Array flag that the signal's
 * 'abort' listener sets, and errors are mapped onto kindred's classes with the caller's stack.
 */
import { AbortError, fromNative } from '../core/errors.js';

export async function runAbortable<T>(
  call: (cancel: Int32Array) => Promise<T>,
  callSite: Error,
  signal: AbortSignal | undefined,
  argumentNames?: Readonly<Record<string, string>>,
): Promise<T> {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  const cancel = new Int32Array(1);
  const onAbort = () => Atomics.store(cancel, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  let result: T;
  try {
    result = await call(cancel);
  } catch (error) {
    throw fromNative(error, callSite, signal, argumentNames);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  // Aborted after the last poll: the work finished, but the caller asked for a rejection.
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  return result;
}
