import { request } from 'node:http';
import {
  type AwsJsonClient,
  createAwsJsonClient,
  type SdkClientLike,
  SECRETS_MANAGER,
  toAwsJsonClient,
} from './aws/json-client.js';
import type { AwsCredentials } from './aws/sigv4.js';
import type { CoreConfig, SecretSource } from './config-core.js';
import { AppError, ERROR_CODES, isAppError } from './core/errors.js';
import type { Log } from './core/log.js';
import { redactedSnippet } from './core/redact.js';
import { beforeDeadline } from './http/timed-abort.js';

/**
 * Secrets Manager reads, cached per container: one signed `GetSecretValue` over a pool (`lib/aws/`), or
 * one localhost GET to the AWS Parameters and Secrets Lambda Extension (`SECRETS_SOURCE=extension`).
 * Loading `@aws-sdk/client-secrets-manager` cost 63–87 ms at cold start (design §8), so no SDK is loaded
 * for either; nothing connects for a literal credential or `auth=none`.
 */

export interface SecretReadOptions {
  /**
   * Absolute time (epoch ms) by which the read must have settled: past it the caller gets `ERR_DEADLINE`
   * (a fetch under way goes on, bounded by its own timeout, and fills the cache for later reads).
   */
  readonly deadlineMs?: number;
}

/** A credential that can be read (cached) and read again for sure (after a 401: rotation). */
export interface SecretValue {
  /** Throws `ERR_SECRET`, or `ERR_DEADLINE` past `options.deadlineMs`. */
  get(options?: SecretReadOptions): Promise<string>;
  /** Fetches again, bypassing the cache. Throws `ERR_SECRET`, or `ERR_DEADLINE` past `options.deadlineMs`. */
  refresh(options?: SecretReadOptions): Promise<string>;
}

export interface SecretsCache {
  /**
   * The secret's string, from the cache while younger than `ttlMs`. Throws `ERR_SECRET`, or
   * `ERR_DEADLINE` past `options.deadlineMs`.
   */
  get(secretId: string, options?: SecretReadOptions): Promise<string>;
  /** Fetches the secret again whatever its age, and caches the answer. Throws as `get` does. */
  refresh(secretId: string, options?: SecretReadOptions): Promise<string>;
  /** Forgets every cached value. */
  clear(): void;
}

/** A Secrets Manager client (`createSecretsManagerClient`), or an AWS SDK client whose settings it uses. */
export type SecretsManagerClientSource = AwsJsonClient | SdkClientLike;

/**
 * Reads a secret's current string from where it lives, with no cache of its own. `stale` is set on a
 * refresh (after a 401: rotation) to the value the caller holds, so a source with a cache of its own
 * (the Lambda extension) can tell that its answer may be behind. Throws `ERR_SECRET`.
 */
export type SecretFetcher = (secretId: string, options?: { readonly stale?: string }) => Promise<string>;

interface CacheTiming {
  /** How long a fetched value is served without asking again; 0 asks every time. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

/** Either a Secrets Manager client (`client`) or any other source (`fetcher`). */
export type SecretsCacheOptions = CacheTiming &
  (
    | { readonly client: SecretsManagerClientSource; readonly fetcher?: never }
    | { readonly fetcher: SecretFetcher; readonly client?: never }
  );

interface CacheEntry {
  readonly value: string;
  readonly expiresAtMs: number;
}

/**
 * Creates the cache. It lives in a function's deps, so it spans invocations of one container: one fetch
 * per secret per `ttlMs`, and concurrent reads of the same secret share one call. A failed fetch caches
 * nothing, so the next read tries again.
 */
export const createSecretsCache = (options: SecretsCacheOptions): SecretsCache => {
  const now = options.now ?? Date.now;
  const fetchSecret: SecretFetcher =
    options.fetcher ?? createSecretsManagerFetcher(options.client as SecretsManagerClientSource);
  const entries = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<string>>();

  const fetchShared = (secretId: string): Promise<string> => {
    const pending = inFlight.get(secretId);
    if (pending !== undefined) return pending;
    const stale = entries.get(secretId)?.value;
    const started = fetchSecret(secretId, stale === undefined ? {} : { stale })
      .then((value) => {
        entries.set(secretId, { value, expiresAtMs: now() + options.ttlMs });
        return value;
      })
      .finally(() => inFlight.delete(secretId));
    inFlight.set(secretId, started);
    return started;
  };

  /** A shared fetch, waited for until the caller's deadline at most: callers sharing it may have others. */
  const fetchBy = async (secretId: string, readOptions: SecretReadOptions): Promise<string> => {
    const shared = fetchShared(secretId);
    if (readOptions.deadlineMs === undefined) return shared;
    // Whoever stops waiting leaves the shared fetch to settle on its own: its failure is no one's to see.
    shared.catch(() => {});
    const value = await beforeDeadline(shared, readOptions.deadlineMs, now);
    if (value === undefined) {
      throw new AppError(ERROR_CODES.DEADLINE, `the deadline passed while secret ${secretId} was being read`);
    }
    return value;
  };

  return {
    get: async (secretId, readOptions = {}) => {
      const entry = entries.get(secretId);
      if (entry !== undefined && now() < entry.expiresAtMs) return entry.value;
      return fetchBy(secretId, readOptions);
    },
    // A fetch already in flight started after the cached value was dropped or expired, so it reads the
    // current version: sharing it still honours "fetch again", and a burst of 401s costs one call.
    refresh: (secretId, readOptions = {}) => fetchBy(secretId, readOptions),
    clear: () => {
      entries.clear();
      inFlight.clear();
    },
  };
};

/** How long one `GetSecretValue` (the client's retries included) may take. */
const GET_SECRET_TIMEOUT_MS = 5_000;

/**
 * `GetSecretValue`, one signed call (with the client's retries), bounded as a whole (headers, body,
 * retries) by `timeoutMs` (default 5 000). Throws `ERR_SECRET`.
 */
export const createSecretsManagerFetcher = (
  client: SecretsManagerClientSource,
  options: { readonly timeoutMs?: number } = {},
): SecretFetcher => {
  const secretsManager = toAwsJsonClient(SECRETS_MANAGER, client);
  return async (secretId) => {
    try {
      const output = await secretsManager.call<unknown>(
        'GetSecretValue',
        { SecretId: secretId },
        { abortSignal: AbortSignal.timeout(options.timeoutMs ?? GET_SECRET_TIMEOUT_MS) },
      );
      const value = secretValueOf(output);
      if (value === undefined) {
        throw new AppError(
          ERROR_CODES.SECRET,
          `could not read secret ${secretId}: the answer is not GetSecretValue JSON`,
        );
      }
      if (value === null) throw noValue(secretId);
      return value;
    } catch (error) {
      if (isAppError(error)) throw error;
      // AWS's own message names the failure (not found, access denied, throttled); it never carries the value.
      const name = (error as Error | undefined)?.name ?? 'Error';
      const detail = (error as Error | undefined)?.message ?? String(error);
      throw new AppError(ERROR_CODES.SECRET, `could not read secret ${secretId}: ${name}: ${detail}`, {
        cause: error,
      });
    }
  };
};

const noValue = (secretId: string): AppError =>
  new AppError(ERROR_CODES.SECRET, `secret ${secretId} has neither a string nor a binary value`, {
    retriable: false,
  });

/** A `SecretValue` for a configured source; a literal value needs no cache and no fetch. */
export const secretValue = (cache: SecretsCache | undefined, source: SecretSource): SecretValue => {
  if ('value' in source) return literalSecret(source.value);
  if (cache === undefined) {
    throw new AppError(ERROR_CODES.CONFIG, `secret ${source.secretId} needs a secrets cache`, {
      retriable: false,
    });
  }
  const { secretId } = source;
  return {
    get: (options) => cache.get(secretId, options),
    refresh: (options) => cache.refresh(secretId, options),
  };
};

/** A credential given as is (local development). */
export const literalSecret = (value: string): SecretValue => ({
  get: async () => value,
  refresh: async () => value,
});

export interface SecretsManagerClientOptions {
  /** A local stand-in's URL; unset in AWS. */
  readonly endpoint?: URL | string | undefined;
  /** Unset in Lambda: `AWS_REGION`. */
  readonly region?: string | undefined;
  /** Fixed credentials (tests against a local endpoint); unset in AWS, where the role's (environment) are used. */
  readonly credentials?: AwsCredentials | undefined;
}

/** Signed Secrets Manager calls over a pool of their own; nothing connects until the first read. */
export const createSecretsManagerClient = (options: SecretsManagerClientOptions = {}): AwsJsonClient =>
  createAwsJsonClient(SECRETS_MANAGER, options);

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

/**
 * `GetSecretValue`'s answer (from Secrets Manager or the extension): `SecretString`, else `SecretBinary`
 * (base64 in JSON) as UTF-8; null when neither; undefined when not that JSON.
 */
const secretValueOf = (parsed: unknown): string | null | undefined => {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { SecretString, SecretBinary } = parsed as { SecretString?: unknown; SecretBinary?: unknown };
  if (typeof SecretString === 'string') return SecretString;
  if (typeof SecretBinary === 'string') return Buffer.from(SecretBinary, 'base64').toString('utf8');
  return null;
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

export interface SecretsFromConfigOptions {
  /**
   * The extension's token. By default `AWS_SESSION_TOKEN` from the environment, read at each fetch: it is
   * the execution role's credential, so it stays out of the frozen config (which may be logged whole).
   */
  readonly sessionToken?: () => string | undefined;
  readonly log?: Log;
  readonly now?: () => number;
}

/**
 * The secrets cache a function's deps factory builds (once per cold start): through the Lambda extension
 * when `config.secrets.source` is `extension` (a direct `GetSecretValue` as the fallback), else directly
 * (`sdk`: the setting's name from when that read went through the AWS SDK). Neither connects until the
 * first read.
 */
export const createSecretsCacheFromConfig = (
  config: CoreConfig,
  options: SecretsFromConfigOptions = {},
): SecretsCache => {
  const { secrets } = config;
  const direct = createSecretsManagerFetcher(
    createSecretsManagerClient({ endpoint: secrets.endpoint, region: secrets.region }),
  );
  const timing = { ttlMs: secrets.cacheTtlMs, ...(options.now === undefined ? {} : { now: options.now }) };
  if (secrets.source === 'sdk') return createSecretsCache({ ...timing, fetcher: direct });
  return createSecretsCache({
    ...timing,
    fetcher: createExtensionSecretFetcher({
      port: secrets.extensionPort,
      sessionToken: options.sessionToken ?? (() => process.env.AWS_SESSION_TOKEN),
      fallback: direct,
      ...(options.log === undefined ? {} : { log: options.log }),
    }),
  });
};
