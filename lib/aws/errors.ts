/**
 * What a signed AWS call can fail with, shaped as the SDK's errors so callers map both alike, and which of
 * those failures the SDK's standard retry mode (@smithy/core 3.41) tries again.
 */

/** An AWS error answer, shaped as the SDK's service exceptions are (`name`, `$metadata.httpStatusCode`). */
export class AwsServiceError extends Error {
  override readonly name: string;
  readonly $metadata: { readonly httpStatusCode: number };

  constructor(name: string, message: string, httpStatusCode: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode };
  }
}

/**
 * No usable answer: the connection failed or broke, an attempt timed out, or a 200 was not JSON. The request
 * may have been applied.
 */
export class AwsRequestError extends Error {
  override readonly name = 'AwsRequestError';
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** No credentials to sign with (the SDK's name for it). */
export class CredentialsProviderError extends Error {
  override readonly name = 'CredentialsProviderError';
}

const THROTTLING_CODES = new Set([
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);
/** undici's and Node's codes for a connection that failed, broke or timed out. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export const isThrottling = (error: unknown): boolean =>
  error instanceof AwsServiceError &&
  (error.$metadata.httpStatusCode === 429 || THROTTLING_CODES.has(error.name));

export const isRetriable = (error: unknown): boolean => {
  if (error instanceof AwsRequestError) return NETWORK_CODES.has(error.code);
  if (!(error instanceof AwsServiceError)) return false;
  return (
    isThrottling(error) ||
    TRANSIENT_CODES.has(error.name) ||
    TRANSIENT_STATUSES.has(error.$metadata.httpStatusCode)
  );
};

/** `aws.amazon.com#ConditionalCheckFailedException` or `X-Amzn-ErrorType: Code:http://…` → the code. */
const errorName = (type: string): string => {
  const afterHash = type.slice(type.lastIndexOf('#') + 1);
  const colon = afterHash.indexOf(':');
  return colon < 0 ? afterHash : afterHash.slice(0, colon);
};

export const toServiceError = (status: number, headerType: unknown, text: string): AwsServiceError => {
  let parsed: { __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    parsed = JSON.parse(text) ?? {};
  } catch {
    // A proxy's HTML page, say: the status still names the failure.
  }
  const type = typeof parsed.__type === 'string' ? parsed.__type : headerType;
  const name = typeof type === 'string' && type !== '' ? errorName(type) : `Http${status}Error`;
  const message = parsed.message ?? parsed.Message;
  return new AwsServiceError(name, typeof message === 'string' ? message : `HTTP ${status}`, status);
};
