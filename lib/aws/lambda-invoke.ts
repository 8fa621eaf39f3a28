import type { Pool } from 'undici';
import { createPool, readHead, requestWithin } from '../http/request.js';
import { type AttemptPolicy, withAttempts } from './attempts.js';
import { AwsRequestError, AwsServiceError, toServiceError } from './errors.js';
import { type AwsJsonClientOptions, credentialsFromEnvironment } from './json-client.js';
import { signRequest } from './sigv4.js';

/**
 * Lambda's asynchronous Invoke (`InvocationType: Event`) as one signed REST call over undici: the drain's
 * fan-out needs this one operation, and `@aws-sdk/client-lambda` would cost its import at every cold start
 * of the drain (the reason `json-client.ts` exists for DynamoDB).
 */
export interface LambdaInvoker {
  /**
   * Queues one invocation of `functionName` with `payload` (JSON). Resolves once Lambda answered 202 (the
   * event is queued; Lambda runs it, and retries it twice on a function error). Throws `AwsServiceError`
   * for an error answer and `AwsRequestError` for no answer, as the JSON client does.
   */
  invokeAsync(
    functionName: string,
    payload: unknown,
    options?: { readonly abortSignal?: AbortSignal },
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where and how hard to call, as for the JSON client; here at most 3 attempts (default) of 5 000 ms each
 * (default): an async invoke only queues the event. `endpoint`: a local stand-in (`LAMBDA_ENDPOINT`).
 */
export type LambdaInvokerOptions = Pick<
  AwsJsonClientOptions,
  'region' | 'endpoint' | 'credentials' | 'maxAttempts' | 'attemptTimeoutMs'
>;

/** Lambda's limit on an asynchronous invocation's payload (256 KB); a partition list is far below it. */
const MAX_EVENT_BYTES = 256 * 1024;
/** An async invoke only queues the event: short waits, so the coordinator moves on quickly. */
const INVOKE_ATTEMPTS = (maxAttempts: number): AttemptPolicy => ({
  maxAttempts,
  baseDelayMs: 50,
  throttlingBaseDelayMs: 500,
  maxDelayMs: 5_000,
});
/** Error answers are only diagnosed: their first bytes are enough. */
const MAX_ERROR_BYTES = 4 * 1024;

/** undici wraps the socket's error: its code is on the cause. */
const networkCode = (error: unknown): string => {
  const value = error as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = value?.cause?.code ?? value?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
};

export const createLambdaInvoker = (options: LambdaInvokerOptions = {}): LambdaInvoker => {
  const source = options.credentials ?? credentialsFromEnvironment;
  const credentials = typeof source === 'function' ? source : async () => source;
  const maxAttempts = options.maxAttempts ?? 3;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
  let pool: Pool | undefined;
  let closed = false;

  const target = (): { endpoint: URL; region: string } => {
    const region = options.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
    if (region === undefined || region === '') {
      throw new Error('no AWS region for lambda: set AWS_REGION (Lambda sets it)');
    }
    const endpoint = new URL(options.endpoint ?? `https://lambda.${region}.amazonaws.com`);
    return { endpoint, region };
  };

  const attempt = async (name: string, body: string, signal: AbortSignal | undefined): Promise<void> => {
    const { endpoint, region } = target();
    const path = `${endpoint.pathname.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
    const headers = signRequest(
      {
        method: 'POST',
        host: endpoint.host,
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'x-amz-invocation-type': 'Event',
        },
        body,
        service: 'lambda',
        region,
      },
      await credentials(),
      Date.now(),
    );
    if (closed) throw new AwsRequestError('UND_ERR_CLOSED', 'lambda client is closed');
    pool ??= createPool(endpoint.origin, { connections: 8, connectTimeoutMs: 3_000 });
    const settled = await requestWithin(
      pool,
      { origin: endpoint.origin, path, method: 'POST', headers, body },
      { timeoutMs: attemptTimeoutMs, signal },
      async (answer) => {
        const text = await readHead(answer.body, MAX_ERROR_BYTES);
        if (answer.statusCode !== 202) {
          throw toServiceError(answer.statusCode, answer.headers['x-amzn-errortype'], text);
        }
      },
    );
    if (settled.ok) return;
    const { error } = settled;
    if (error instanceof AwsServiceError) throw error;
    if (signal?.aborted === true) throw signal.reason;
    const code = settled.timedOut ? 'ETIMEDOUT' : networkCode(error);
    throw new AwsRequestError(code, `lambda Invoke: no answer (${code})`, { cause: error });
  };

  return {
    invokeAsync: async (functionName, payload, call = {}) => {
      const body = JSON.stringify(payload);
      if (Buffer.byteLength(body) > MAX_EVENT_BYTES) {
        throw new RangeError(`lambda Invoke: the event is over ${MAX_EVENT_BYTES} bytes`);
      }
      const { abortSignal } = call;
      // A retried invoke whose first answer was lost may queue the event twice: the drain's leases make a
      // second run of a group harmless, so retrying is the better failure.
      await withAttempts(INVOKE_ATTEMPTS(maxAttempts), abortSignal, () =>
        attempt(functionName, body, abortSignal),
      );
    },
    close: async () => {
      closed = true;
      await pool?.close();
    },
  };
};
