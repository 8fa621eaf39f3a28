import { ERROR_CODES, UpstreamError } from './errors.js';

/**
 * A DynamoDB SDK failure as a retriable `UpstreamError`: `ERR_UPSTREAM_STATUS` with the HTTP status when
 * DynamoDB answered, `ERR_UPSTREAM_NETWORK` when it did not. The message names `what` failed and the SDK's
 * error name only, never a key (which may come from a payload). Kept free of SDK imports, so modules that
 * load the SDK lazily can use it.
 */
export const toDynamoError = (what: string, error: unknown): UpstreamError => {
  const name = (error as { name?: unknown } | null)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return new UpstreamError(
    status === undefined ? ERROR_CODES.UPSTREAM_NETWORK : ERROR_CODES.UPSTREAM_STATUS,
    `${what} failed: ${typeof name === 'string' ? name : 'unknown error'}`,
    { cause: error, ...(status === undefined ? {} : { status }) },
  );
};
