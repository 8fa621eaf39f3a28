/**
 * One error family for the whole bridge. Callers branch on `code`, never on the message; the code → HTTP
 * status / retry decision lives in the tables below, not scattered through the handlers.
 */
export const ERROR_CODES = {
  CONFIG: 'ERR_CONFIG',
  PAYLOAD_INVALID: 'ERR_PAYLOAD_INVALID',
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  ROUTE_NOT_FOUND: 'ERR_ROUTE_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'ERR_METHOD_NOT_ALLOWED',
  UNAUTHORIZED: 'ERR_UNAUTHORIZED',
  RECORD_REJECTED: 'ERR_RECORD_REJECTED',
  UPSTREAM_STATUS: 'ERR_UPSTREAM_STATUS',
  UPSTREAM_TIMEOUT: 'ERR_UPSTREAM_TIMEOUT',
  UPSTREAM_NETWORK: 'ERR_UPSTREAM_NETWORK',
  UPSTREAM_PROTOCOL: 'ERR_UPSTREAM_PROTOCOL',
  UPSTREAM_AUTH: 'ERR_UPSTREAM_AUTH',
  DEADLINE: 'ERR_DEADLINE',
  SECRET: 'ERR_SECRET',
  OFFSET_OUT_OF_RANGE: 'ERR_OFFSET_OUT_OF_RANGE',
  CHECKPOINT_CONFLICT: 'ERR_CHECKPOINT_CONFLICT',
  LEASE_LOST: 'ERR_LEASE_LOST',
  SINK_REJECTED: 'ERR_SINK_REJECTED',
  SINK_FAILED: 'ERR_SINK_FAILED',
  SPOOL_FAILED: 'ERR_SPOOL_FAILED',
  /** A webhook delivery reuses an idempotency id that an earlier delivery with another payload holds. */
  IDEMPOTENCY_MISMATCH: 'ERR_IDEMPOTENCY_MISMATCH',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

const APP_ERROR = Symbol.for('kafka-rest-bridge.AppError');

export interface AppErrorOptions extends ErrorOptions {
  /** Whether trying the same thing again later can succeed. Defaults from {@link RETRIABLE_BY_CODE}. */
  readonly retriable?: boolean;
}

/**
 * Base of every error the bridge throws on purpose. Messages are written for operators and never carry
 * secrets or payloads; `cause` keeps the foreign error that led here.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly [APP_ERROR] = true;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? RETRIABLE_BY_CODE[code];
  }
}

/** Configuration problems, all of them at once: `problems` lists one line per bad or missing setting. */
export class ConfigError extends AppError {
  override name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(ERROR_CODES.CONFIG, `invalid configuration:\n- ${problems.join('\n- ')}`);
    this.problems = problems;
  }
}

export interface UpstreamErrorOptions extends AppErrorOptions {
  /** HTTP status of the answer, absent when none arrived (timeout, reset). */
  readonly status?: number;
  /** `error_code` from the Kafka REST error envelope or a per-record result. */
  readonly kafkaErrorCode?: number | null;
  /** The first bytes of the body, for diagnosis; never request data. */
  readonly bodySnippet?: string;
  /** From `Retry-After`, when the server said how long to wait. */
  readonly retryAfterMs?: number;
}

/** The Kafka REST proxy (or a sink) answered with an error, or did not answer. */
export class UpstreamError extends AppError {
  override name = 'UpstreamError';
  readonly status: number | undefined;
  readonly kafkaErrorCode: number | null;
  readonly bodySnippet: string;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: UpstreamErrorOptions = {}) {
    super(code, message, options);
    this.status = options.status;
    this.kafkaErrorCode = options.kafkaErrorCode ?? null;
    this.bodySnippet = options.bodySnippet ?? '';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Works across copies of this module (bundles, test isolation), unlike `instanceof`. */
export const isAppError = (value: unknown): value is AppError =>
  typeof value === 'object' && value !== null && (value as { [APP_ERROR]?: unknown })[APP_ERROR] === true;

export const isUpstreamError = (value: unknown): value is UpstreamError =>
  isAppError(value) && value.name === 'UpstreamError';

/** Whether an error of this code can succeed when tried again, unless the thrower said otherwise. */
export const RETRIABLE_BY_CODE: Readonly<Record<ErrorCode, boolean>> = {
  ERR_CONFIG: false,
  ERR_PAYLOAD_INVALID: false,
  ERR_PAYLOAD_TOO_LARGE: false,
  ERR_ROUTE_NOT_FOUND: false,
  ERR_METHOD_NOT_ALLOWED: false,
  ERR_UNAUTHORIZED: false,
  ERR_RECORD_REJECTED: false,
  ERR_UPSTREAM_STATUS: true,
  ERR_UPSTREAM_TIMEOUT: true,
  ERR_UPSTREAM_NETWORK: true,
  ERR_UPSTREAM_PROTOCOL: true,
  ERR_UPSTREAM_AUTH: true,
  ERR_DEADLINE: true,
  ERR_SECRET: true,
  ERR_OFFSET_OUT_OF_RANGE: false,
  ERR_CHECKPOINT_CONFLICT: false,
  ERR_LEASE_LOST: false,
  ERR_SINK_REJECTED: false,
  ERR_SINK_FAILED: true,
  ERR_SPOOL_FAILED: true,
  ERR_IDEMPOTENCY_MISMATCH: false,
};

/** Wraps anything foreign at a module boundary; our own errors pass through untouched. */
export const toAppError = (error: unknown, code: ErrorCode, message: string): AppError =>
  isAppError(error) ? error : new AppError(code, message, { cause: error });
