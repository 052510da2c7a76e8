/**
 * A user's request-time side information (models/CONTRACT.md) and its encoding as the towers'
 * eight inputs, with every id checked against the model's vocabulary.
 */
import { invalidArgument } from '../core/validate.js';
import { metadataJson } from './onnx-metadata.js';

/** Side information of one user at request time. Ids are 0-based indices into the model's vocabularies. */
export interface UserSideInfo {
  /** 0..C-1. */
  country: number;
  /** Primary spoken language, 0..L-1. */
  language: number;
  /** 0..2. */
  gender: number;
  /** Bitmask over genders, 1..7. */
  wants: number;
  /** 0..6. */
  ageBucket: number;
  /** 0..L-1. */
  deviceLanguage: number;
  /** Days since sign-up, finite and ≥ 0. */
  accountAgeDays: number;
  /** Recent reports against the user, finite and ≥ 0. */
  recentReports: number;
}

/** The model's input names of the side-info fields, in contract order. */
export const sideInfoInputs = [
  'country',
  'language',
  'gender',
  'wants',
  'age_bucket',
  'device_language',
  'account_age_days',
  'recent_reports',
] as const;

/** Vocabulary sizes by input name (metadata `kindred.vocab`). */
export type SideInfoVocab = Readonly<Partial<Record<(typeof sideInfoInputs)[number], number>>>;

const idFields: ReadonlyArray<[keyof UserSideInfo, (typeof sideInfoInputs)[number]]> = [
  ['country', 'country'],
  ['language', 'language'],
  ['gender', 'gender'],
  ['wants', 'wants'],
  ['ageBucket', 'age_bucket'],
  ['deviceLanguage', 'device_language'],
];

/** Ranges the contract fixes, used when the model states no vocabulary. */
const contractRanges: Readonly<Record<string, [number, number]>> = {
  gender: [0, 2],
  wants: [1, 7],
  age_bucket: [0, 6],
};

/** The `kindred.vocab` metadata as sizes (positive integers only), or an empty vocab. */
export function readVocab(metadata: Readonly<Record<string, string>>): SideInfoVocab {
  const raw = metadataJson(metadata, 'kindred.vocab');
  const vocab: Record<string, number> = {};
  if (typeof raw === 'object' && raw !== null) {
    for (const [key, value] of Object.entries(raw)) if (Number.isInteger(value) && (value as number) > 0) vocab[key] = value as number;
  }
  return vocab;
}

/**
 * The eight side-info inputs for `users`: int64 ids and float32 counts, one row per user.
 *
 * @throws InvalidArgumentError naming the first bad field (e.g. `users[3].country`)
 */
export function sideInfoFeeds(
  users: readonly UserSideInfo[],
  vocab: SideInfoVocab,
  argument = 'users',
  rowName: (i: number) => string = (i) => `${argument}[${i}]`,
): Record<(typeof sideInfoInputs)[number], BigInt64Array | Float32Array> {
  if (!Array.isArray(users) || users.length === 0) throw invalidArgument(argument, 'a non-empty array of side info', users);
  const n = users.length;
  const feeds = {} as Record<(typeof sideInfoInputs)[number], BigInt64Array | Float32Array>;
  for (const [, input] of idFields) feeds[input] = new BigInt64Array(n);
  feeds.account_age_days = new Float32Array(n);
  feeds.recent_reports = new Float32Array(n);
  users.forEach((user, i) => {
    if (typeof user !== 'object' || user === null) throw invalidArgument(rowName(i), 'a side-info object', user);
    for (const [field, input] of idFields) {
      const value = user[field];
      const size = vocab[input];
      const [min, max] = size !== undefined ? [input === 'wants' ? 1 : 0, size - 1] : (contractRanges[input] ?? [0, 2 ** 31 - 1]);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw invalidArgument(`${rowName(i)}.${field}`, `an integer between ${min} and ${max}`, value);
      }
      (feeds[input] as BigInt64Array)[i] = BigInt(value);
    }
    for (const [field, input] of [
      ['accountAgeDays', 'account_age_days'],
      ['recentReports', 'recent_reports'],
    ] as const) {
      const value = user[field];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw invalidArgument(`${rowName(i)}.${field}`, 'a finite number >= 0', value);
      }
      (feeds[input] as Float32Array)[i] = value;
    }
  });
  return feeds;
}
