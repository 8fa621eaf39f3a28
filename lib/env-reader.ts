/**
 * Typed, loud reading of environment-style settings. Every problem is collected (not thrown) so that
 * `loadConfig` can report all of them at once; each message names the key and the shape it expects.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvReader {
  readonly problems: string[];
  /** The raw value, trimmed; undefined when unset or blank. */
  raw(name: string): string | undefined;
  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  int(name: string, fallback: number, range?: IntRange): number;
  int(name: string, fallback: undefined, range?: IntRange): number | undefined;
  bool(name: string, fallback: boolean): boolean;
  url(name: string): URL | undefined;
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T;
  list(name: string): string[];
  json(name: string): unknown;
}

export interface IntRange {
  readonly min?: number;
  readonly max?: number;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

export const createEnvReader = (env: Env): EnvReader => {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const reader = {
    problems,
    raw,
    string: (name: string, fallback?: string) => raw(name) ?? fallback,
    int: (name: string, fallback: number | undefined, range: IntRange = {}) => {
      const value = raw(name);
      if (value === undefined) return fallback;
      const parsed = parseIntStrict(value);
      const problem = checkInt(parsed, range);
      if (problem) {
        problems.push(`${name} must be ${problem}, got ${JSON.stringify(value)}`);
        return fallback;
      }
      return parsed;
    },
    bool: (name: string, fallback: boolean) => {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (TRUE_WORDS.has(value)) return true;
      if (FALSE_WORDS.has(value)) return false;
      problems.push(`${name} must be true or false, got ${JSON.stringify(value)}`);
      return fallback;
    },
    url: (name: string) => {
      const value = raw(name);
      if (value === undefined) return undefined;
      try {
        return new URL(value);
      } catch {
        // Not echoed: a mistyped URL can still carry credentials (`user:secret@host`).
        problems.push(`${name} must be an absolute URL (scheme://host[:port][/path])`);
        return undefined;
      }
    },
    oneOf: <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
      const value = raw(name);
      if (value === undefined) return fallback;
      if ((allowed as readonly string[]).includes(value)) return value as T;
      problems.push(`${name} must be one of ${allowed.join(' | ')}, got ${JSON.stringify(value)}`);
      return fallback;
    },
    list: (name: string) =>
      (raw(name) ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    json: (name: string) => {
      const value = raw(name);
      if (value === undefined) return undefined;
      try {
        return JSON.parse(value) as unknown;
      } catch (error) {
        // The parser's message quotes the text around the error, which may be a secret: keep the position only.
        const position = /position (\d+)/.exec((error as Error).message)?.[1];
        problems.push(
          `${name} must be JSON${position === undefined ? '' : ` (invalid at character ${position})`}`,
        );
        return undefined;
      }
    },
  };
  return reader as EnvReader;
};

const parseIntStrict = (value: string): number => (/^-?\d+$/.test(value) ? Number(value) : Number.NaN);

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
