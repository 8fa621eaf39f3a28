/**
 * Checks of JSON-shaped setting values (a route, a sink, a drain): every problem is collected, not thrown,
 * and each message names where the value sits and the shape it expects.
 */

export interface IntRange {
  readonly min?: number;
  readonly max?: number;
}

/** Describes what is wrong with `value` as an integer in `range`, or returns undefined when it is fine. */
export const checkInt = (value: unknown, range: IntRange = {}): string | undefined => {
  const { min, max } = range;
  const shape =
    min !== undefined && max !== undefined
      ? `an integer from ${min} to ${max}`
      : min !== undefined
        ? `an integer ≥ ${min}`
        : 'an integer';
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return shape;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) return shape;
  return undefined;
};

/** True for a plain JSON object (not an array or null). */
export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Names keys of `value` that are not in `allowed`, so that typos in JSON settings are caught. */
export const unknownKeys = (value: Record<string, unknown>, allowed: readonly string[]): string[] =>
  Object.keys(value).filter((key) => !allowed.includes(key));

export interface SpecReader {
  /** Reports each key not in `allowed`: typos in JSON settings are caught, not ignored. */
  keys(allowed: readonly string[], kind: string): void;
  bool(key: string, fallback: boolean): boolean;
  int(key: string, fallback: number, range: IntRange): number;
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T;
  requiredString(key: string, maxLength: number): string;
  optionalString(key: string, maxLength: number): string | undefined;
  matching(key: string, pattern: RegExp, shape: string, fallback: string | undefined): string;
}

/** Per-key checks over one JSON object of a setting, each problem naming `at.key` and the expected shape. */
export const createSpecReader = (
  spec: Readonly<Record<string, unknown>>,
  at: string,
  problems: string[],
): SpecReader => ({
  keys: (allowed, kind) => {
    for (const key of unknownKeys(spec, allowed)) {
      problems.push(`${at}.${key} is not a ${kind} setting (one of ${allowed.join(', ')})`);
    }
  },
  bool: (key, fallback) => {
    const value = spec[key];
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    problems.push(`${at}.${key} must be true or false`);
    return fallback;
  },
  int: (key, fallback, range) => {
    const value = spec[key];
    if (value === undefined) return fallback;
    const problem = checkInt(value, range);
    if (problem === undefined) return value as number;
    problems.push(`${at}.${key} must be ${problem}`);
    return fallback;
  },
  oneOf: (key, allowed, fallback) => {
    const value = spec[key];
    if (value === undefined) return fallback;
    if ((allowed as readonly unknown[]).includes(value)) return value as (typeof allowed)[number];
    problems.push(`${at}.${key} must be one of ${allowed.map((a) => `"${a}"`).join(' | ')}`);
    return fallback;
  },
  requiredString: (key, maxLength) => {
    const value = spec[key];
    if (typeof value === 'string' && value.trim() !== '' && value.length <= maxLength) return value;
    problems.push(`${at}.${key} is required: a non-blank string of at most ${maxLength} characters`);
    return '';
  },
  optionalString: (key, maxLength) => {
    const value = spec[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.trim() !== '' && value.length <= maxLength) return value;
    problems.push(`${at}.${key} must be a non-blank string of at most ${maxLength} characters`);
    return undefined;
  },
  matching: (key, pattern, shape, fallback) => {
    const value = spec[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value === 'string' && pattern.test(value)) return value;
    problems.push(`${at}.${key} ${fallback === undefined ? 'is required and must' : 'must'} be ${shape}`);
    return fallback ?? '';
  },
});
