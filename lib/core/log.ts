import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { isAppError } from './errors.js';

/**
 * What the bridge's modules need from a logger. Attributes are structured fields; never put secrets or
 * payloads in them (payloads only through {@link toPayloadPreview}, and only when `logsPayloads` is true).
 *
 * The two optional members keep every plain `{ debug, info, warn, error }` object (test doubles, silent
 * loggers) a valid `Log`.
 */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
  /**
   * Starts a unit of work: every later line carries the Lambda context (`function_request_id`, …) and
   * `correlation_id`, and nothing of the previous invocation's. Called by the handlers, first thing.
   */
  startInvocation?(context: InvocationContext, correlationId: string): void;
  /**
   * True only when debug logging was explicitly configured (`LOG_LEVEL=DEBUG`): modules may then add
   * truncated payload previews to their debug lines. Absent means false.
   */
  readonly logsPayloads?: boolean;
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The part of the Lambda context that log lines carry; the drain handler's tests pass only the id. */
export type InvocationContext = Pick<Context, 'awsRequestId'> &
  Partial<Pick<Context, 'functionName' | 'functionVersion' | 'invokedFunctionArn' | 'memoryLimitInMB'>>;

/** The attribute that ties every line of one unit of work together (Powertools' own key). */
export const CORRELATION_ID = 'correlation_id';

export const SERVICE_NAME = 'kafka-rest-bridge';

/**
 * JSON lines through Powertools Logger, the format CloudWatch Logs Insights and the metrics filters expect:
 * `level`, `message`, `timestamp`, `service`, the Lambda context fields once `startInvocation` ran, and
 * `correlation_id`.
 */
export const createLog = (
  level: LogLevel,
  serviceName = SERVICE_NAME,
): Log & Required<Pick<Log, 'startInvocation' | 'logsPayloads'>> & { readonly logger: Logger } => {
  const logger = new Logger({ serviceName, logLevel: level });
  // Lambda's advanced logging controls (AWS_LAMBDA_LOG_LEVEL) may lower what Powertools prints; payloads
  // need both our setting and the effective level to say DEBUG.
  const logsPayloads = level === 'DEBUG' && logger.getLevelName() === 'DEBUG';
  return {
    logger,
    logsPayloads,
    debug: (message, attributes) => logger.debug(message, attributes ?? {}),
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
    startInvocation: (context, correlationId) => {
      // Temporary keys outlive the invocation in a warm container: a line of this invocation must never
      // carry the previous one's correlation id.
      logger.resetKeys();
      // Powertools reads only these fields; the cast spares the drain handler (and tests) a full Context.
      logger.addContext(context as Context);
      logger.setCorrelationId(correlationId);
    },
  };
};

/** Bytes of a payload shown in a debug preview: enough to recognise a message, too few to copy one. */
export const PAYLOAD_PREVIEW_BYTES = 64;

/**
 * A payload for a debug line: its size and its first `maxBytes` as UTF-8 (`…` marks a cut). Call it
 * only when `log.logsPayloads` is true: at any other level payloads stay out of the logs.
 */
export const toPayloadPreview = (
  payload: Uint8Array | null | undefined,
  maxBytes = PAYLOAD_PREVIEW_BYTES,
): { readonly bytes: number; readonly preview: string | null } => {
  if (payload === null || payload === undefined) return { bytes: 0, preview: null };
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, maxBytes));
  return {
    bytes: payload.byteLength,
    preview: `${head.toString('utf8')}${payload.byteLength > maxBytes ? '…' : ''}`,
  };
};

/**
 * An error for a log line without what it might carry of a payload: our `AppError` messages are written
 * to be safe, a foreign error's message is not (Node's JSON `SyntaxError` quotes its input), so a foreign
 * error is described by its name and where it was thrown.
 */
export const describeError = (error: unknown): Record<string, unknown> => {
  if (isAppError(error)) return { name: error.name, code: error.code, message: error.message };
  if (!(error instanceof Error)) return { name: typeof error };
  const code = (error as { code?: unknown }).code;
  const where = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return { name: error.name, ...(typeof code === 'string' ? { code } : {}), where: where?.trim() };
};
