// `store.ts` (createIdempotencyStore) is imported directly where it is needed; the webhook's deps build it
// on a signed DynamoDB client that connects on first use (lib/wiring/idempotency-store.ts).
export {
  DEFAULT_IN_PROGRESS_TTL_MS,
  IDEMPOTENCY_SOURCES,
  IDEMPOTENCY_WINDOW_SECONDS,
  type IdempotencyConfig,
  type IdempotencySettings,
  type IdempotencySource,
  parseIdempotency,
} from './config.js';
export {
  IDEMPOTENCY_IN_PROGRESS_CODE,
  type IdempotencyDeps,
  type IdempotencySourceRequest,
  MAX_IDEMPOTENCY_KEY_BYTES,
  REPLAYED_HEADER,
  resolveIdempotencyKey,
  runIdempotent,
  toInProgressResponse,
  toPayloadHash,
  toReplayedResponse,
  withIdempotency,
} from './run.js';
export type { BeginResult, Delivery, IdempotencyStore, StoredResponse } from './store.js';
