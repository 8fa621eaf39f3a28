import type { Pool } from 'undici';
import { createPool, readCapped, requestWithin } from '../http/request.js';
import { withAttempts } from './attempts.js';
import { AwsRequestError, AwsServiceError, CredentialsProviderError, toServiceError } from './errors.js';
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

/** SQS's JSON protocol (AWS JSON 1.0, since 2023): what the webhook's spool sends with. */
export const SQS: AwsJsonProtocol = {
  service: 'sqs',
  targetPrefix: 'AmazonSQS',
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

const errorCode = (error: unknown): string | undefined => {
  const value = error as { code?: unknown; cause?: { code?: unknown }; errors?: { code?: unknown }[] } | null;
  for (const code of [value?.cause?.code, value?.errors?.[0]?.code, value?.code]) {
    if (typeof code === 'string') return code;
  }
  return undefined;
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
  let pool: Pool | undefined;
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
    pool ??= createPool(endpoint.origin, {
      connections: tuning.connections,
      connectTimeoutMs: tuning.connectTimeoutMs,
    });
    const settled = await requestWithin(
      pool,
      { origin: endpoint.origin, path: endpoint.pathname, method: 'POST', headers: signed, body },
      { timeoutMs: tuning.attemptTimeoutMs, signal },
      async (answer) => {
        const read = await readCapped(answer, MAX_ANSWER_BYTES);
        if (read.tooLarge) {
          throw new AwsServiceError(
            'AnswerTooLarge',
            `${protocol.service} answered more than ${MAX_ANSWER_BYTES} bytes`,
            answer.statusCode,
          );
        }
        const text = read.bytes.toString('utf8');
        if (answer.statusCode !== 200) {
          throw toServiceError(answer.statusCode, answer.headers['x-amzn-errortype'], text);
        }
        return parseAnswer(text, protocol, operation);
      },
    );
    if (settled.ok) return settled.value;
    const { error } = settled;
    if (error instanceof AwsServiceError || error instanceof AwsRequestError) throw error;
    if (signal?.aborted === true) throw signal.reason;
    const code = settled.timedOut ? 'ETIMEDOUT' : (errorCode(error) ?? 'UNKNOWN');
    throw new AwsRequestError(code, `${protocol.service} ${operation}: no answer (${code})`, {
      cause: error,
    });
  };

  return {
    call: async <T>(operation: string, input: object, options: AwsCallOptions = {}): Promise<T> => {
      const { abortSignal } = options;
      const resolved = await targetOnce();
      const body = JSON.stringify(input);
      return (await withAttempts({ ...DEFAULTS, maxAttempts: resolved.maxAttempts }, abortSignal, () =>
        attempt(resolved, operation, body, abortSignal),
      )) as T;
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
