import { request } from 'node:http';
import { AppError, ERROR_CODES, isAppError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { redactedSnippet } from '../core/redact.js';
import { noValue, secretValueOf } from './secrets-manager.js';
import type { SecretFetcher } from './types.js';

export interface ExtensionSecretFetcherOptions {
  /** The extension's port (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, 2773 by default). */
  readonly port: number;
  /** Default `localhost`, where the extension listens inside the execution environment. */
  readonly host?: string;
  /**
   * The token the extension checks (`X-Aws-Parameters-Secrets-Token`): the execution role's session token,
   * which Lambda sets as `AWS_SESSION_TOKEN`. Read at each fetch. A credential: never logged.
   */
  readonly sessionToken: () => string | undefined;
  /** Bound of one GET (connect to last byte). Default 3 000: a cache miss costs the extension one SDK call. */
  readonly timeoutMs?: number;
  /**
   * Read through this when the extension cannot answer (no session token, not attached so nothing listens)
   * and when a refresh gets back the value the caller already holds (the extension caches too, for
   * `SECRETS_MANAGER_TTL`, 300 s by default, so after a rotation it may still serve the old version).
   */
  readonly fallback?: SecretFetcher;
  readonly log?: Log;
}

const EXTENSION_DEFAULTS = { host: 'localhost', timeoutMs: 3_000 } as const;
/** Enough of an error answer to name the failure; the extension's bodies are short plain-text messages. */
const EXTENSION_SNIPPET_CHARS = 200;
/**
 * The most an extension answer may hold: a secret is at most 64 KiB, base64 in `SecretBinary` makes it
 * 86 KiB, plus the other fields. Past it the read fails without buffering the rest.
 */
const EXTENSION_ANSWER_MAX_BYTES = 256 * 1024;
/** Connection failures that mean nothing listens on the port: the extension layer is not attached. */
const NOT_LISTENING = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL', 'ENOTFOUND']);

/**
 * Reads secrets through the AWS Parameters and Secrets Lambda Extension:
 * `GET /secretsmanager/get?secretId=<id>` on localhost with `X-Aws-Parameters-Secrets-Token`, answered
 * with `GetSecretValue`'s JSON. No SDK is loaded for it, which is the cold-start saving (design §8).
 * Plain `node:http`: it is loaded anyway by undici, while `fetch` would load Node's own copy of undici.
 *
 * Throws `ERR_SECRET` (retriable for timeouts, 429 and 5xx) when the extension answers with an error, or
 * cannot be reached and there is no `fallback`.
 */
export const createExtensionSecretFetcher = (options: ExtensionSecretFetcherOptions): SecretFetcher => {
  const host = options.host ?? EXTENSION_DEFAULTS.host;
  const timeoutMs = options.timeoutMs ?? EXTENSION_DEFAULTS.timeoutMs;
  const { fallback, log } = options;
  // Once nothing listened, later reads of this container go straight to the fallback: the layer is not
  // attached, and paying a refused connection before every read would be for nothing.
  let unreachable = false;

  return async (secretId, fetchOptions = {}) => {
    const token = options.sessionToken();
    if (fallback !== undefined && (unreachable || token === undefined || token === '')) {
      return fallback(secretId, fetchOptions);
    }
    if (token === undefined || token === '') {
      throw new AppError(
        ERROR_CODES.SECRET,
        `could not read secret ${secretId} through the Lambda extension: AWS_SESSION_TOKEN is not set`,
        { retriable: false },
      );
    }
    const path = `/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
    let reply: ExtensionReply;
    try {
      reply = await getFromExtension(host, options.port, path, token, timeoutMs);
    } catch (error) {
      const code = errorCode(error);
      if (fallback !== undefined && code !== undefined && NOT_LISTENING.has(code)) {
        unreachable = true;
        log?.warn(
          'the Parameters and Secrets Lambda Extension is not listening: reading secrets from Secrets Manager directly',
          {
            port: options.port,
            code,
          },
        );
        return fallback(secretId, fetchOptions);
      }
      if (isAppError(error)) {
        throw new AppError(
          error.code,
          `could not read secret ${secretId} through the Lambda extension: ${error.message}`,
          { cause: error },
        );
      }
      throw new AppError(
        ERROR_CODES.SECRET,
        `could not read secret ${secretId} through the Lambda extension on port ${options.port}: ${describeError(error)}`,
        { cause: error },
      );
    }
    if (reply.status !== 200) {
      // The body names the failure (not found, access denied); scrub the token in case it is ever echoed.
      const snippet = redactedSnippet(reply.body, [token], EXTENSION_SNIPPET_CHARS);
      throw new AppError(
        ERROR_CODES.SECRET,
        `could not read secret ${secretId} through the Lambda extension: it answered ${reply.status}: ${snippet}`,
        { retriable: reply.status === 429 || reply.status >= 500 },
      );
    }
    const value = secretValueOf(parseJson(reply.body));
    if (value === undefined) {
      throw new AppError(
        ERROR_CODES.SECRET,
        `could not read secret ${secretId} through the Lambda extension: its answer is not GetSecretValue JSON`,
      );
    }
    if (value === null) throw noValue(secretId);
    if (fallback !== undefined && fetchOptions.stale !== undefined && value === fetchOptions.stale) {
      // A refresh after a 401 got the value that was refused: the extension may still cache the version
      // from before a rotation. Secrets Manager itself has the last word.
      return fallback(secretId, fetchOptions);
    }
    return value;
  };
};

interface ExtensionReply {
  readonly status: number;
  readonly body: string;
}

const getFromExtension = (
  host: string,
  port: number,
  path: string,
  token: string,
  timeoutMs: number,
): Promise<ExtensionReply> =>
  new Promise((resolve, reject) => {
    const req = request(
      { host, port, path, method: 'GET', headers: { 'x-aws-parameters-secrets-token': token } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > EXTENSION_ANSWER_MAX_BYTES) {
            req.destroy(
              new AppError(
                ERROR_CODES.UPSTREAM_PROTOCOL,
                `the Lambda extension's answer is larger than ${EXTENSION_ANSWER_MAX_BYTES} bytes; the rest was not read`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    // One bound for the whole exchange: an answer that trickles in must not outlive the caller's budget.
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

/** `code` of a Node error; an AggregateError (happy eyeballs over several addresses) carries its own. */
const errorCode = (error: unknown): string | undefined => {
  const value = error as { code?: unknown; errors?: { code?: unknown }[] } | undefined;
  if (typeof value?.code === 'string') return value.code;
  const first = value?.errors?.[0]?.code;
  return typeof first === 'string' ? first : undefined;
};

const describeError = (error: unknown): string =>
  errorCode(error) ?? (error as Error | undefined)?.name ?? 'Error';
