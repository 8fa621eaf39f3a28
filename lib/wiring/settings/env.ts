/**
 * Typed, loud reading of environment-style settings. Every problem is collected (not thrown) so that
 * `loadConfig` can report all of them at once; each message names the key and the shape it expects.
 */
import { checkInt, type IntRange } from '../../core/checks.js';
import { isTopicName, TOPIC_NAME_SHAPE } from '../../core/names.js';

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

/** A topic-name setting; a value that is no Kafka topic name is a problem (and reads as unset). */
export const topicSetting = (read: EnvReader, key: string): string | undefined => {
  const value = read.string(key);
  if (value === undefined || isTopicName(value)) return value;
  read.problems.push(`${key} must be ${TOPIC_NAME_SHAPE}, got ${JSON.stringify(value)}`);
  return undefined;
};
