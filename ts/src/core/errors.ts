/**
 * kindred's error classes. Every error the library throws or rejects with is a {@link KindredError}
 * with a stable `code`; native failures arrive as `{ code, message }` and are mapped by
 * {@link fromNative}.
 */

/** Stable error codes, one per class (native codes map onto these). */
export type KindredErrorCode =
  | 'ERR_KINDRED_INVALID_ARGUMENT'
  | 'ERR_KINDRED_BACKEND_UNAVAILABLE'
  | 'ERR_KINDRED_ABORTED'
  | 'ERR_KINDRED_OUT_OF_MEMORY'
  | 'ERR_KINDRED_DEVICE'
  | 'ERR_KINDRED_INTERNAL'
  | 'ERR_KINDRED_NATIVE_LOAD'
  | 'ERR_KINDRED_MODEL_LOAD'
  | 'ERR_KINDRED_MODEL_INPUT'
  | 'ERR_KINDRED_MODEL_RUN'
  | 'ERR_KINDRED_WORKER'
  | 'ERR_KINDRED_QUEUE_FULL'
  | 'ERR_KINDRED_CLOSED'
  | 'ERR_KINDRED_STORE'
  | 'ERR_KINDRED_ACTION_LOG_UNAVAILABLE'
  | 'ERR_KINDRED_ACTION_LOG_BUFFER_FULL';

/** Base class of every kindred error. `code` is stable across versions; `message` is for humans. */
export class KindredError extends Error {
  readonly code: KindredErrorCode;

  constructor(code: KindredErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A caller passed a bad argument. `argument` names it (e.g. `'options.rows'`). */
export class InvalidArgumentError extends KindredError {
  readonly argument: string;
  readonly expected: string;
  readonly received: string;

  constructor(argument: string, expected: string, received: string, options?: { cause?: unknown }) {
    super('ERR_KINDRED_INVALID_ARGUMENT', `Expected ${expected} for ${argument} but received ${received}`, options);
    this.argument = argument;
    this.expected = expected;
    this.received = received;
  }
}

/** One backend that could not be used, and why. */
export interface BackendReason {
  name: string;
  reason: string;
}

/** A backend was named explicitly but cannot run here; `reasons` lists every backend's reason. */
export class BackendUnavailableError extends KindredError {
  readonly backend: string;
  readonly reasons: BackendReason[];

  constructor(backend: string, reasons: BackendReason[]) {
    const lines = reasons.map((r) => `  [${r.name}] ${r.reason}`).join('\n');
    super('ERR_KINDRED_BACKEND_UNAVAILABLE', `Backend '${backend}' is unavailable on this machine:\n${lines}`);
    this.backend = backend;
    this.reasons = reasons;
  }
}

/** The native core failed: out of memory, a GPU error, or an internal error. */
export class NativeError extends KindredError {}

/** The native addon could not be loaded; the message lists every place tried and why. */
export class NativeLoadError extends KindredError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KINDRED_NATIVE_LOAD', message, options);
  }
}

/** The operation was cancelled through its AbortSignal. `name` is `'AbortError'`, as in the DOM. */
export class AbortError extends KindredError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ERR_KINDRED_ABORTED', message, options);
    this.name = 'AbortError';
  }
}

/** Which model step failed: loading the file, checking a request's inputs, or running it. */
export type ModelErrorCode = 'ERR_KINDRED_MODEL_LOAD' | 'ERR_KINDRED_MODEL_INPUT' | 'ERR_KINDRED_MODEL_RUN';

/**
 * A model could not be loaded (missing or corrupt file, outputs kindred cannot use), a request's
 * inputs do not match the model's declared inputs (`input` names the offending one), or the
 * model failed while running.
 */
export class ModelError extends KindredError {
  /** The model's name in its pool. */
  readonly model: string;
  /** The input the request got wrong (only for `ERR_KINDRED_MODEL_INPUT`). */
  readonly input: string | undefined;

  constructor(code: ModelErrorCode, model: string, message: string, options?: { cause?: unknown; input?: string }) {
    super(code, `Model '${model}': ${message}`, options);
    this.model = model;
    this.input = options?.input;
  }
}

/** A worker thread died or could not start while running a task; the pool replaces it. */
export class WorkerError extends KindredError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KINDRED_WORKER', message, options);
  }
}

/** A bounded queue is full; the caller should shed load or retry later. */
export class QueueFullError extends KindredError {
  /** The queue's capacity. */
  readonly capacity: number;

  constructor(what: string, capacity: number) {
    super('ERR_KINDRED_QUEUE_FULL', `The ${what} queue is full (${capacity} waiting); retry later or raise its maxQueue`);
    this.capacity = capacity;
  }
}

/** The object was closed; it accepts no more work. */
export class ClosedError extends KindredError {
  constructor(what: string) {
    super('ERR_KINDRED_CLOSED', `The ${what} is closed`);
  }
}

/** A store (Redis, …) failed. `retryable` is true for connection problems that may go away. */
export class StoreError extends KindredError {
  readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super('ERR_KINDRED_STORE', message, options);
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * The action log could not answer in time (Redis down, slow, or reconnecting). A feed catches it
 * and serves without history-based twiddlers, marked degraded.
 */
export class ActionLogUnavailableError extends KindredError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KINDRED_ACTION_LOG_UNAVAILABLE', message, options);
  }
}

/**
 * The action log's write buffer is full (Redis has been unavailable for a while): the action was
 * NOT recorded. `capacity` is the buffer's size (option `maxBuffered`).
 */
export class ActionLogBufferFullError extends KindredError {
  readonly capacity: number;

  constructor(capacity: number) {
    super(
      'ERR_KINDRED_ACTION_LOG_BUFFER_FULL',
      `The action log's write buffer is full (${capacity} actions waiting for Redis); this action was not recorded`,
    );
    this.capacity = capacity;
  }
}

/**
 * A twiddler chain names a twiddler that is not registered. An InvalidArgumentError (same code) whose
 * `argument` says where the name was given (e.g. `'chain[2].name'`) and `twiddler` is the name.
 */
export class UnknownTwiddlerError extends InvalidArgumentError {
  readonly twiddler: string;

  constructor(argument: string, twiddler: string, registered: readonly string[]) {
    super(argument, `a registered twiddler (${registered.join(', ') || 'none'})`, JSON.stringify(twiddler));
    this.twiddler = twiddler;
  }
}

/** The shape of an error thrown by the addon. */
interface NativeErrorShape {
  code?: unknown;
  message?: unknown;
  /** Set by the addon when it rejected an input (e.g. a NaN in `a`). */
  argument?: unknown;
  expected?: unknown;
  received?: unknown;
}

/**
 * Maps an error from the addon onto kindred's classes, giving it the stack captured where the
 * public function was called (the native stack says nothing useful).
 *
 * @param error what the addon threw or rejected with
 * @param callSite an Error created when the public function was entered
 * @param signal the call's AbortSignal, whose reason becomes the AbortError's cause
 * @param argumentNames the public names of the addon's arguments (e.g. `user` → `options.user`)
 */
export function fromNative(
  error: unknown,
  callSite: Error,
  signal?: AbortSignal,
  argumentNames: Readonly<Record<string, string>> = {},
): KindredError {
  if (error instanceof KindredError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as NativeErrorShape;
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  let mapped: KindredError;
  switch (shape.code) {
    case 'ERR_KINDRED_ABORTED':
      mapped = new AbortError(message, { cause: signal?.reason });
      break;
    case 'ERR_KINDRED_INVALID_ARGUMENT':
      mapped =
        typeof shape.argument === 'string'
          ? new InvalidArgumentError(
              argumentNames[shape.argument] ?? shape.argument,
              String(shape.expected),
              String(shape.received),
            )
          : new InvalidArgumentError('the native call', 'valid arguments', message, { cause: error });
      break;
    case 'ERR_KINDRED_BACKEND_UNAVAILABLE':
      mapped = new KindredError('ERR_KINDRED_BACKEND_UNAVAILABLE', message, { cause: error });
      break;
    case 'ERR_KINDRED_OUT_OF_MEMORY':
    case 'ERR_KINDRED_DEVICE':
      mapped = new NativeError(shape.code, message, { cause: error });
      break;
    default:
      mapped = new NativeError('ERR_KINDRED_INTERNAL', message, { cause: error });
  }
  mapped.stack = `${mapped.name}: ${mapped.message}\n${(callSite.stack ?? '').split('\n').slice(1).join('\n')}`;
  return mapped;
}
