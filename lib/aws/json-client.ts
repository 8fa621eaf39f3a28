import { setTimeout as delay } from 'node:timers/promises';
import request from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import { backoffMs } from '../kafka-rest/retry.js';
import { createTimedAbort } from '../timed-abort.js';
import { type AwsCredentials, signRequest } from './sigv4.js';

/**
 * AWS's JSON protocols (DynamoDB, Secrets Manager) as signed POSTs over an undici `Pool`, the HTTP client
 * every bundle already carries. It replaces `@aws-sdk/client-dynamodb` and `@aws-sdk/client-secrets-manager`
 * on the functions' paths: loading those cost 63–136 ms at cold start (bench/RESULTS.md), this module and
 * its signer a few.
 *
 * Failures keep the SDK's shape, so callers map both alike: an AWS error answer throws
 * {@link AwsServiceError} (`name` = the AWS error code, `$metadata.httpStatusCode`), no usable answer throws
 * {@link AwsRequestError} (`code`: the network failure, or `MALFORMED_ANSWER`), and an abort throws the
 * signal's reason.
 *
 * Retries follow the policy of the SDK it replaces (@smithy/core 3.41 standard mode): up to `maxAttempts`
 * (default 4) attempts; retried are throttling errors (HTTP 429 or a throttling code such as
 * `ProvisionedThroughputExceededException`), transient ones (500/502/503/504, timeouts, `TimeoutError`,
 * refused, reset or broken connections, DNS failures); full-jitter backoff `random × min(base × 2^retry,
 * 20 s)` with base 50 ms, or 1 000 ms after throttling; the backoff ends at the caller's abort. Unlike the
 * SDK there is no client-wide retry quota (every call is bounded by its own deadline) and no clock-skew
 * correction (Lambda's clock is synchronised).
 */

export interface AwsJsonProtocol {
  /** The signing name and endpoint prefix: `dynamodb`, `secretsmanager`. */
  readonly service: string;
  /** `X-Amz-Target` is `<targetPrefix>.<operation>`. */
  readonly targetPrefix: string;
  readonly contentType: string;
}

export const DYNAMODB: AwsJsonProtocol = {
  service: 'dynamodb',
  targetPrefix: 'DynamoDB_20120810',
  contentType: 'application/x-amz-json-1.0',
};

export const SECRETS_MANAGER: AwsJsonProtocol = {
  service: 'secretsmanager',
  targetPrefix: 'secretsmanager',
  contentType: 'application/x-amz-json-1.1',
};

export interface AwsCallOptions {
  /** Ends the call, its retries and backoff included; the call rejects with the signal's reason. */
  readonly abortSignal?: AbortSignal | undefined;
}

export interface AwsJsonClient {
  /** One operation (`GetItem`, `GetSecretValue`…) with its JSON input; resolves to its JSON output. */
  call<T>(operation: string, input: object, options?: AwsCallOptions): Promise<T>;
  /** Closes the pool's connections. */
  close(): Promise<void>;
}

export type CredentialsSource = AwsCredentials | (() => Promise<AwsCredentials>);

export interface AwsJsonClientOptions {
  /** Default `AWS_REGION` (Lambda sets it), then `AWS_DEFAULT_REGION`. */
  readonly region?: string | undefined;
  /** A local stand-in (`DYNAMODB_ENDPOINT`, `SECRETS_MANAGER_ENDPOINT`); default the service's regional one. */
  readonly endpoint?: string | URL | undefined;
  /** Default {@link credentialsFromEnvironment}, read at each attempt. */
  readonly credentials?: CredentialsSource | undefined;
  /** Attempts per call, the first included; default 4. */
  readonly maxAttempts?: number;
  /** Bound of one attempt, connect to last byte; default 10 000. */
  readonly attemptTimeoutMs?: number;
  /** Default 3 000. */
  readonly connectTimeoutMs?: number;
  /** Default 50, the SDK's socket limit. */
  readonly connections?: number;
}

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

/**
 * The execution role's credentials as Lambda gives them, session token included. Read when called, never
 * kept in a config object (which may be logged whole).
 */
export const credentialsFromEnvironment = async (): Promise<AwsCredentials> => {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  if (
    accessKeyId === undefined ||
    accessKeyId === '' ||
    secretAccessKey === undefined ||
    secretAccessKey === ''
  ) {
    throw new CredentialsProviderError(
      'no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)',
    );
  }
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
};

const DEFAULTS = {
  maxAttempts: 4,
  attemptTimeoutMs: 10_000,
  connectTimeoutMs: 3_000,
  connections: 50,
  baseDelayMs: 50,
  throttlingBaseDelayMs: 1_000,
  maxDelayMs: 20_000,
} as const;

/** DynamoDB answers at most 1 MB of items per call; Secrets Manager 64 KiB. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

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

const isThrottling = (error: unknown): boolean =>
  error instanceof AwsServiceError &&
  (error.$metadata.httpStatusCode === 429 || THROTTLING_CODES.has(error.name));

const isRetriable = (error: unknown): boolean => {
  if (error instanceof AwsRequestError) return NETWORK_CODES.has(error.code);
  if (!(error instanceof AwsServiceError)) return false;
  return (
    isThrottling(error) ||
    TRANSIENT_CODES.has(error.name) ||
    TRANSIENT_STATUSES.has(error.$metadata.httpStatusCode)
  );
};

/** The abort reason of an attempt's own timeout, told apart from the caller's abort. */
const ATTEMPT_TIMED_OUT = Symbol('attempt timed out');

const errorCode = (error: unknown): string | undefined => {
  const value = error as { code?: unknown; cause?: { code?: unknown }; errors?: { code?: unknown }[] } | null;
  for (const code of [value?.cause?.code, value?.errors?.[0]?.code, value?.code]) {
    if (typeof code === 'string') return code;
  }
  return undefined;
};

/** `aws.amazon.com#ConditionalCheckFailedException` or `X-Amzn-ErrorType: Code:http://…` → the code. */
const errorName = (type: string): string => {
  const afterHash = type.slice(type.lastIndexOf('#') + 1);
  const colon = afterHash.indexOf(':');
  return colon < 0 ? afterHash : afterHash.slice(0, colon);
};

const toServiceError = (status: number, headerType: unknown, text: string): AwsServiceError => {
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

/** A 200 whose body is not JSON is no usable answer (the call may have been applied), and not retried. */
const parseAnswer = (text: string, protocol: AwsJsonProtocol, operation: string): unknown => {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AwsRequestError(
      'MALFORMED_ANSWER',
      `${protocol.service} ${operation}: the answer is not JSON`,
      { cause: error },
    );
  }
};

const defaultEndpoint = (service: string, region: string): URL =>
  new URL(`https://${service}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`);

/** Where and how hard to call, resolved once (from the options, or from an SDK client's config). */
interface Target {
  readonly endpoint: URL;
  readonly region: string;
  readonly maxAttempts: number;
}

interface Tuning {
  readonly attemptTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly connections: number;
}

const buildClient = (
  protocol: AwsJsonProtocol,
  resolveTarget: () => Promise<Target>,
  credentials: () => Promise<AwsCredentials>,
  tuning: Tuning,
): AwsJsonClient => {
  let target: Promise<Target> | undefined;
  let pool: InstanceType<typeof Pool> | undefined;
  let closed = false;

  const targetOnce = (): Promise<Target> => {
    // A failed resolution is not kept: the next call tries again.
    target ??= resolveTarget().catch((error: unknown) => {
      target = undefined;
      throw error;
    });
    return target;
  };

  const attempt = async (
    { endpoint, region }: Target,
    operation: string,
    body: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> => {
    const signed = signRequest(
      {
        method: 'POST',
        host: endpoint.host,
        path: endpoint.pathname,
        headers: {
          'content-type': protocol.contentType,
          'content-length': String(Buffer.byteLength(body)),
          'x-amz-target': `${protocol.targetPrefix}.${operation}`,
        },
        body,
        service: protocol.service,
        region,
      },
      await credentials(),
      Date.now(),
    );
    if (closed) throw new AwsRequestError('UND_ERR_CLOSED', `${protocol.service} client is closed`);
    pool ??= new Pool(endpoint.origin, {
      connections: tuning.connections,
      connectTimeout: tuning.connectTimeoutMs,
    });
    const timed = createTimedAbort(tuning.attemptTimeoutMs, ATTEMPT_TIMED_OUT, signal);
    try {
      const answer = await request.call(pool, {
        origin: endpoint.origin,
        path: endpoint.pathname,
        method: 'POST',
        headers: signed,
        body,
        signal: timed.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of answer.body) {
        size += (chunk as Buffer).byteLength;
        if (size > MAX_ANSWER_BYTES) {
          answer.body.destroy();
          throw new AwsServiceError(
            'AnswerTooLarge',
            `${protocol.service} answered more than ${MAX_ANSWER_BYTES} bytes`,
            answer.statusCode,
          );
        }
        chunks.push(chunk as Buffer);
      }
      const text = Buffer.concat(chunks, size).toString('utf8');
      if (answer.statusCode !== 200) {
        throw toServiceError(answer.statusCode, answer.headers['x-amzn-errortype'], text);
      }
      return parseAnswer(text, protocol, operation);
    } catch (error) {
      if (error instanceof AwsServiceError || error instanceof AwsRequestError) throw error;
      if (signal?.aborted === true) throw signal.reason;
      const code = timed.signal.reason === ATTEMPT_TIMED_OUT ? 'ETIMEDOUT' : (errorCode(error) ?? 'UNKNOWN');
      throw new AwsRequestError(code, `${protocol.service} ${operation}: no answer (${code})`, {
        cause: error,
      });
    } finally {
      timed.clear();
    }
  };

  return {
    call: async <T>(operation: string, input: object, options: AwsCallOptions = {}): Promise<T> => {
      const { abortSignal } = options;
      const aborted = (): boolean => abortSignal?.aborted === true;
      const resolved = await targetOnce();
      const body = JSON.stringify(input);
      for (let retry = 0; ; retry += 1) {
        if (aborted()) throw abortSignal?.reason;
        try {
          return (await attempt(resolved, operation, body, abortSignal)) as T;
        } catch (error) {
          if (aborted() || retry + 1 >= resolved.maxAttempts || !isRetriable(error)) {
            throw error;
          }
          const base = isThrottling(error) ? DEFAULTS.throttlingBaseDelayMs : DEFAULTS.baseDelayMs;
          const waitMs = backoffMs(retry + 1, {
            maxAttempts: resolved.maxAttempts,
            backoffBaseMs: base,
            backoffMaxMs: DEFAULTS.maxDelayMs,
            random: Math.random,
          });
          await delay(waitMs, undefined, abortSignal === undefined ? {} : { signal: abortSignal }).catch(
            () => {
              throw abortSignal?.reason ?? error;
            },
          );
        }
      }
    },
    close: async () => {
      closed = true;
      await pool?.close();
    },
  };
};

const tuningOf = (options: AwsJsonClientOptions): Tuning => ({
  attemptTimeoutMs: options.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs,
  connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
  connections: options.connections ?? DEFAULTS.connections,
});

/**
 * A client for one service. Nothing connects, and no credentials are read, until the first call; a call
 * with no region to go by (none given, `AWS_REGION` unset) rejects with an `Error` that names it.
 */
export const createAwsJsonClient = (
  protocol: AwsJsonProtocol,
  options: AwsJsonClientOptions = {},
): AwsJsonClient => {
  const source = options.credentials ?? credentialsFromEnvironment;
  const credentials = typeof source === 'function' ? source : async () => source;
  return buildClient(
    protocol,
    async () => {
      const region = options.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
      if (region === undefined || region === '') {
        throw new Error(`no AWS region for ${protocol.service}: set AWS_REGION (Lambda sets it)`);
      }
      const endpoint =
        options.endpoint === undefined
          ? defaultEndpoint(protocol.service, region)
          : new URL(options.endpoint);
      return { endpoint, region, maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts };
    },
    credentials,
    tuningOf(options),
  );
};

/**
 * The resolved configuration of an AWS SDK v3 client, as far as a signed call needs it (structural, so no
 * SDK is loaded for it).
 */
export interface SdkClientLike {
  readonly config: {
    readonly region: () => Promise<string>;
    readonly credentials: () => Promise<AwsCredentials>;
    readonly maxAttempts: () => Promise<number>;
    readonly endpoint?: () => Promise<{
      readonly protocol: string;
      readonly hostname: string;
      readonly port?: number | undefined;
      readonly path: string;
    }>;
  };
}

const fromSdk = new WeakMap<object, Map<AwsJsonProtocol, AwsJsonClient>>();

/**
 * `client` itself, or, for an AWS SDK client (the operator tools', whose credentials come from the SDK's
 * full provider chain, or a test's), a signed client with its region, endpoint, credentials and attempts:
 * one per SDK client, so every store built on it shares one pool. The SDK client's own transport is never
 * used, and closing it leaves this one to close its idle connections by itself (undici's keep-alive).
 */
export const toAwsJsonClient = (
  protocol: AwsJsonProtocol,
  client: AwsJsonClient | SdkClientLike,
): AwsJsonClient => {
  if ('call' in client) return client;
  const known = fromSdk.get(client) ?? new Map<AwsJsonProtocol, AwsJsonClient>();
  fromSdk.set(client, known);
  const existing = known.get(protocol);
  if (existing !== undefined) return existing;
  const { config } = client;
  const built = buildClient(
    protocol,
    async () => {
      const region = await config.region();
      const custom = await config.endpoint?.();
      const endpoint =
        custom === undefined
          ? defaultEndpoint(protocol.service, region)
          : new URL(
              `${custom.protocol}//${custom.hostname}${custom.port === undefined ? '' : `:${custom.port}`}${custom.path}`,
            );
      return { endpoint, region, maxAttempts: await config.maxAttempts() };
    },
    () => config.credentials(),
    tuningOf({}),
  );
  known.set(protocol, built);
  return built;
};
