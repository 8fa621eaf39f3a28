import type { PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { createBatchSink, type Encoded, rejectTooLarge, toEntryFailure } from './aws-batch-sink.js';
import type { EventBridgeSinkConfig } from './config.js';
import { DELIVERED, toBase64 } from './outcomes.js';
import type { DeliveryOutcome, Sink, SinkDeps, SinkRecord } from './types.js';

/** PutEvents takes at most 10 entries, together at most 256 KB (counted as below). */
export const EVENTBRIDGE_MAX_BATCH_ENTRIES = 10;
export const EVENTBRIDGE_MAX_BATCH_BYTES = 262_144;

/** Per-entry error codes that say the event itself is wrong: resending it cannot help. */
const PERMANENT_ERROR = /Malformed|Invalid|Validation/i;

/**
 * Delivers records as EventBridge events with `PutEvents` (≤ 10 entries and ≤ 256 KB per call).
 *
 * `Detail` is a JSON object `{id, topic, partition, offset, key, value}`: `id` is the record id, what a
 * target deduplicates by (EventBridge's own event `id` is new on every resend); `key` is base64 or null;
 * a value that is JSON text is embedded verbatim as `value` (numbers keep their digits), any other value
 * travels as `valueBase64`, and a tombstone is `"value": null, "tombstone": true`. EventBridge delivers
 * to targets in no order and at least once, so delivery is unordered: up to 10 events per call, each
 * outcome on its own, and a failed one is resent after later ones. An event too large alone is rejected for good
 * (`ERR_PAYLOAD_TOO_LARGE`) without a call; a per-entry `ErrorCode` is retriable unless it says the event
 * is malformed or invalid (`ERR_SINK_REJECTED`).
 */
export const createEventBridgeSink = (config: EventBridgeSinkConfig, deps: SinkDeps): Sink =>
  createBatchSink(
    {
      service: 'EventBridge PutEvents',
      maxBatchRecords: config.maxBatchRecords,
      maxEntries: EVENTBRIDGE_MAX_BATCH_ENTRIES,
      maxBytes: EVENTBRIDGE_MAX_BATCH_BYTES,
      ordered: false,
      encode: (record) => encodeRecord(record, config),
      send: async (entries, signal) => {
        const eventBridge = await deps.aws.eventBridge();
        const output = await eventBridge.putEvents({ Entries: entries }, { abortSignal: signal });
        return entries.map((_, position) => toEntryOutcome(output.Entries?.[position]));
      },
    },
    deps,
  );

const encodeRecord = (record: SinkRecord, config: EventBridgeSinkConfig): Encoded<PutEventsRequestEntry> => {
  const detail = toEventDetail(record);
  const bytes = toEventBytes(config.source, config.detailType, detail);
  if (bytes > EVENTBRIDGE_MAX_BATCH_BYTES) {
    return rejectTooLarge(
      `the record makes an event of ${bytes} bytes, over EventBridge's limit of ${EVENTBRIDGE_MAX_BATCH_BYTES}`,
    );
  }
  return {
    entry: {
      EventBusName: config.busName,
      Source: config.source,
      DetailType: config.detailType,
      Detail: detail,
    },
    bytes,
  };
};

/** The event's `Detail` JSON text for a record (see {@link createEventBridgeSink}). */
export const toEventDetail = (record: SinkRecord): string => {
  const head = `{"id":${JSON.stringify(record.id)},"topic":${JSON.stringify(record.topic)},"partition":${record.partition},"offset":${record.offset},"key":${JSON.stringify(toBase64(record.key))}`;
  if (record.value === null) return `${head},"value":null,"tombstone":true}`;
  const json = toJsonText(record.value);
  // Concatenated rather than re-serialised: JSON.parse would round big numbers to doubles.
  return json === undefined
    ? `${head},"valueBase64":${JSON.stringify(record.value.toString('base64'))}}`
    : `${head},"value":${json}}`;
};

const toJsonText = (bytes: Buffer): string | undefined => {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes).trim();
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
};

/**
 * An entry's size as EventBridge counts it ("Calculating PutEvents event entry size"): the UTF-8 bytes of
 * Source, DetailType and Detail (Time and Resources, which we never set, would add to it).
 */
export const toEventBytes = (source: string, detailType: string, detail: string): number =>
  Buffer.byteLength(source) + Buffer.byteLength(detailType) + Buffer.byteLength(detail);

const EVENTBRIDGE_NAMES = { service: 'EventBridge', refusal: 'EventBridge refused the event' };

const toEntryOutcome = (result: PutEventsResultEntry | undefined): DeliveryOutcome => {
  if (result?.EventId !== undefined && result.ErrorCode === undefined) return DELIVERED;
  return toEntryFailure(
    EVENTBRIDGE_NAMES,
    result?.ErrorCode === undefined
      ? undefined
      : {
          code: result.ErrorCode,
          message: result.ErrorMessage,
          permanent: PERMANENT_ERROR.test(result.ErrorCode),
        },
  );
};
