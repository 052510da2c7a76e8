/**
 * The downrank twiddler: items the user recently acted on (saw, clicked, …) go down.
 *
 * Semantics: for each rule (one per action type), count the user's actions of that type on each
 * item within the look-back window, `now − windowMs ≤ at ≤ now` (later timestamps are ignored). When
 * the count reaches the rule's `threshold`, the item's rank key keeps only `factor` of its
 * magnitude: `key − |key| × (1 − factor)` (a positive key is multiplied by `factor`; a negative one
 * moves further below zero). Several matching rules multiply their factors. A key of 0 stays 0.
 * The controller then sinks each demoted item below the items that now rank above it; everyone
 * else keeps their order.
 */
import { integerInRange, invalidArgument } from '../core/validate.js';
import type { ResolvedTwiddleContext, TwiddleStep, TwiddleView, Twiddler } from './twiddler.js';
import { demoteKey, numberInRange, paramsObject, positiveNumber } from './twiddler-params.js';

/** One per-action rule of {@link DownrankParams}. */
export interface DownrankRule {
  /** How many actions of this type within the window trigger the rule; an integer ≥ 1. */
  readonly threshold: number;
  /** The share of the key's magnitude the item keeps, in [0, 1] (0.5 halves a positive score). */
  readonly factor: number;
  /** This rule's own look-back window in ms (> 0); default: the twiddler's `windowMs`. */
  readonly windowMs?: number;
}

/**
 * Parameters of the `downrank` twiddler.
 *
 * @example
 * { name: 'downrank', params: {
 *     windowMs: 24 * 3600_000,
 *     rules: { impression: { threshold: 3, factor: 0.5 }, click: { threshold: 1, factor: 0.2 } },
 * } }
 */
export interface DownrankParams {
  /** The look-back window in ms, > 0. */
  readonly windowMs: number;
  /** Rules by action type (e.g. `'impression'`, `'click'`); at least one. */
  readonly rules: Readonly<Record<string, DownrankRule>>;
}

interface CheckedRule {
  action: string;
  threshold: number;
  factor: number;
  windowMs: number;
}

/**
 * Makes a downrank twiddler. It skips itself (and says so in `explain`) when the context has no
 * `recentActions` (the action log is degraded).
 * @throws InvalidArgumentError naming the bad parameter
 */
export function createDownrank(params: unknown, argument: string): Twiddler {
  const p = paramsObject(params, argument);
  const windowMs = positiveNumber(p.windowMs, `${argument}.windowMs`);
  const rulesArg = `${argument}.rules`;
  const rulesObject = paramsObject(p.rules, rulesArg);
  const rules: CheckedRule[] = Object.entries(rulesObject).map(([action, rule]) => {
    const r = paramsObject(rule, `${rulesArg}.${action}`);
    return {
      action,
      threshold: integerInRange(r.threshold, `${rulesArg}.${action}.threshold`, 1, 1_000_000),
      factor: numberInRange(r.factor, `${rulesArg}.${action}.factor`, 0, 1),
      windowMs: r.windowMs === undefined ? windowMs : positiveNumber(r.windowMs, `${rulesArg}.${action}.windowMs`),
    };
  });
  if (rules.length === 0) throw invalidArgument(rulesArg, 'at least one rule { threshold, factor }', rulesObject);
  return new DownrankTwiddler(rules);
}

class DownrankTwiddler implements Twiddler {
  readonly #rules: CheckedRule[];
  readonly #ruleByAction: Map<string, number>;

  constructor(rules: CheckedRule[]) {
    this.#rules = rules;
    this.#ruleByAction = new Map(rules.map((rule, i) => [rule.action, i]));
  }

  apply(view: TwiddleView, context: ResolvedTwiddleContext): TwiddleStep {
    const actions = context.recentActions;
    if (actions === undefined) return { kind: 'skip', reason: 'recent actions unavailable (action log degraded)' };
    const n = view.candidates.length;
    const positionOf = new Map<string, number>();
    for (let i = 0; i < n; i++) positionOf.set(view.candidates[i]!.itemId, i);

    // counts[r * n + i]: actions of rule r's type on candidate i within rule r's window.
    const rules = this.#rules;
    const counts = new Int32Array(rules.length * n);
    const now = context.now;
    for (let a = 0; a < actions.length; a++) {
      const action = actions[a]!;
      const r = this.#ruleByAction.get(action.action);
      if (r === undefined) continue;
      const i = positionOf.get(action.itemId);
      if (i === undefined) continue;
      const at = action.at;
      if (at <= now && at >= now - rules[r]!.windowMs) counts[r * n + i]!++;
    }

    const keys = view.keys.slice();
    const reasons = new Map<number, string>();
    for (let i = 0; i < n; i++) {
      let factor = 1;
      let why = '';
      for (let r = 0; r < rules.length; r++) {
        const count = counts[r * n + i]!;
        const rule = rules[r]!;
        if (count < rule.threshold) continue;
        factor *= rule.factor;
        why += `${why ? '; ' : ''}${rule.action} ×${count} (≥ ${rule.threshold}) in ${rule.windowMs} ms → ×${rule.factor}`;
      }
      if (why === '') continue;
      keys[i] = demoteKey(keys[i]!, 1 - factor);
      reasons.set(i, `downrank: ${why}`);
    }
    return { kind: 'keys', keys, reasons };
  }
}
