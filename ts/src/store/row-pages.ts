/**
 * Float rows addressed by slot, in pages of flat Float32Arrays (row s is entry s & (PAGE − 1) of
 * page s >>> PAGE_BITS), read back many at a time by one native gather. The caches that hold one
 * row per user (feature-tower outputs, the in-process embedding memory) keep their rows here: a
 * matchPool call reads every user of its pool from them, after the matching has pushed them out of
 * the CPU caches, and one row copy at a time from JavaScript waited for memory on each row
 * (N = 2,000, the bundled world: the memory's read 2.2–2.4 → 0.7–0.8 ms, the feature cache's fill
 * 1.3 → 0.7 ms, both on the request's main thread).
 */
import { native } from '../native/binding.js';

/** Rows per page: slot s is row s & (PAGE − 1) of page s >>> PAGE_BITS. */
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;

export class RowPages {
  /** Floats per row. */
  readonly width: number;
  readonly #pages: Float32Array[] = [];

  constructor(width: number) {
    this.width = width;
  }

  /** Slots that have room now (whole pages). */
  get capacity(): number {
    return this.#pages.length * PAGE;
  }

  /** Copies `values` into row `slot` from float `offset` on, adding pages up to the slot's. */
  write(slot: number, values: Float32Array, offset = 0): void {
    while (slot >= this.capacity) this.#pages.push(new Float32Array(PAGE * this.width));
    this.#pages[slot >>> PAGE_BITS]!.set(values, (slot & (PAGE - 1)) * this.width + offset);
  }

  /** A view of `length` floats of row `slot` from `offset` (valid until the row is written again). */
  view(slot: number, offset: number, length: number): Float32Array {
    const at = (slot & (PAGE - 1)) * this.width + offset;
    return this.#pages[slot >>> PAGE_BITS]!.subarray(at, at + length);
  }

  /**
   * Copies row slots[i] into row i of the targets, each target taking an equal part of the row in
   * order (two targets of width/2: a row's first half, then its second); rows whose slot is
   * negative are left as they are.
   */
  gather(slots: Int32Array, targets: readonly Float32Array[]): void {
    native().gatherRows(this.#pages, this.width, slots, targets);
  }

  /** Drops every page. */
  clear(): void {
    this.#pages.length = 0;
  }
}
