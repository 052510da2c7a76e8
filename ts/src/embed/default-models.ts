/**
 * Where the default models shipped in the package live: `models/` at the package root, reached
 * from the compiled `dist/embed/` and from the TypeScript sources in `ts/src/embed/` alike.
 */
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError, ModelError } from '../core/errors.js';

/** The models kindred ships (see `models/*.md` for each one's card). */
export type DefaultModelName = 'feature-tower' | 'session-tower' | 'fwfm-ranker';

const DEFAULT_MODELS: readonly DefaultModelName[] = ['feature-tower', 'session-tower', 'fwfm-ranker'];

let root: string | undefined;

/**
 * The folder holding the shipped models: the nearest `models/` with the default models above this
 * file (the package root for `dist/embed/`, the repository root for `ts/src/embed/` and compiled
 * copies under `build/`).
 */
export function defaultModelsDir(): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (;;) {
      if (existsSync(join(dir, 'models', 'feature-tower.onnx'))) break;
      const parent = dirname(dir);
      if (parent === dir) {
        throw new ModelError('ERR_KINDRED_MODEL_LOAD', 'feature-tower', `no models/ folder with the default models above ${fileURLToPath(import.meta.url)}`);
      }
      dir = parent;
    }
    root = join(dir, 'models') + sep;
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
