import { AppError, ERROR_CODES, UpstreamError } from '../core/errors.js';

/**
 * A failed DynamoDB call as a retriable `UpstreamError`: `ERR_UPSTREAM_STATUS` with the HTTP status when
 * DynamoDB answered, `ERR_UPSTREAM_NETWORK` when it did not. The message names `what` failed and the AWS
 * error code (or the network failure's code) only, never a key (which may come from a payload). Reads the
 * shape both `lib/aws/json-client.ts` and the AWS SDK throw (`name`, `code`, `$metadata.httpStatusCode`).
 */
export const toDynamoError = (what: string, error: unknown): UpstreamError => {
  const { name, code, $metadata } = (error ?? {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const status = $metadata?.httpStatusCode;
  const reason = status === undefined && typeof code === 'string' ? code : name;
  return new UpstreamError(
    status === undefined ? ERROR_CODES.UPSTREAM_NETWORK : ERROR_CODES.UPSTREAM_STATUS,
    `${what} failed: ${typeof reason === 'string' ? reason : 'unknown error'}`,
    { cause: error, ...(status === undefined ? {} : { status }) },
  );
};

/** When a DynamoDB call must have ended, on the caller's clock (epoch ms). */
export interface DynamoDeadline {
  readonly deadlineMs: number;
  readonly now: () => number;
}

/**
 * Runs one DynamoDB call so that it ends by `deadline`: the client gets an abort signal (its retry loop
 * races its backoff against it too, so no retry is sent afterwards) and the answer is awaited no longer, on
 * an exact timer. Without it, a DynamoDB answer delayed past the client's own timeouts keeps a drain past
 * its budget or its lease. Throws `ERR_DEADLINE` when the deadline comes first (a write may or may not have been
 * applied), and whatever `send` throws otherwise, untouched.
 */
export const sendByDeadline = async <T>(
  what: string,
  deadline: DynamoDeadline,
  send: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> => {
  const late = new AppError(ERROR_CODES.DEADLINE, `${what}: no answer by the deadline`);
  const leftMs = deadline.deadlineMs - deadline.now();
  if (leftMs <= 0) throw late;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(late);
      reject(late);
    }, leftMs);
  });
  try {
    return await Promise.race([send(controller.signal), expired]);
  } catch (error) {
    throw controller.signal.aborted ? late : error;
  } finally {
    clearTimeout(timer);
  }
};
