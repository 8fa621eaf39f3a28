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
