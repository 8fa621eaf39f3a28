import { createHash } from 'node:crypto';
import { isPlainObject } from '../../core/checks.js';
import { AppError, ERROR_CODES } from '../../core/errors.js';
import type { ProduceHeader, ProduceRecord } from '../../kafka-rest/types.js';

/**
 * The spool queue's message: one webhook record, exactly as the webhook would have produced it (key, value
 * bytes, headers, partition), so that the backfill produces the same record. Bytes are base64. A value too
 * large for one message is kept in the spool bucket and named by `valueObject` instead.
 */
export interface SpoolMessage {
  readonly v: 1;
  /** The receipt the caller was given; also the message's deduplication id. */
  readonly receipt: string;
  readonly route: string;
  readonly topic: string;
  readonly partition?: number;
  readonly key: string | null;
  readonly value?: string | null;
  readonly valueObject?: SpoolObjectRef;
  readonly headers?: readonly (readonly [string, string | null])[];
  readonly requestId: string;
  /** ISO 8601: when the webhook spooled it. */
  readonly spooledAt: string;
  /** The order marker that holds the key's later requests in the spool until this one is produced. */
  readonly marker?: OrderMarker;
}

export interface SpoolObjectRef {
  readonly key: string;
  readonly bytes: number;
  /** Hex SHA-256 of the value: what comes back from the bucket must be what was spooled. */
  readonly sha256: string;
}

/** A row of the spool keys table: partition key `k` (route + key), sort key `m` (expiry + receipt). */
export interface OrderMarker {
  readonly k: string;
  readonly m: string;
}

/** What the spool does about order for one record: the FIFO group, and whether a marker holds the key. */
export interface SpoolOrder {
  /** ≤ 128 characters of SQS's FIFO id alphabet. */
  readonly group: string;
  /** The keys table's partition key; undefined: the record has no order to keep (see {@link spoolOrderOf}). */
  readonly orderKey: string | undefined;
}

/** Groups for records without order: enough to backfill them side by side, few enough to stay cheap. */
const UNORDERED_GROUPS = 16;

const digest = (...parts: readonly (string | Uint8Array)[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(typeof part === 'string' ? Buffer.from(part) : part).update('\0');
  return hash.digest('base64url');
};

/**
 * A keyed record (or one bound to a fixed partition) keeps its order per route and key: its FIFO group is
 * route + key, so the backfill produces them one after the other, and its order marker holds the key's
 * later requests behind it. A record with neither has no order in Kafka to keep (the partitioner scatters
 * key-less records): it goes to one of {@link UNORDERED_GROUPS} groups by its receipt, and no marker.
 */
export const spoolOrderOf = (route: string, record: ProduceRecord, receipt: string): SpoolOrder => {
  if (record.key == null && record.partition === undefined) {
    const bucket = createHash('sha256').update(receipt).digest().readUInt8(0) % UNORDERED_GROUPS;
    return { group: `u-${digest(route)}-${bucket}`, orderKey: undefined };
  }
  const orderKey = `${digest(route, String(record.partition ?? ''), record.key ?? new Uint8Array(0))}`;
  return { group: `k-${orderKey}`, orderKey };
};

const toBase64 = (bytes: Uint8Array | null | undefined): string | null =>
  bytes == null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export const encodeSpoolMessage = (
  fields: Omit<SpoolMessage, 'v' | 'key' | 'value' | 'headers' | 'partition'> & {
    readonly record: ProduceRecord;
    /** Set when the value went to the bucket: the message carries the reference instead. */
    readonly valueObject?: SpoolObjectRef;
  },
): string => {
  const { record, valueObject, ...rest } = fields;
  const message: SpoolMessage = {
    v: 1,
    ...rest,
    ...(record.partition === undefined ? {} : { partition: record.partition }),
    key: toBase64(record.key),
    ...(valueObject === undefined ? { value: toBase64(record.value) } : { valueObject }),
    ...(record.headers === undefined || record.headers.length === 0
      ? {}
      : { headers: record.headers.map((header) => [header.name, toBase64(header.value)] as const) }),
  };
  return JSON.stringify(message);
};

/** A message this function never wrote (or a later version's) can never be produced: it fails for good. */
const unreadable = (why: string): AppError =>
  new AppError(ERROR_CODES.PAYLOAD_INVALID, `the spool message is not readable: ${why}`);

const isBase64OrNull = (value: unknown): value is string | null =>
  value === null || typeof value === 'string';

/** The message's fields, checked; the value is still to be read from the bucket when `valueObject` is set. */
export const decodeSpoolMessage = (body: string): SpoolMessage => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw unreadable('its body is not JSON');
  }
  if (!isPlainObject(parsed) || parsed.v !== 1) throw unreadable('not a version 1 spool message');
  const { receipt, route, topic, partition, key, value, valueObject, headers, requestId, spooledAt, marker } =
    parsed;
  if ([receipt, route, topic, requestId, spooledAt].some((field) => typeof field !== 'string')) {
    throw unreadable('receipt, route, topic, requestId and spooledAt must be strings');
  }
  if (partition !== undefined && !(Number.isInteger(partition) && (partition as number) >= 0)) {
    throw unreadable('partition must be a non-negative integer');
  }
  if (!isBase64OrNull(key)) throw unreadable('key must be base64 or null');
  if (valueObject === undefined ? !isBase64OrNull(value) : !isObjectRef(valueObject)) {
    throw unreadable('value must be base64 or null, or valueObject a {key, bytes, sha256}');
  }
  if (headers !== undefined && !(Array.isArray(headers) && headers.every(isHeaderPair))) {
    throw unreadable('headers must be [name, base64 | null] pairs');
  }
  if (
    marker !== undefined &&
    !(isPlainObject(marker) && typeof marker.k === 'string' && typeof marker.m === 'string')
  ) {
    throw unreadable('marker must be {k, m}');
  }
  return parsed as unknown as SpoolMessage;
};

const isObjectRef = (value: unknown): value is SpoolObjectRef =>
  isPlainObject(value) &&
  typeof value.key === 'string' &&
  Number.isInteger(value.bytes) &&
  typeof value.sha256 === 'string';

const isHeaderPair = (value: unknown): boolean =>
  Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && isBase64OrNull(value[1]);

const fromBase64 = (text: string | null | undefined): Buffer | null =>
  text == null ? null : Buffer.from(text, 'base64');

/** The record to produce: the message's own bytes, or `value` read from the bucket for a `valueObject`. */
export const toSpooledRecord = (message: SpoolMessage, value?: Uint8Array): ProduceRecord => {
  const headers: ProduceHeader[] | undefined = message.headers?.map(([name, bytes]) => ({
    name,
    value: fromBase64(bytes),
  }));
  return {
    key: fromBase64(message.key),
    value: message.valueObject === undefined ? fromBase64(message.value) : (value ?? null),
    ...(message.partition === undefined ? {} : { partition: message.partition }),
    ...(headers === undefined ? {} : { headers }),
  };
};

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
