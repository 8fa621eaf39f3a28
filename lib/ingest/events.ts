import type { EventBridgeEvent } from 'aws-lambda';
import { AppError, ERROR_CODES, isAppError } from '../core/errors.js';
import { describeError, toPayloadPreview } from '../core/log.js';
import { toCloudEventRecord } from '../formats/cloudevents.js';
import type { ProduceRecord } from '../kafka-rest/types.js';
import type { EventKeySource } from './config.js';
import { resolvePointer } from './fields.js';
import { checkRecordFits } from './plan.js';
import { produceOne, type SourceDeps } from './produce.js';
import type { ItemAcknowledged, ProduceLimits } from './types.js';

export interface EventsDeps extends Omit<SourceDeps, 'now'> {
  readonly topic: string;
  readonly key: EventKeySource;
  readonly limits: ProduceLimits;
  /** Epoch ms, for the produce latency; defaults to `Date.now`. */
  readonly now?: () => number;
  /** `cloudevents`: each event becomes a CloudEvent (see {@link toEventCloudEvent}); absent: the event JSON as is. */
  readonly envelope?: 'cloudevents' | undefined;
}

export type AnyEventBridgeEvent = EventBridgeEvent<string, unknown>;

/**
 * The event JSON as the record value, and its key from the configured JSON pointer: a string's UTF-8
 * bytes, `true`/`false`, or a safe integer's decimal digits. Lambda's runtime parses the event before the
 * handler sees it, rounding every number to a double, so a key from any other number (past ±2^53 such as
 * a 64-bit id, or with a fraction) may not be the one the event carried: it is refused rather than shared
 * with another event. Throws `AppError` `ERR_PAYLOAD_INVALID` when the pointer names no such value.
 */
export const toEventRecord = (event: AnyEventBridgeEvent, key: EventKeySource): ProduceRecord => {
  const value = Buffer.from(JSON.stringify(event), 'utf8');
  if (key.from === 'none') return { key: null, value };
  const found = resolvePointer(event, key.pointer);
  if ((typeof found === 'string' && found !== '') || typeof found === 'boolean') {
    return { key: Buffer.from(String(found), 'utf8'), value };
  }
  if (typeof found === 'number' && Number.isSafeInteger(found)) {
    return { key: Buffer.from(String(found), 'utf8'), value };
  }
  throw new AppError(
    ERROR_CODES.PAYLOAD_INVALID,
    typeof found === 'number'
      ? `the event's key at JSON pointer ${key.pointer} is a number that is not a safe integer, which the Lambda runtime may have rounded: send it as a string`
      : `the event's key at JSON pointer ${key.pointer} must be a non-empty string, a safe integer or a boolean`,
  );
};

/**
 * The event's record as a CloudEvent, the mapping of its envelope fields: `id` the event id (Lambda's
 * retries keep it), `source` its source (`aws.ec2`, `com.example.orders`: a URI-reference), `type` its
 * detail-type, `time` its time. The data is the whole event JSON, so account, region and resources are
 * not lost. Binary mode where the proxy carries headers, structured elsewhere. Throws `ERR_PAYLOAD_INVALID`
 * for an event without an id, source, detail-type or valid time, which no CloudEvent can be made of.
 */
export const toEventCloudEvent = (
  event: AnyEventBridgeEvent,
  record: ProduceRecord,
  recordHeaders: boolean,
): ProduceRecord => {
  const time = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
  const fields = [event.id, event.source, event['detail-type']];
  if (Number.isNaN(time) || !fields.every((field) => typeof field === 'string' && field !== '')) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      'the event needs an id, a source, a detail-type and a valid time to become a CloudEvent',
    );
  }
  return toCloudEventRecord(
    record,
    {
      id: event.id,
      source: event.source,
      type: event['detail-type'],
      time: new Date(time).toISOString(),
      datacontenttype: 'application/json',
    },
    recordHeaders ? 'binary' : 'structured',
  );
};

/**
 * One EventBridge event → one record. Answers where it was acknowledged; throws otherwise, so Lambda's
 * asynchronous retries and the function's on-failure destination take the event over: `ERR_PAYLOAD_INVALID`
 * (no key), `ERR_PAYLOAD_TOO_LARGE`, or the produce failure itself (an `AppError`, `retriable` set).
 */
export const ingestEvent = async (
  deps: EventsDeps,
  event: AnyEventBridgeEvent,
  deadlineMs: number,
): Promise<ItemAcknowledged> => {
  const context = {
    eventId: event.id,
    source: event.source,
    detailType: event['detail-type'],
    topic: deps.topic,
  };
  try {
    const plain = toEventRecord(event, deps.key);
    const record =
      deps.envelope === 'cloudevents' ? toEventCloudEvent(event, plain, deps.recordHeaders === true) : plain;
    const misfit = checkRecordFits(record, deps.limits);
    if (misfit) throw misfit;
    const result = await produceOne({ ...deps, now: deps.now ?? Date.now }, deps.topic, record, {
      deadlineMs,
      noResult: () =>
        new AppError(ERROR_CODES.UPSTREAM_PROTOCOL, 'the Kafka REST client returned no result for the event'),
    });
    deps.log.info('event produced', { ...context, partition: result.partition, offset: result.offset });
    if (deps.log.logsPayloads === true) {
      deps.log.debug('event record payload', {
        eventId: event.id,
        key: toPayloadPreview(record.key),
        value: toPayloadPreview(record.value),
      });
    }
    return { ok: true, id: event.id, topic: deps.topic, partition: result.partition, offset: result.offset };
  } catch (error) {
    deps.metrics?.record(deps.topic, false);
    const described = isAppError(error)
      ? { code: error.code, retriable: error.retriable, reason: error.message }
      : describeError(error);
    deps.log.error('event not produced', { ...context, ...described });
    throw error;
  }
};
