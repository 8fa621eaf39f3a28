import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IdempotencyStore } from './store.js';

export interface LazyIdempotencyStoreSettings {
  readonly tableName: string;
  readonly inProgressTtlMs: number;
  readonly now: () => number;
  /** Unset in Lambda: the SDK takes the function's region. */
  readonly region?: string | undefined;
  /** `DYNAMODB_ENDPOINT` (dynalite, local stand-ins); unset in AWS. */
  readonly endpoint?: string | URL | undefined;
  /** Unset in Lambda (the execution role); fixed fake credentials against local stand-ins. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Per DynamoDB attempt; defaults to 2 s, well inside API Gateway's 30 s (each call also ends by its delivery's deadline). */
  readonly requestTimeoutMs?: number;
  /** SDK attempts per call (its own backoff); defaults to 2. */
  readonly maxAttempts?: number;
}

export interface LazyIdempotencyStore extends IdempotencyStore {
  /** Closes the SDK client if one was created. */
  destroy(): void;
}

/**
 * An idempotency store whose DynamoDB client (and the SDK package) is loaded on first use, so a webhook
 * function whose requests never reach a deduplicating route never pays for it at cold start (design §8:
 * `@aws-sdk/client-dynamodb` costs tens of ms to import). Methods throw as {@link IdempotencyStore}'s do.
 */
export const createLazyIdempotencyStore = (settings: LazyIdempotencyStoreSettings): LazyIdempotencyStore => {
  let client: DynamoDBClient | undefined;
  let loading: Promise<IdempotencyStore> | undefined;

  const load = async (): Promise<IdempotencyStore> => {
    const [{ DynamoDBClient }, { createIdempotencyStore }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('./store.js'),
    ]);
    const requestTimeout = settings.requestTimeoutMs ?? 2_000;
    client = new DynamoDBClient({
      maxAttempts: settings.maxAttempts ?? 2,
      // A hung call must fail fast enough for the webhook to answer 503 before API Gateway gives up.
      requestHandler: { connectionTimeout: Math.min(1_000, requestTimeout), requestTimeout },
      ...(settings.region === undefined ? {} : { region: settings.region }),
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint.toString() }),
      ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
    });
    return createIdempotencyStore({
      client,
      tableName: settings.tableName,
      now: settings.now,
      inProgressTtlMs: settings.inProgressTtlMs,
    });
  };
  const store = (): Promise<IdempotencyStore> => {
    // A failed import is not cached, so the next request tries again.
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };

  return {
    begin: async (delivery) => (await store()).begin(delivery),
    complete: async (delivery, response) => (await store()).complete(delivery, response),
    abandon: async (delivery, token) => (await store()).abandon(delivery, token),
    destroy: () => client?.destroy(),
  };
};
