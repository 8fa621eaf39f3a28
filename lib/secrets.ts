import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSource } from './config.js';
import { AppError, ERROR_CODES, isAppError } from './errors.js';

/**
 * Secrets Manager reads, cached per container. Loading `@aws-sdk/client-secrets-manager` costs ≈87 ms at
 * cold start (design §8), so this module imports only its types; the SDK is loaded by `import()` when a
 * secret is first fetched, never for a literal credential or `auth=none`.
 */

/** A credential that can be read (cached) and read again for sure (after a 401: rotation). */
export interface SecretValue {
  /** Throws `ERR_SECRET`. */
  get(): Promise<string>;
  /** Fetches again, bypassing the cache. Throws `ERR_SECRET`. */
  refresh(): Promise<string>;
}

export interface SecretsCache {
  /** The secret's string, from the cache while younger than `ttlMs`. Throws `ERR_SECRET`. */
  get(secretId: string): Promise<string>;
  /** Fetches the secret again whatever its age, and caches the answer. Throws `ERR_SECRET`. */
  refresh(secretId: string): Promise<string>;
  /** Forgets every cached value. */
  clear(): void;
}

/** The SDK client, or a function that builds it on first use (see `createSecretsManagerClient`). */
export type SecretsManagerClientSource = SecretsManagerClient | (() => Promise<SecretsManagerClient>);

export interface SecretsCacheOptions {
  readonly client: SecretsManagerClientSource;
  /** How long a fetched value is served without asking again; 0 asks every time. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

interface CacheEntry {
  readonly value: string;
  readonly expiresAtMs: number;
}

/**
 * Creates the cache. It lives in a function's deps, so it spans invocations of one container: one
 * `GetSecretValue` per secret per `ttlMs`, and concurrent reads of the same secret share one call.
 */
export const createSecretsCache = (options: SecretsCacheOptions): SecretsCache => {
  const now = options.now ?? Date.now;
  const entries = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<string>>();

  const load = async (secretId: string): Promise<string> => {
    try {
      const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const client = typeof options.client === 'function' ? await options.client() : options.client;
      const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      const value =
        output.SecretString ??
        (output.SecretBinary === undefined ? undefined : Buffer.from(output.SecretBinary).toString('utf8'));
      if (value === undefined) {
        throw new AppError(ERROR_CODES.SECRET, `secret ${secretId} has neither a string nor a binary value`, {
          retriable: false,
        });
      }
      entries.set(secretId, { value, expiresAtMs: now() + options.ttlMs });
      return value;
    } catch (error) {
      if (isAppError(error)) throw error;
      // The SDK's own message names the failure (not found, access denied, throttled); it never carries the value.
      const name = (error as Error | undefined)?.name ?? 'Error';
      const detail = (error as Error | undefined)?.message ?? String(error);
      throw new AppError(ERROR_CODES.SECRET, `could not read secret ${secretId}: ${name}: ${detail}`, {
        cause: error,
      });
    }
  };

  const fetchShared = (secretId: string): Promise<string> => {
    const pending = inFlight.get(secretId);
    if (pending !== undefined) return pending;
    const started = load(secretId).finally(() => inFlight.delete(secretId));
    inFlight.set(secretId, started);
    return started;
  };

  return {
    get: async (secretId) => {
      const entry = entries.get(secretId);
      if (entry !== undefined && now() < entry.expiresAtMs) return entry.value;
      return fetchShared(secretId);
    },
    // A fetch already in flight started after the cached value was dropped or expired, so it reads the
    // current version: sharing it still honours "fetch again", and a burst of 401s costs one call.
    refresh: (secretId) => fetchShared(secretId),
    clear: () => {
      entries.clear();
      inFlight.clear();
    },
  };
};

/** A `SecretValue` for a configured source; a literal value needs no cache and no fetch. */
export const secretValue = (cache: SecretsCache | undefined, source: SecretSource): SecretValue => {
  if ('value' in source) return literalSecret(source.value);
  if (cache === undefined) {
    throw new AppError(ERROR_CODES.CONFIG, `secret ${source.secretId} needs a secrets cache`, {
      retriable: false,
    });
  }
  const { secretId } = source;
  return { get: () => cache.get(secretId), refresh: () => cache.refresh(secretId) };
};

/** A credential given as is (local development). */
export const literalSecret = (value: string): SecretValue => ({
  get: async () => value,
  refresh: async () => value,
});

export interface SecretsManagerClientOptions {
  /** A local stand-in's URL; unset in AWS. */
  readonly endpoint?: URL | string | undefined;
  readonly region?: string | undefined;
  /** Fixed credentials (tests against a local endpoint); unset in AWS, where the role's are used. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

/**
 * A function that builds the SDK client on its first call (loading the SDK then) and returns the same
 * client afterwards. A failed load is not cached, so it is tried again on the next read.
 */
export const createSecretsManagerClient = (
  options: SecretsManagerClientOptions = {},
): (() => Promise<SecretsManagerClient>) => {
  let client: Promise<SecretsManagerClient> | undefined;
  return () => {
    client ??= import('@aws-sdk/client-secrets-manager').then(
      ({ SecretsManagerClient: Client }) =>
        new Client({
          ...(options.endpoint === undefined ? {} : { endpoint: String(options.endpoint) }),
          ...(options.region === undefined ? {} : { region: options.region }),
          ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
        }),
      (error: unknown) => {
        client = undefined;
        throw error;
      },
    );
    return client;
  };
};
