/**
 * The feed's item catalogue: what ranking and twiddling need to know about every item that
 * retrieval can return (category, author, content vector), by item id.
 */
import { invalidArgument, integerInRange, optionsObject } from '../core/validate.js';
import { itemId as checkItemId } from '../retrieve/index-arguments.js';
import type { ItemId } from '../retrieve/item-index.js';

/** One item as given to {@link ItemCatalogue.add}. */
export interface FeedItem {
  /** The item's id, as in the item index (a string or a finite number; `1` and `'1'` may not both be used). */
  readonly id: ItemId;
  /** Its category (compared and hashed as `String(category)`). */
  readonly category: string | number;
  /** Its author (compared and hashed as `String(author)`). */
  readonly author: string | number;
  /** Its content vector, `dim` finite floats (the vector it has in the item index). Copied. */
  readonly vector: Float32Array;
}

/** A catalogue entry. `key` is `String(id)`, the id as the action log and the twiddlers know it. */
export interface CatalogueEntry {
  readonly id: ItemId;
  readonly key: string;
  readonly category: string;
  readonly author: string;
  readonly vector: Float32Array;
}

/** Options of {@link ItemCatalogue}. */
export interface ItemCatalogueOptions {
  /** Length of every vector, 1..2^20. */
  dim: number;
}

/**
 * Items by id with their category, author and vector. Adding is all or nothing.
 *
 * @example
 * const items = new ItemCatalogue({ dim: 64 });
 * items.add([{ id: 7, category: 'news', author: 'a12', vector }]);
 * items.get(7)?.category; // 'news'
 */
export class ItemCatalogue {
  readonly dim: number;
  readonly #entries = new Map<ItemId, CatalogueEntry>();
  readonly #keys = new Set<string>();

  /** @throws InvalidArgumentError for a bad dim */
  constructor(options: ItemCatalogueOptions) {
    if (options === undefined) throw invalidArgument('options', 'an options object with dim', options);
    const o = optionsObject<ItemCatalogueOptions>(options, 'options');
    this.dim = integerInRange(o.dim, 'options.dim', 1, 2 ** 20);
  }

  /** Number of items. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `id`, or undefined. */
  get(id: ItemId): CatalogueEntry | undefined {
    return this.#entries.get(id);
  }

  has(id: ItemId): boolean {
    return this.#entries.has(id);
  }

  /**
   * Adds items (vectors are copied). All or nothing.
   * @throws InvalidArgumentError naming `items[i]` and the field: a bad id, an id already present or
   *   repeated (also `1` next to `'1'`), a category or author that is not a string or number, a
   *   vector that is not `dim` finite floats
   */
  add(items: readonly FeedItem[]): void {
    if (!Array.isArray(items)) throw invalidArgument('items', 'an array of { id, category, author, vector }', items);
    const dim = this.dim;
    const added: CatalogueEntry[] = [];
    const keys = new Set<string>();
    const storage = new Float32Array(items.length * dim);
    items.forEach((item: unknown, i) => {
      const where = `items[${i}]`;
      if (typeof item !== 'object' || item === null) throw invalidArgument(where, 'an item { id, category, author, vector }', item);
      const it = item as Partial<FeedItem>;
      const id = checkItemId(it.id, `${where}.id`);
      const key = String(id);
      if (this.#keys.has(key) || keys.has(key)) throw invalidArgument(`${where}.id`, 'an id not in the catalogue yet (ids are unique as strings)', id);
      keys.add(key);
      const category = label(it.category, `${where}.category`);
      const author = label(it.author, `${where}.author`);
      const vector = finiteVector(it.vector, `${where}.vector`, dim);
      const own = storage.subarray(i * dim, (i + 1) * dim);
      own.set(vector);
      added.push({ id, key, category, author, vector: own });
    });
    for (const entry of added) {
      this.#entries.set(entry.id, entry);
      this.#keys.add(entry.key);
    }
  }
}

function label(value: unknown, argument: string): string {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return String(value);
  throw invalidArgument(argument, 'a string or a finite number', value);
}

/** `value` checked to be a Float32Array of `dim` finite floats, or an InvalidArgumentError naming `argument`. */
export function finiteVector(value: unknown, argument: string, dim: number): Float32Array {
  if (!(value instanceof Float32Array) || value.length !== dim) throw invalidArgument(argument, `a Float32Array of length ${dim}`, value);
  for (let j = 0; j < dim; j++) {
    if (!Number.isFinite(value[j]!)) throw invalidArgument(argument, `finite values (element ${j} is ${value[j]})`, value);
  }
  return value;
}
