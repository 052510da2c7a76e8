/**
 * The twiddler contract: what a twiddler sees (a {@link TwiddleView} of the current order and a
 * {@link TwiddleContext}), what it answers (a {@link TwiddleStep}), and the registry that makes
 * twiddlers from configuration by name.
 *
 * Data flow: the controller ({@link TwiddlerChain}) keeps the current order (ranker positions)
 * and one rank key per candidate (starting at `score`). A twiddler answers with either new keys
 * (`kind: 'keys'`: the controller moves only the items whose key changed) or a new order
 * (`kind: 'order'`), plus a reason per item it acted on; the controller records each such item's
 * position before and after for `explain`.
 */
import { UnknownTwiddlerError } from '../core/errors.js';
import { invalidArgument } from '../core/validate.js';
import { createDownrank } from './downrank.js';
import { createFalsePositive } from './false-positive.js';
import { createInterval } from './interval.js';

/**
 * One ranked item. Twiddlers read the fields they are configured for (the interval twiddler reads
 * any field named in its `keys`); other fields ride along untouched.
 */
export interface RankedCandidate {
  /** Unique within one request. */
  readonly itemId: string;
  /** The ranker's score (higher is better); the starting rank key. Finite. */
  readonly score: number;
  readonly pctr?: number;
  /** The retrieval anchor the item came from. */
  readonly anchor?: string | number;
  readonly category?: string;
  readonly author?: string;
  /** The item's content vector (the false-positive twiddler compares it by cosine). */
  readonly vector?: Float32Array;
}

/**
 * One of the user's recent actions, as the action log returns it (it may carry more fields, such as
 * `userId`).
 */
export interface RecentAction {
  readonly itemId: string;
  /** The action type, e.g. `'impression'`, `'click'`. */
  readonly action: string;
  /** When it happened, in ms since the epoch (the same clock as {@link TwiddleContext.now}). */
  readonly at: number;
  /** How long the user stayed, for clicks. */
  readonly dwellMs?: number;
}

/** One twiddler in a chain: the registered `name`, its parameters, and an optional `label`. */
export interface TwiddlerSpec {
  /** A registered twiddler name, e.g. `'downrank'`, `'interval'`, `'false-positive'`. */
  readonly name: string;
  /** Passed to the twiddler's factory, which validates it. */
  readonly params?: unknown;
  /** Names this entry in `explain` and in `overrides.params`; defaults to `name`; unique in a chain. */
  readonly label?: string;
}

/** Per-request changes to a feed's configured chain, for A/B tests. */
export interface TwiddleOverrides {
  /** Replaces the configured chain. */
  readonly chain?: readonly TwiddlerSpec[];
  /** Appended after the (configured or replaced) chain. */
  readonly append?: readonly TwiddlerSpec[];
  /**
   * Parameters merged (shallowly) over the params of the chain entry with that label; the merged
   * params are validated again.
   */
  readonly params?: Readonly<Record<string, object>>;
}

/** What every twiddler gets besides the list. */
export interface TwiddleContext {
  /** The request's clock, in ms since the epoch. Default: `Date.now()`. */
  readonly now?: number;
  /**
   * The user's recent actions (newest or oldest first, either). `undefined` means the action log is
   * unavailable (degraded): the downrank twiddler then skips itself and says so. `[]` means none.
   */
  readonly recentActions?: readonly RecentAction[];
  /** Vectors of the items the user clicked but left quickly (false-positive clicks). */
  readonly falsePositiveVectors?: readonly Float32Array[];
  /** Per-request chain overrides. */
  readonly overrides?: TwiddleOverrides;
  /**
   * Record each twiddler's moves in the result's `steps` (for `explain`). Default true; without
   * them the steps list only which twiddlers ran or skipped, and a run costs less (twiddlers may
   * then leave their `reasons` empty).
   */
  readonly recordMoves?: boolean;
  /**
   * Scratch space for one request, kept by the caller across runs of the chain for that request (a
   * feed runs it again on a larger window when the first was too small): twiddlers may keep work
   * there, keyed by their own objects. Create a new one per request. Default: none.
   */
  readonly memo?: WeakMap<object, unknown>;
  /**
   * The caller reads only the first `readPositions` positions of the result (a feed returns its
   * `limit`). The chain tells only its last twiddler, which may then leave the positions after that
   * in their incoming order: the interval twiddler stops placing items there. Default: all read.
   */
  readonly readPositions?: number;
}

/** The context as twiddlers receive it: validated, with `now` filled in. */
export interface ResolvedTwiddleContext extends TwiddleContext {
  readonly now: number;
}

/**
 * A read-only view of the list between twiddlers. Items are identified by their ranker position
 * (their index in `candidates`). Twiddlers must not write to these arrays; the controller hands each
 * twiddler its own copies.
 */
export interface TwiddleView<T extends RankedCandidate = RankedCandidate> {
  /** The candidates in the ranker's order; index = ranker position. */
  readonly candidates: readonly T[];
  /** The current order, best first, as ranker positions. */
  readonly order: Int32Array;
  /** The current rank key of each candidate, by ranker position. */
  readonly keys: Float64Array;
}

/**
 * A twiddler's answer. `reasons` maps the ranker position of each item the twiddler acted on to why;
 * those items get a move in `explain`.
 *
 * - `keys`: new rank keys by ranker position (not NaN). Items whose key did not change keep their
 *   relative order; an item whose key fell sinks past the following items that now rank above it,
 *   one whose key rose climbs past the preceding items it now ranks above ("ranks above" = higher
 *   key, ties broken by ranker position). On a list sorted by key this is a stable re-sort.
 * - `order`: the new order, a permutation of the ranker positions in `view.order`.
 * - `skip`: the twiddler did nothing, and `reason` says why (e.g. no action log).
 */
export type TwiddleStep =
  | { readonly kind: 'keys'; readonly keys: Float64Array; readonly reasons: ReadonlyMap<number, string> }
  | { readonly kind: 'order'; readonly order: Int32Array; readonly reasons: ReadonlyMap<number, string> }
  | { readonly kind: 'skip'; readonly reason: string };

/** One rule that adjusts the order after ranking. Made from parameters by a {@link TwiddlerFactory}. */
export interface Twiddler {
  /** Computes this twiddler's adjustment of the current list. Should be O(n) or close, and synchronous. */
  apply(view: TwiddleView, context: ResolvedTwiddleContext): TwiddleStep;
}

/**
 * Makes a twiddler from its parameters, or throws an InvalidArgumentError naming the bad parameter
 * under `argument` (e.g. `'chain[1].params'` → `'chain[1].params.minGap'`).
 */
export type TwiddlerFactory = (params: unknown, argument: string) => Twiddler;

/** Twiddler factories by name. {@link defaultTwiddlerRegistry} holds the built-ins. */
export class TwiddlerRegistry {
  readonly #factories = new Map<string, TwiddlerFactory>();

  /**
   * @param builtIns register `downrank`, `interval` and `false-positive` (default true)
   */
  constructor(builtIns = true) {
    if (builtIns) {
      this.register('downrank', createDownrank);
      this.register('interval', createInterval);
      this.register('false-positive', createFalsePositive);
    }
  }

  /**
   * Adds a factory under `name`.
   * @throws InvalidArgumentError when `name` is not a non-empty string, is already registered, or
   *   `factory` is not a function
   */
  register(name: string, factory: TwiddlerFactory): void {
    if (typeof name !== 'string' || name.length === 0) throw invalidArgument('name', 'a non-empty string', name);
    if (this.#factories.has(name)) throw invalidArgument('name', 'a twiddler name not registered yet', name);
    if (typeof factory !== 'function') throw invalidArgument('factory', 'a function (params, argument) => Twiddler', factory);
    this.#factories.set(name, factory);
  }

  /** True when `name` is registered. */
  has(name: string): boolean {
    return this.#factories.has(name);
  }

  /** The registered names, in registration order. */
  names(): string[] {
    return [...this.#factories.keys()];
  }

  /**
   * Makes the twiddler `spec` describes; `argument` names the spec in errors, `paramsArgument` its
   * params (default `${argument}.params`).
   * @throws UnknownTwiddlerError when `spec.name` is not registered
   * @throws InvalidArgumentError when the factory rejects `spec.params`
   */
  create(spec: TwiddlerSpec, argument: string, paramsArgument = `${argument}.params`): Twiddler {
    const factory = this.#factories.get(spec.name);
    if (factory === undefined) throw new UnknownTwiddlerError(`${argument}.name`, spec.name, this.names());
    const twiddler = factory(spec.params, paramsArgument);
    if (typeof twiddler !== 'object' || twiddler === null || typeof twiddler.apply !== 'function') {
      throw invalidArgument(`${argument} (factory '${spec.name}')`, 'a factory returning { apply(view, context) }', twiddler);
    }
    return twiddler;
  }
}

/** The process-wide registry that chains use unless given another. */
export const defaultTwiddlerRegistry = new TwiddlerRegistry();

/**
 * Registers a custom twiddler under `name` in the default registry, so chains can name it.
 *
 * @example
 * registerTwiddler('boost-fresh', (params, argument) => ({
 *   apply(view, context) {
 *     const keys = view.keys.slice();
 *     // ... raise keys of fresh items ...
 *     return { kind: 'keys', keys, reasons: new Map() };
 *   },
 * }));
 * @throws InvalidArgumentError when `name` is already registered (built-ins included)
 */
export function registerTwiddler(name: string, factory: TwiddlerFactory): void {
  defaultTwiddlerRegistry.register(name, factory);
}
