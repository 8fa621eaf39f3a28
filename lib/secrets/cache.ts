import { AppError, ERROR_CODES } from '../core/errors.js';
import { beforeDeadline } from '../http/timed-abort.js';
import { createSecretsManagerFetcher, type SecretsManagerClientSource } from './secrets-manager.js';
import type { SecretFetcher, SecretReadOptions, SecretSource, SecretsCache, SecretValue } from './types.js';

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
