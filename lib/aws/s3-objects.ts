import type { Pool } from 'undici';
import { createPool, readCapped, readHead, requestWithin } from '../http/request.js';
import { withAttempts } from './attempts.js';
import { AwsRequestError, AwsServiceError } from './errors.js';
import { type AwsJsonClientOptions, credentialsFromEnvironment } from './json-client.js';
import { signRequest } from './sigv4.js';

/**
 * The three S3 object calls the webhook spool needs (put, get, delete), signed over undici: the S3 SDK is
 * several hundred kilobytes the webhook bundle would carry for them. Errors keep the JSON client's shape:
 * `AwsServiceError` named after S3's `<Code>` (`NoSuchKey`, `SlowDown`…), `AwsRequestError` for no answer.
 */
export interface S3Objects {
  put(key: string, body: Uint8Array, options?: S3CallOptions): Promise<void>;
  /** The object's bytes; throws `AwsServiceError` `NoSuchKey` when there is none. */
  get(key: string, options?: S3CallOptions): Promise<Buffer>;
  /** Succeeds for a key that does not exist, as S3 does. */
  delete(key: string, options?: S3CallOptions): Promise<void>;
  close(): Promise<void>;
}

export interface S3CallOptions {
  readonly abortSignal?: AbortSignal | undefined;
}

export type S3ObjectsOptions = Pick<
  AwsJsonClientOptions,
  'region' | 'credentials' | 'maxAttempts' | 'attemptTimeoutMs' | 'connectTimeoutMs'
> & {
  readonly bucket: string;
  /**
   * A local stand-in (`S3_ENDPOINT`), addressed path-style (`<endpoint>/<bucket>/<key>`); unset: the
   * bucket's regional virtual-hosted endpoint.
   */
  readonly endpoint?: string | URL | undefined;
  /** Bytes of one object read; a spooled body is at most Lambda's 6 MB payload. */
  readonly maxObjectBytes?: number;
};

const ATTEMPTS = { baseDelayMs: 50, throttlingBaseDelayMs: 500, maxDelayMs: 5_000 } as const;
const DEFAULT_MAX_OBJECT_BYTES = 8 * 1024 * 1024;
const MAX_ERROR_BYTES = 4 * 1024;
/** S3's error answers are XML: `<Error><Code>NoSuchKey</Code><Message>…</Message></Error>`. */
const XML_CODE = /<Code>([^<]+)<\/Code>/;
const XML_MESSAGE = /<Message>([^<]*)<\/Message>/;

const networkCode = (error: unknown): string => {
  const value = error as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = value?.cause?.code ?? value?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
};

/** Keys are the bridge's own (`spool/<route>/<receipt>`): encoded segment by segment, `/` kept. */
const encodeKey = (key: string): string => key.split('/').map(encodeURIComponent).join('/');

export const createS3Objects = (options: S3ObjectsOptions): S3Objects => {
  const source = options.credentials ?? credentialsFromEnvironment;
  const credentials = typeof source === 'function' ? source : async () => source;
  const maxAttempts = options.maxAttempts ?? 3;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  const maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  let pool: Pool | undefined;
  let closed = false;

  const target = (key: string): { endpoint: URL; region: string; path: string } => {
    const region = options.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
    if (region === undefined || region === '') {
      throw new Error('no AWS region for s3: set AWS_REGION (Lambda sets it)');
    }
    if (options.endpoint !== undefined) {
      const endpoint = new URL(options.endpoint);
      const base = endpoint.pathname.replace(/\/$/, '');
      return { endpoint, region, path: `${base}/${encodeURIComponent(options.bucket)}/${encodeKey(key)}` };
    }
    const endpoint = new URL(`https://${options.bucket}.s3.${region}.amazonaws.com`);
    return { endpoint, region, path: `/${encodeKey(key)}` };
  };

  const attempt = async <T>(
    method: 'GET' | 'PUT' | 'DELETE',
    key: string,
    body: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    read: (bytes: Buffer) => T,
  ): Promise<T> => {
    const { endpoint, region, path } = target(key);
    const headers = signRequest(
      {
        method,
        host: endpoint.host,
        path,
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/octet-stream', 'content-length': String(body.byteLength) },
        body: body ?? '',
        service: 's3',
        region,
      },
      await credentials(),
      Date.now(),
    );
    if (closed) throw new AwsRequestError('UND_ERR_CLOSED', 's3 client is closed');
    pool ??= createPool(endpoint.origin, {
      connections: 8,
      connectTimeoutMs: options.connectTimeoutMs ?? 3_000,
    });
    const settled = await requestWithin(
      pool,
      { origin: endpoint.origin, path, method, headers, body: body ?? null },
      { timeoutMs: attemptTimeoutMs, signal },
      async (answer) => {
        if (answer.statusCode < 200 || answer.statusCode >= 300) {
          const text = await readHead(answer.body, MAX_ERROR_BYTES);
          const code = XML_CODE.exec(text)?.[1] ?? `Http${answer.statusCode}Error`;
          const message = XML_MESSAGE.exec(text)?.[1] ?? `HTTP ${answer.statusCode}`;
          throw new AwsServiceError(code, message, answer.statusCode);
        }
        const capped = await readCapped(answer, maxObjectBytes);
        if (capped.tooLarge) {
          throw new AwsServiceError('AnswerTooLarge', `s3 ${method}: over ${maxObjectBytes} bytes`, 200);
        }
        return read(capped.bytes);
      },
    );
    if (settled.ok) return settled.value;
    const { error } = settled;
    if (error instanceof AwsServiceError) throw error;
    if (signal?.aborted === true) throw signal.reason;
    const code = settled.timedOut ? 'ETIMEDOUT' : networkCode(error);
    throw new AwsRequestError(code, `s3 ${method}: no answer (${code})`, { cause: error });
  };

  const call = <T>(
    method: 'GET' | 'PUT' | 'DELETE',
    key: string,
    body: Uint8Array | undefined,
    call: S3CallOptions,
    read: (bytes: Buffer) => T,
  ): Promise<T> =>
    withAttempts({ ...ATTEMPTS, maxAttempts }, call.abortSignal, () =>
      attempt(method, key, body, call.abortSignal, read),
    );

  return {
    put: (key, body, callOptions = {}) => call('PUT', key, body, callOptions, () => undefined),
    get: (key, callOptions = {}) => call('GET', key, undefined, callOptions, (bytes) => bytes),
    delete: (key, callOptions = {}) => call('DELETE', key, undefined, callOptions, () => undefined),
    close: async () => {
      closed = true;
      await pool?.close();
    },
  };
};
