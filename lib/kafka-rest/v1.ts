import { FLAVOR_TRAITS, type NullValueEncoding } from './flavors.js';
import { BINARY_BODY_CLOSE, BINARY_BODY_OPEN, encodedRecordBytes, REQUEST_SIZE } from './request-size.js';
import type { FetchedHeader, FetchedRecord, PartitionInfo, ProduceRecord } from './types.js';
import {
  type MetadataWire,
  type RecordReport,
  toBase64,
  type WireFormat,
  type WireSettings,
} from './wire.js';

/**
 * The Kafka REST v1 wire format (binary embedded), as pure functions: paths, media types, request bodies
 * and response parsers. No I/O here, so another dialect (v2, v3) is another module of the same shape.
 * Parsers return `undefined` for a body that is not what v1 promises; the caller turns that into
 * `ERR_UPSTREAM_PROTOCOL`.
 */
export const V1_MEDIA = {
  /** Binary embedded records; the only format Message Hub accepts (protocol doc §2.1). */
  produceContentType: 'application/vnd.kafka.binary.v1+json',
  /**
   * Produce and metadata answers. Not the binary type: `POST /topics/{t}` does not list it as producible,
   * so an Accept of only that type gets 406 (protocol doc §2.1, gotcha).
   */
  accept: 'application/vnd.kafka.v1+json',
  /** Simple consume answers carry base64 binary records. */
  fetchAccept: 'application/vnd.kafka.binary.v1+json',
} as const;

export const topicsPath = (basePath: string): string => `${basePath}/topics`;
export const topicPath = (basePath: string, topic: string): string => `${basePath}/topics/${topic}`;
export const partitionsPath = (basePath: string, topic: string): string =>
  `${basePath}/topics/${topic}/partitions`;
export const messagesPath = (
  basePath: string,
  topic: string,
  partition: number,
  offset: number,
  count: number,
): string =>
  // `offset` is always sent: before CP 5.4 a missing one reads from 0, after it is a 400 (protocol doc §2.4).
  `${basePath}/topics/${topic}/partitions/${partition}/messages?offset=${offset}&count=${count}`;

/**
 * Below this (estimated) size a produce body is built as a string, above it as bytes. V8 allocates a
 * string over 128 KiB as a large object, and flattening the concatenation and encoding it then costs
 * 4-8× what writing one buffer does; under it, concatenating short strings is the faster of the two
 * (measured by bench/produce.ts and recorded in bench/RESULTS.md).
 */
export const STRING_BODY_MAX_BYTES = 96 * 1024;

/**
 * The produce request body for the records at `indices`, in the cheaper form for its size (string or
 * bytes, see {@link STRING_BODY_MAX_BYTES}); the same JSON either way.
 */
export const encodeProduceRequestBody = (
  records: readonly ProduceRecord[],
  indices: readonly number[],
  nullValue: NullValueEncoding = 'null',
  withHeaders = false,
): string | Buffer => {
  let estimate = BINARY_BODY_OPEN.length + BINARY_BODY_CLOSE.length;
  for (let i = 0; i < indices.length && estimate <= STRING_BODY_MAX_BYTES; i++) {
    estimate += encodedRecordBytes(records[indices[i] as number] as ProduceRecord);
  }
  return estimate <= STRING_BODY_MAX_BYTES
    ? encodeProduceBody(records, indices, nullValue, withHeaders)
    : encodeProduceBodyBytes(records, indices, nullValue, withHeaders);
};

/**
 * One record's JSON object, after `lead` (the body's opening or a comma). base64 needs no JSON escaping,
 * so the fields are written as they are. Returns the object's text; with `large`, a base64 field of
 * {@link OWN_PIECE_MIN_BYTES} or more is not concatenated into it but appended to `large` as a piece of
 * its own (with the text before it, in slices: {@link BASE64_SLICE_BYTES}), and the text returned follows
 * it. Such a piece is the flat string `toString` returns, so a large value is never copied into a
 * concatenation that V8 must flatten before it can be written (one 500 KB record: 1.4 ms flattened
 * against 0.7 ms in pieces).
 *
 * An absent key is left out (Redpanda rejects a `null` binary key, and everywhere else an absent key is
 * null); a null value is `"value":null`, or left out. Headers only where the flavor carries them
 * (Strimzi: `[{"key": name, "value": base64}]`); their names are the only text that needs escaping, and
 * are escaped to ASCII so the body stays one byte per character (`encodeProduceBodyBytes` writes latin1).
 */
const recordJson = (
  record: ProduceRecord,
  lead: string,
  nullValue: NullValueEncoding,
  withHeaders: boolean,
  large?: string[],
): string => {
  let text = `${lead}{`;
  // Whether a field was written: the next one needs a comma.
  let fields = false;
  if (record.key !== undefined && record.key !== null) {
    text = base64Field(`${text}${KEY_FIELD}`, record.key, large);
    fields = true;
  }
  if (record.partition !== undefined) {
    text += `${fields ? ',' : ''}${PARTITION_FIELD}${record.partition}`;
    fields = true;
  }
  if (record.value !== null) {
    text = base64Field(`${text}${fields ? ',' : ''}${VALUE_FIELD}`, record.value, large);
    fields = true;
  } else if (nullValue === 'null') {
    text += `${fields ? ',' : ''}${NULL_VALUE_FIELD}`;
    fields = true;
  }
  if (withHeaders && record.headers !== undefined && record.headers.length > 0) {
    let headers = '';
    for (const header of record.headers) {
      // A null header value is refused before encoding (`refuse`): Strimzi requires one.
      headers += `${headers === '' ? '' : ','}{"key":${asciiJsonString(header.name)},"value":"${toBase64(header.value ?? EMPTY)}"}`;
    }
    text += `${fields ? ',' : ''}"headers":[${headers}]`;
  }
  return `${text}}`;
};

/**
 * From this many bytes on, a base64 field of a body built as bytes is a piece of its own. Below it,
 * concatenating is cheaper: a small record is then one `Buffer.write` instead of up to five.
 */
const OWN_PIECE_MIN_BYTES = 6 * 1024;

/**
 * A large field is encoded in slices of this many bytes (a multiple of 3, so only the last slice pads):
 * each slice's base64 (64 KiB) stays below V8's large-object size (128 KiB) and dies young, where one
 * string per field would be a large object that only a full GC frees. Measured on one 1 MB record:
 * 0.6 ms in one piece, 0.25 ms in slices (and 0.9 ms at 96 KiB slices, over that size).
 */
const BASE64_SLICE_BYTES = 3 * 16 * 1024;

/** `text` and the base64 of `bytes` and its closing quote, or, for a large field, what follows it. */
const base64Field = (text: string, bytes: Uint8Array, large: string[] | undefined): string => {
  if (large === undefined || bytes.byteLength < OWN_PIECE_MIN_BYTES) return `${text}${toBase64(bytes)}"`;
  large.push(text);
  for (let at = 0; at < bytes.byteLength; at += BASE64_SLICE_BYTES) {
    large.push(toBase64(bytes, at, Math.min(bytes.byteLength, at + BASE64_SLICE_BYTES)));
  }
  return '"';
};

const EMPTY = new Uint8Array(0);

const asciiJsonString = (text: string): string =>
  JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

const recordLead = (i: number): string => (i === 0 ? BINARY_BODY_OPEN : ',');

/**
 * `{"records":[…]}` for the records at `indices`, built as one string: there is no intermediate object
 * graph and no `JSON.stringify` walk on the hot path.
 */
export const encodeProduceBody = (
  records: readonly ProduceRecord[],
  indices: readonly number[],
  nullValue: NullValueEncoding = 'null',
  withHeaders = false,
): string => {
  if (indices.length === 0) return `${BINARY_BODY_OPEN}${BINARY_BODY_CLOSE}`;
  let body = '';
  for (let i = 0; i < indices.length; i++) {
    body += recordJson(records[indices[i] as number] as ProduceRecord, recordLead(i), nullValue, withHeaders);
  }
  return `${body}${BINARY_BODY_CLOSE}`;
};

/**
 * The same body as bytes, written piece by piece into one buffer of the exact size: base64 and the JSON
 * frame are ASCII, so nothing needs escaping or UTF-8 encoding, and no large string is ever built.
 */
export const encodeProduceBodyBytes = (
  records: readonly ProduceRecord[],
  indices: readonly number[],
  nullValue: NullValueEncoding = 'null',
  withHeaders = false,
): Buffer => {
  // Pass 1: the pieces and the exact size; pass 2: copy into one allocation.
  const pieces: string[] = indices.length === 0 ? [BINARY_BODY_OPEN] : [];
  for (let i = 0; i < indices.length; i++) {
    const record = records[indices[i] as number] as ProduceRecord;
    pieces.push(recordJson(record, recordLead(i), nullValue, withHeaders, pieces));
  }
  pieces.push(BINARY_BODY_CLOSE);
  let size = 0;
  for (const piece of pieces) size += piece.length;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (const piece of pieces) at += body.write(piece, at, 'latin1');
  // `allocUnsafe` memory is not zeroed: never send a byte that was not written.
  return at === size ? body : body.subarray(0, at);
};

const KEY_FIELD = '"key":"';
const PARTITION_FIELD = '"partition":';
const VALUE_FIELD = '"value":"';
const NULL_VALUE_FIELD = '"value":null';

/** One entry of a produce answer, as the client needs it. */
export interface ProduceEntry {
  readonly partition: unknown;
  readonly offset: unknown;
  readonly error_code: unknown;
  readonly error: unknown;
  readonly message?: unknown;
}

/** `offsets` of a produce answer when it has one entry per record sent (protocol doc §2.3), else undefined. */
export const parseProduceEntries = (body: string, expected: number): readonly ProduceEntry[] | undefined => {
  const parsed = parseJson(body) as { offsets?: unknown } | undefined;
  const offsets = parsed?.offsets;
  if (!Array.isArray(offsets) || offsets.length !== expected) return undefined;
  for (const entry of offsets) if (typeof entry !== 'object' || entry === null) return undefined;
  return offsets as ProduceEntry[];
};

/** Media types of one binary embedded API version (v1 or v2): they differ only in the version. */
export interface BinaryMedia {
  readonly produceContentType: string;
  readonly accept: string;
  readonly fetchAccept: string;
}

/**
 * The produce and metadata wire of v1, and of v2, which keeps v1's bodies and shapes under its own media
 * types (protocol doc §6). The flavor decides which per-record codes are retriable, how a tombstone is
 * written, and which HTTP status carries per-record results when some failed.
 */
export const createBinaryWire = (
  dialect: 'v1' | 'v2',
  { basePath, flavor }: WireSettings,
  media: BinaryMedia,
): WireFormat => {
  const traits = FLAVOR_TRAITS[flavor];
  const carriesHeaders = dialect === 'v2' && traits.recordHeaders;
  const metadata: MetadataWire = {
    topicsPath: topicsPath(basePath),
    partitionsPath: (topic) => partitionsPath(basePath, topic),
    headers: { accept: media.accept },
    parseTopics,
    parsePartitions,
  };
  return {
    dialect,
    metadata,
    produce: {
      path: (topic) => topicPath(basePath, topic),
      headers: { 'content-type': media.produceContentType, accept: media.accept },
      frameBytes: REQUEST_SIZE[dialect].frameBytes,
      recordBytes: REQUEST_SIZE[dialect].recordBytes,
      encode: (records, indices) =>
        encodeProduceRequestBody(records, indices, traits.nullValue, carriesHeaders),
      refuse: (record) => {
        if (record.headers !== undefined && record.headers.length > 0) {
          if (!carriesHeaders) {
            return `record headers need the v3 dialect or the strimzi flavor: Kafka REST ${dialect} (${flavor}) has no headers`;
          }
          if (record.headers.some((header) => header.value === null)) {
            return `a record header without a value cannot be sent to ${flavor}: its headers need a value`;
          }
        }
        if (record.value === null && traits.nullValue === 'refused') {
          return `a tombstone (null value) cannot be written through ${flavor}: it would store the bytes of "null" instead`;
        }
        return undefined;
      },
      hasRecordResults: (status) => (status >= 200 && status < 300) || status === traits.partialFailureStatus,
      streamsReports: false,
      parse: (body, count) => {
        const entries = parseProduceEntries(body, count);
        return entries === undefined ? undefined : entries.map(toRecordReport);
      },
      isRetriable: (code) => typeof code === 'number' && traits.retriableRecordCodes.has(code),
      isFinal: (code) => traits.finalRecordCodes.has(code),
      unackedExpected: 'an offset ≥ 0 and a partition ≥ 0 for every record',
    },
  };
};

/** Success iff `error_code` is null or absent and the position is usable (protocol doc §4). */
const toRecordReport = (entry: ProduceEntry): RecordReport => {
  const code = entry.error_code;
  // Confluent names the text `error`, Strimzi `message` (protocol doc §9).
  if (code !== null && code !== undefined)
    return { kind: 'failed', code, message: entry.error ?? entry.message };
  return isOffset(entry.offset) && isOffset(entry.partition)
    ? { kind: 'acked', partition: entry.partition, offset: entry.offset }
    : { kind: 'unacked' };
};

/**
 * Records of a fetch answer (v1 simple consume, v2 `records`) at or after `fromOffset`, or undefined when
 * the answer cannot be trusted whole: a record of another partition (or topic, when the proxy names it),
 * offsets that do not strictly increase, or a key/value that is not strict base64. Delivering part of such
 * an answer could hand garbage bytes to a sink or move a checkpoint wrongly, so the whole fetch fails.
 * Older proxies (and Redpanda) return whole compressed batches, so earlier offsets are dropped here
 * (protocol doc §2.4); unknown fields are ignored. `rawCount` is how many records the proxy sent, before
 * that filtering.
 */
export const parseFetchRecords = (
  body: string,
  fromOffset: number,
  expected: { readonly topic: string; readonly partition: number },
): { readonly records: FetchedRecord[]; readonly rawCount: number } | undefined => {
  const parsed = parseJson(body);
  if (!Array.isArray(parsed)) return undefined;
  const records: FetchedRecord[] = [];
  let previous = -1;
  for (const item of parsed as unknown[]) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { key, value, partition, offset, topic, headers } = item as Record<string, unknown>;
    if (!isOffset(offset) || partition !== expected.partition) return undefined;
    if (topic !== undefined && topic !== null && topic !== expected.topic) return undefined;
    if (!isBase64OrNull(key) || !isBase64OrNull(value)) return undefined;
    const recordHeaders = parseRecordHeaders(headers);
    if (recordHeaders === null) return undefined;
    if (offset < fromOffset) continue;
    // A repeated or backward offset means the proxy lost track of the position: trusting it would deliver
    // records twice or out of order, and move the checkpoint backwards.
    if (offset <= previous) return undefined;
    previous = offset;
    const record: FetchedRecord = {
      partition,
      offset,
      key: typeof key === 'string' ? Buffer.from(key, 'base64') : null,
      value: typeof value === 'string' ? Buffer.from(value, 'base64') : null,
    };
    records.push(recordHeaders === undefined ? record : { ...record, headers: recordHeaders });
  }
  return { records, rawCount: parsed.length };
};

/**
 * Strimzi's record headers `[{"key": name, "value": base64}]` (protocol doc §9): undefined when there are
 * none, null when they are not that shape (the answer cannot be trusted whole then).
 */
const parseRecordHeaders = (headers: unknown): FetchedHeader[] | undefined | null => {
  if (headers === undefined || headers === null) return undefined;
  if (!Array.isArray(headers)) return null;
  if (headers.length === 0) return undefined;
  const out: FetchedHeader[] = [];
  for (const header of headers as unknown[]) {
    const { key, value } = (header ?? {}) as Record<string, unknown>;
    if (typeof key !== 'string' || !isBase64OrNull(value)) return null;
    out.push({ name: key, value: typeof value === 'string' ? Buffer.from(value, 'base64') : null });
  }
  return out;
};

/** A Kafka offset (or partition) as JSON can carry it exactly: an integer ≥ 0. */
export const isOffset = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

// Strict RFC 4648 §4: the standard alphabet, whole 4-character quanta, `=` padding only at the end (the
// length check rules out `aGVsbG8==`). `Buffer.from(…, 'base64')` would skip any other character silently.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const isStrictBase64 = (text: string): boolean => text.length % 4 === 0 && BASE64.test(text);

const isBase64OrNull = (value: unknown): value is string | null | undefined =>
  value === null || value === undefined || (typeof value === 'string' && isStrictBase64(value));

/** `GET /topics`: topic names. */
export const parseTopics = (body: string): string[] | undefined => {
  const parsed = parseJson(body);
  if (!Array.isArray(parsed) || !parsed.every((name) => typeof name === 'string')) return undefined;
  return parsed as string[];
};

/** `GET /topics/{t}/partitions`: partitions, in the proxy's order (not guaranteed: sort them after). */
export const parsePartitions = (body: string): PartitionInfo[] | undefined => {
  const parsed = parseJson(body);
  if (!Array.isArray(parsed)) return undefined;
  const partitions: PartitionInfo[] = [];
  for (const item of parsed as unknown[]) {
    const { partition, leader, replicas } = (item ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(partition)) return undefined;
    const list = Array.isArray(replicas) ? (replicas as Record<string, unknown>[]) : [];
    partitions.push({
      partition: partition as number,
      leader: typeof leader === 'number' ? leader : -1,
      replicas: list.map((replica) => ({
        broker: typeof replica?.broker === 'number' ? replica.broker : -1,
        leader: replica?.leader === true,
        inSync: replica?.in_sync === true,
      })),
    });
  }
  return partitions;
};

/**
 * `error_code` of an error answer. Bodies are not always the JSON envelope: 406 has none, an old 400 is
 * plain text, IBM's gateway and admin API use `errorCode` (protocol doc §1, §5).
 */
export const parseErrorCode = (body: string): number | null => {
  if (body.length === 0 || body.charCodeAt(0) !== 0x7b /* { */) return null;
  const parsed = parseJson(body) as { error_code?: unknown; errorCode?: unknown } | undefined;
  const code = parsed?.error_code ?? parsed?.errorCode;
  return typeof code === 'number' && Number.isSafeInteger(code) ? code : null;
};

/** `message` of an error envelope, if any. */
export const parseErrorMessage = (body: string): string | undefined => {
  const message = (parseJson(body) as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
};

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};

/** v1, binary embedded (protocol doc §1–§5). */
export const createV1Wire = (settings: WireSettings): WireFormat =>
  createBinaryWire('v1', settings, V1_MEDIA);
