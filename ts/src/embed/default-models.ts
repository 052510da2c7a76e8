/**
 * Where the default models shipped in the package live: `models/` at the package root, reached
 * from the compiled `dist/embed/` and from the TypeScript sources in `ts/src/embed/` alike.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError } from '../core/errors.js';

/** The models kindred ships (see `models/*.md` for each one's card). */
export type DefaultModelName = 'feature-tower' | 'session-tower' | 'fwfm-ranker';

const DEFAULT_MODELS: readonly DefaultModelName[] = ['feature-tower', 'session-tower', 'fwfm-ranker'];

let root: string | undefined;

/** The folder holding the shipped models. */
export function defaultModelsDir(): string {
  if (root === undefined) {
    // dist/embed → ../../models; ts/src/embed → ../../../models.
    const candidates = ['../../models/', '../../../models/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
    root = candidates.find((dir) => existsSync(`${dir}feature-tower.onnx`)) ?? candidates[0]!;
  }
  return root;
}

/**
 * The path of a shipped default model, to pass to `ModelPool.load`.
 *
 * @example
 * await pool.load('feature-tower', defaultModelPath('feature-tower'));
 */
export function defaultModelPath(name: DefaultModelName): string {
  if (!DEFAULT_MODELS.includes(name)) {
    throw new InvalidArgumentError('name', `one of ${DEFAULT_MODELS.join(', ')}`, String(name));
  }
  return `${defaultModelsDir()}${name}.onnx`;
}
