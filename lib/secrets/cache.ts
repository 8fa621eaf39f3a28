import { AppError, ERROR_CODES } from '../core/errors.js';
import { beforeDeadline } from '../http/timed-abort.js';
import { createSecretsManagerFetcher, type SecretsManagerClientSource } from './secrets-manager.js';

/**
 * Secrets Manager reads, cached per container: one signed `GetSecretValue` over a pool (`lib/aws/`), or
 * one localhost GET to the AWS Parameters and Secrets Lambda Extension (`SECRETS_SOURCE=extension`).
 * Loading `@aws-sdk/client-secrets-manager` cost 63–87 ms at cold start (design §8), so no SDK is loaded
 * for either; nothing connects for a literal credential or `auth=none`.
 */

/**
 * Where a credential comes from. `secretId` names a Secrets Manager secret (deployments); `value` is the
 * literal credential (local runs only: it would otherwise sit in the function's environment in clear).
 */
export type SecretSource = { readonly secretId: string } | { readonly value: string };

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
