import type { AwsCredentials } from '../aws/sigv4.js';
import { createIdempotencyStore, type IdempotencyStore } from '../ingest/webhook/idempotency/store.js';
import { dynamoDbFor } from './aws.js';

export interface LazyIdempotencyStoreSettings {
  readonly tableName: string;
  readonly inProgressTtlMs: number;
  readonly now: () => number;
  /** Unset in Lambda: `AWS_REGION`. */
  readonly region?: string | undefined;
  /** `DYNAMODB_ENDPOINT` (dynalite, local stand-ins); unset in AWS. */
  readonly endpoint?: string | URL | undefined;
  /** Unset in Lambda (the execution role's, from the environment); fixed fake credentials against local stand-ins. */
  readonly credentials?: AwsCredentials | undefined;
  /** Per DynamoDB attempt; defaults to 2 s, well inside API Gateway's 30 s (each call also ends by its delivery's deadline). */
  readonly requestTimeoutMs?: number;
  /** Attempts per call (with backoff); defaults to 2. */
  readonly maxAttempts?: number;
}

export interface LazyIdempotencyStore extends IdempotencyStore {
  /** Closes the connections, if any were opened. */
  destroy(): void;
}

/**
 * The webhook's idempotency store: nothing connects and no credentials are read until a deduplicating
 * route's first request, so a function whose routes never deduplicate pays nothing for it (design §8).
 * Built at once: its signed client costs next to nothing to create, unlike the DynamoDB SDK's tens of ms
 * of loading. Methods throw as {@link IdempotencyStore}'s do.
 */
export const createLazyIdempotencyStore = (settings: LazyIdempotencyStoreSettings): LazyIdempotencyStore => {
  const requestTimeoutMs = settings.requestTimeoutMs ?? 2_000;
  const dynamo = dynamoDbFor(
    { region: settings.region, dynamodb: settings.endpoint },
    {
      maxAttempts: settings.maxAttempts ?? 2,
      // A hung call must fail fast enough for the webhook to answer 503 before API Gateway gives up.
      attemptTimeoutMs: requestTimeoutMs,
      connectTimeoutMs: Math.min(1_000, requestTimeoutMs),
      credentials: settings.credentials,
    },
  );
  const store = createIdempotencyStore({
    client: dynamo,
    tableName: settings.tableName,
    now: settings.now,
    inProgressTtlMs: settings.inProgressTtlMs,
  });
  return {
    ...store,
    destroy: () => {
      void dynamo.close();
    },
  };
};
