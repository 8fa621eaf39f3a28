import { AppError, ERROR_CODES } from '../core/errors.js';
import type { KafkaRestDialect } from '../kafka-rest/flavors.js';
import { REQUEST_SIZE, type RequestSizeModel } from '../kafka-rest/request-size.js';
import type { ProduceRecord } from '../kafka-rest/types.js';
import type { IngestItem, ProduceLimits } from './types.js';

/** One produce request of a plan: records of one topic, sent once every request in `after` has settled. */
export interface PlannedRequest<T extends PlanItem = IngestItem> {
  /** Position in the plan; `after` only names lower ids, so the plan has no cycles. */
  readonly id: number;
  readonly topic: string;
  readonly items: readonly T[];
  /**
   * The requests holding the previous record of each FIFO group in this one: it is sent only once they
   * have settled, and without the records whose previous one was not acknowledged.
   */
  readonly after: readonly number[];
  /** Estimated body bytes (base64 and JSON included), at most `maxRequestBytes`. */
  readonly bytes: number;
}

export type PlanItem = Pick<IngestItem, 'topic' | 'group' | 'record'>;

/** The produce limits of a plan, with the request-size model of the proxy's dialect (v1's when absent). */
export interface PlanLimits extends ProduceLimits {
  readonly requestSize?: RequestSizeModel;
}

const sizeOf = (limits: PlanLimits): RequestSizeModel => limits.requestSize ?? REQUEST_SIZE.v1;

/** Key plus value bytes, the measure of `maxRecordBytes`. */
export const recordBytes = (record: ProduceRecord): number =>
  (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);

/**
 * The produce limits of `config.kafka` (design §4), and nothing else of it but the client's request-size
 * model for its dialect, so the planner packs by the client's own measure and the client never re-splits.
 */
export const toProduceLimits = ({
  maxRecordBytes,
  maxRequestBytes,
  maxRequestRecords,
  dialect,
}: ProduceLimits & { readonly dialect?: KafkaRestDialect }): PlanLimits => ({
  maxRecordBytes,
  maxRequestBytes,
  maxRequestRecords,
  requestSize: REQUEST_SIZE[dialect ?? 'v1'],
});

/**
 * Why a record can never be produced within `limits`, or undefined when it fits. The error is
 * `ERR_PAYLOAD_TOO_LARGE`, not retriable: the record is rejected whole, never truncated (design §4).
 */
export const checkRecordFits = (record: ProduceRecord, limits: PlanLimits): AppError | undefined => {
  const bytes = recordBytes(record);
  if (bytes > limits.maxRecordBytes) {
    return new AppError(
      ERROR_CODES.PAYLOAD_TOO_LARGE,
      `record is ${bytes} bytes (key and value); the limit is ${limits.maxRecordBytes}`,
    );
  }
  const size = sizeOf(limits);
  const encoded = size.recordBytes(record) + size.frameBytes;
  if (encoded > limits.maxRequestBytes) {
    return new AppError(
      ERROR_CODES.PAYLOAD_TOO_LARGE,
      `record needs ${encoded} bytes once base64-encoded; a produce request is at most ${limits.maxRequestBytes}`,
    );
  }
  return undefined;
};

interface OpenRequest<T> {
  readonly id: number;
  readonly topic: string;
  readonly items: T[];
  readonly after: Set<number>;
  bytes: number;
}

/**
 * Packs items into as few produce requests as the limits allow: first fit, per topic, in arrival order.
 * A FIFO group has at most one item per request, and each of its items goes into a request after the one
 * holding its previous item, which it waits for (`after`). Within one request the proxy may write a record
 * while an earlier one fails and is retried alone (a per-record error), so two items of a group in one
 * request could land out of order; one per request, each sent only after the previous one is
 * acknowledged, a later record is never written before an earlier one. Groups share requests with each
 * other and with unordered items, so a batch of G groups costs about max(largest group, the limits'
 * count) requests, and the largest group's length in round trips. Every item must already pass
 * {@link checkRecordFits}; throws `ERR_PAYLOAD_TOO_LARGE` for one that does not (a caller bug).
 */
export const planProduceRequests = <T extends PlanItem>(
  items: readonly T[],
  limits: PlanLimits,
): PlannedRequest<T>[] => {
  const size = sizeOf(limits);
  const requests: OpenRequest<T>[] = [];
  // Requests that may still take a record, per topic, oldest first. Full ones leave, so that first fit
  // stays cheap on a 10,000-message batch.
  const open = new Map<string, OpenRequest<T>[]>();
  const lastRequestOfGroup = new Map<string, number>();
  const smallestRecordBytes = size.recordBytes({ value: null });

  for (const item of items) {
    const misfit = checkRecordFits(item.record, limits);
    if (misfit) throw misfit;
    const bytes = size.recordBytes(item.record);
    const previous = item.group === undefined ? undefined : lastRequestOfGroup.get(item.group);
    const candidates = open.get(item.topic) ?? [];
    let target = candidates.find(
      (request) =>
        (previous === undefined || request.id > previous) &&
        request.items.length < limits.maxRequestRecords &&
        request.bytes + bytes <= limits.maxRequestBytes,
    );
    if (target === undefined) {
      target = {
        id: requests.length,
        topic: item.topic,
        items: [],
        after: new Set(),
        bytes: size.frameBytes,
      };
      requests.push(target);
      candidates.push(target);
      open.set(item.topic, candidates);
    }
    target.items.push(item);
    target.bytes += bytes;
    if (previous !== undefined) target.after.add(previous);
    if (item.group !== undefined) lastRequestOfGroup.set(item.group, target.id);
    if (
      target.items.length >= limits.maxRequestRecords ||
      target.bytes + smallestRecordBytes > limits.maxRequestBytes
    ) {
      candidates.splice(candidates.indexOf(target), 1);
    }
  }
  return requests.map((request) => ({
    id: request.id,
    topic: request.topic,
    items: request.items,
    after: [...request.after].sort((a, b) => a - b),
    bytes: request.bytes,
  }));
};
