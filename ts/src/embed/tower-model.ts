/** Checks shared by the towers: a loaded model with the side-info inputs and `user`/`peer` outputs of one width. */
import { InvalidArgumentError, ModelError } from '../core/errors.js';
import type { ModelDescription } from './model-contract.js';
import type { ModelPool } from './model-pool.js';
import { sideInfoInputs } from './side-info.js';

/**
 * The description of tower model `name` in `pool`, and its embedding width.
 *
 * @throws InvalidArgumentError when `name` is not loaded in `pool`
 * @throws ModelError `ERR_KINDRED_MODEL_LOAD` when the model breaks the tower contract
 */
export function towerModel(pool: ModelPool, name: string, extraInputs: readonly string[]): { model: ModelDescription; dim: number } {
  const model = pool.describe(name);
  if (model === undefined) throw new InvalidArgumentError('options.model', `the name of a model loaded in the pool`, String(name));
  const fail = (message: string) => new ModelError('ERR_KINDRED_MODEL_LOAD', name, message);
  const inputs = model.inputs.map((s) => s.name);
  for (const needed of [...extraInputs, ...sideInfoInputs]) {
    if (!inputs.includes(needed)) throw fail(`a tower needs input '${needed}'; the model has ${inputs.join(', ')}`);
  }
  const widths = ['user', 'peer'].map((side) => {
    const spec = model.outputs.find((o) => o.name === side);
    if (spec === undefined || spec.shape.length !== 2 || typeof spec.shape[1] !== 'number') {
      throw fail(`a tower needs output '${side}' float32 [batch, dim]`);
    }
    return spec.shape[1];
  });
  if (widths[0] !== widths[1]) throw fail(`outputs 'user' (${widths[0]}) and 'peer' (${widths[1]}) differ in width`);
  return { model, dim: widths[0]! };
}
