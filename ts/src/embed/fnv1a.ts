/**
 * Feature hashing shared with training (tools/models/hashing.py):
 * `bucket(field, value) = (fnv1a32(utf8(String(value))) + shift[field]) mod buckets`.
 */
const encoder = new TextEncoder();

/** FNV-1a, 32 bit, over the UTF-8 bytes of `text` (offset 2166136261, prime 16777619). */
export function fnv1a32(text: string): number {
  let hash = 2166136261;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash >>> 0;
}

/** Hashing parameters (metadata `kindred.hashing`). */
export interface HashingSpec {
  readonly buckets: number;
  readonly shift: Readonly<Record<string, number>>;
}

/** The bucket of `value` in `field`: an integer in [0, buckets). */
export function hashBucket(spec: HashingSpec, field: string, value: string | number): number {
  return (fnv1a32(String(value)) + (spec.shift[field] ?? 0)) % spec.buckets;
}

/** Reads a `kindred.hashing` value, or undefined when it is not a usable spec. */
export function parseHashing(raw: unknown): HashingSpec | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { buckets, shift, function: fn } = raw as { buckets?: unknown; shift?: unknown; function?: unknown };
  if (fn !== undefined && fn !== 'fnv1a32') return undefined;
  if (!Number.isSafeInteger(buckets) || (buckets as number) < 1) return undefined;
  const shifts: Record<string, number> = {};
  if (typeof shift === 'object' && shift !== null) {
    for (const [k, v] of Object.entries(shift)) if (Number.isSafeInteger(v)) shifts[k] = v as number;
  }
  return { buckets: buckets as number, shift: shifts };
}
