import { checkInt, isPlainObject, unknownKeys } from '../../../core/checks.js';
import { isHeaderName } from '../../../core/names.js';
import { isJsonPointer } from '../../../formats/json-pointer.js';
import { isOneOf } from '../route-settings.js';

/** Where a route finds the id that makes two deliveries "the same": `"from"` of its `"idempotency"`. */
export const IDEMPOTENCY_SOURCES = {
  HEADER: 'header',
  JSON_POINTER: 'json-pointer',
} as const;

export type IdempotencySource = (typeof IDEMPOTENCY_SOURCES)[keyof typeof IDEMPOTENCY_SOURCES];

/**
 * A route's `"idempotency"`: a repeated delivery (same id, same route) within `windowSeconds` of the
 * first one's completion gets the first answer back and produces nothing. `header` is lower-cased.
 */
export type IdempotencyConfig =
  | { readonly from: 'header'; readonly header: string; readonly windowSeconds: number }
  | { readonly from: 'json-pointer'; readonly pointer: string; readonly windowSeconds: number };

export const IDEMPOTENCY_WINDOW_SECONDS = {
  /** A day: longer than any sender's documented retry schedule for one attempt burst. */
  default: 86_400,
  /** Below a minute the window is shorter than senders' own retry intervals: it would catch nothing. */
  min: 60,
  /** A week: Stripe retries for up to three days; longer only grows the table. */
  max: 604_800,
} as const;

/** Table-wide settings, from the environment (`IDEMPOTENCY_*`), shared by every route. */
export interface IdempotencySettings {
  /** `IDEMPOTENCY_TABLE`: required once any route sets `"idempotency"`. */
  readonly tableName: string | undefined;
  /**
   * `IDEMPOTENCY_IN_PROGRESS_TTL_MS`: how long a claim blocks other deliveries of the same id. Must be at
   * least the webhook function's timeout, so that no delivery is still running when its claim lapses.
   */
  readonly inProgressTtlMs: number;
  /** `DYNAMODB_ENDPOINT`: dynalite and other local stand-ins; unset in AWS. */
  readonly dynamodbEndpoint: URL | undefined;
}

/** API Gateway stops waiting at 30 s; the webhook function's timeout is at most that, plus margin. */
export const DEFAULT_IN_PROGRESS_TTL_MS = 60_000;

const SHAPES: Readonly<Record<IdempotencySource, string>> = {
  header: '{"from":"header","header":"webhook-id","windowSeconds"?:86400}',
  'json-pointer': '{"from":"json-pointer","pointer":"/id","windowSeconds"?:86400}',
};

const KEYS: Readonly<Record<IdempotencySource, readonly string[]>> = {
  header: ['from', 'header', 'windowSeconds'],
  'json-pointer': ['from', 'pointer', 'windowSeconds'],
};

const SOURCES = Object.values(IDEMPOTENCY_SOURCES);

/**
 * Checks the optional `"idempotency"` object of the route at `at` (e.g. `WEBHOOK_ROUTES.stripe`). Absent
 * means the route does not deduplicate. Pushes one line per problem onto `problems`, each naming the path
 * and the expected shape, and returns undefined when there was any. Never throws.
 */
export const parseIdempotency = (
  value: unknown,
  at: string,
  problems: string[],
): IdempotencyConfig | undefined => {
  if (value === undefined) return undefined;
  const path = `${at}.idempotency`;
  if (!isPlainObject(value) || !isOneOf(SOURCES, value.from)) {
    problems.push(
      `${path} must be an object whose "from" is one of ${SOURCES.join(' | ')}, e.g. ${SHAPES.header} or ${SHAPES['json-pointer']}`,
    );
    return undefined;
  }
  const from = value.from;
  const shape = SHAPES[from];
  const problemsBefore = problems.length;
  for (const key of unknownKeys(value, KEYS[from])) {
    problems.push(`${path}.${key} is not a setting of "from":"${from}": expected ${shape}`);
  }
  const windowSeconds = value.windowSeconds ?? IDEMPOTENCY_WINDOW_SECONDS.default;
  const windowProblem = checkInt(windowSeconds, {
    min: IDEMPOTENCY_WINDOW_SECONDS.min,
    max: IDEMPOTENCY_WINDOW_SECONDS.max,
  });
  if (windowProblem) problems.push(`${path}.windowSeconds must be ${windowProblem} (seconds)`);

  if (from === 'header') {
    const header = value.header;
    if (!isHeaderName(header)) {
      problems.push(`${path}.header must be an HTTP header name: expected ${shape}`);
      return undefined;
    }
    if (problems.length !== problemsBefore) return undefined;
    return { from, header: header.toLowerCase(), windowSeconds: windowSeconds as number };
  }
  const pointer = value.pointer;
  // RFC 6901, but not the empty pointer: the whole document is a payload, not an id.
  if (typeof pointer !== 'string' || !isJsonPointer(pointer) || pointer === '') {
    problems.push(
      `${path}.pointer must be a JSON pointer (RFC 6901) to a field of the body, such as "/id": expected ${shape}`,
    );
    return undefined;
  }
  if (problems.length !== problemsBefore) return undefined;
  return { from, pointer, windowSeconds: windowSeconds as number };
};
