import { FLAVOR_TRAITS, type NullValueEncoding } from './flavors.js';
import { BINARY_BODY_CLOSE, BINARY_BODY_OPEN, encodedRecordBytes, REQUEST_SIZE } from './request-size.js';
import type { ProduceRecord } from './types.js';
import {
  isOffset,
  type ProduceEntry,
  parsePartitions,
  parseProduceEntries,
  parseTopics,
} from './v1-parse.js';
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

/** Encodes the produce body of the records at `indices` (v1 and v2 share it). */
export type ProduceBodyEncoder<Body> = (
  records: readonly ProduceRecord[],
  indices: readonly number[],
  nullValue?: NullValueEncoding,
  withHeaders?: boolean,
) => Body;

/**
 * The produce request body for the records at `indices`, in the cheaper form for its size (string or
 * bytes, see {@link STRING_BODY_MAX_BYTES}); the same JSON either way.
 */
export const encodeProduceRequestBody: ProduceBodyEncoder<string | Buffer> = (
  records,
  indices,
  nullValue = 'null',
  withHeaders = false,
) => {
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
export const BASE64_SLICE_BYTES = 3 * 16 * 1024;

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
export const encodeProduceBody: ProduceBodyEncoder<string> = (records, indices, ...format) => {
  const [nullValue = 'null', withHeaders = false] = format;
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
export const encodeProduceBodyBytes: ProduceBodyEncoder<Buffer> = (records, indices, ...format) => {
  const [nullValue = 'null', withHeaders = false] = format;
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

/** v1, binary embedded (protocol doc §1–§5). */
export const createV1Wire = (settings: WireSettings): WireFormat =>
  createBinaryWire('v1', settings, V1_MEDIA);
