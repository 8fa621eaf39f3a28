import type { LogHeader } from './log-store.js';
import { base64DecodedLength } from './produce-request.js';

/**
 * One v3 produce record (protocol doc §7), checked the way the proxy checks it before producing: anything
 * wrong with the record itself is a per-record 400 in the delivery-report stream, never a request error.
 */

export interface V3Data {
  /** As the report echoes it. */
  readonly type: 'BINARY' | 'JSON' | 'STRING';
  /** The bytes as base64 (the log keeps base64), or null. */
  readonly b64: string | null;
  readonly size: number;
}

export interface V3Record {
  readonly partition: number | null;
  readonly key: V3Data | null;
  readonly value: V3Data | null;
  /** Epoch ms, when the record names one. */
  readonly timestampMs: number | undefined;
  /** In request order, repeated names kept, an absent value as null; empty when the record has none. */
  readonly headers: readonly LogHeader[];
  /** Decoded key + value + header names and values: what counts against `maxRecordBytes`. */
  readonly bytes: number;
}

export type V3RecordParse =
  | { readonly ok: true; readonly record: V3Record }
  | { readonly ok: false; readonly errorCode: number; readonly message: string };

const RECORD_FIELDS: ReadonlySet<string> = new Set(['partition_id', 'headers', 'key', 'value', 'timestamp']);
const DATA_FIELDS: ReadonlySet<string> = new Set([
  'type',
  'data',
  'subject',
  'subject_name_strategy',
  'schema_id',
  'schema_version',
  'schema',
]);
const SCHEMA_SELECTORS = [
  'subject',
  'subject_name_strategy',
  'schema_id',
  'schema_version',
  'schema',
] as const;
const SCHEMA_TYPES: ReadonlySet<string> = new Set(['AVRO', 'JSONSCHEMA', 'PROTOBUF']);
const INT32_MAX = 2 ** 31 - 1;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const badRecord = (message: string): V3RecordParse => ({ ok: false, errorCode: 400, message });

const parseData = (name: 'key' | 'value', raw: unknown): V3Data | null | string => {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) return `${name} must be an object like {"type":"BINARY","data":"<base64>"}`;
  for (const field of Object.keys(raw)) {
    if (!DATA_FIELDS.has(field)) return `Unrecognized field "${field}" in ${name}`;
  }
  const type = raw.type;
  if (type === undefined || type === null) {
    // Without a type the proxy looks up the topic's latest schema, and this server has no schema registry.
    return `${name} has no type and this server has no schema registry to look up the topic's latest schema; send "type":"BINARY"`;
  }
  if (typeof type !== 'string') return `${name}.type must be a string`;
  if (SCHEMA_TYPES.has(type))
    return `${name}.type ${type} needs a schema registry, which this server does not have`;
  if (type !== 'BINARY' && type !== 'JSON' && type !== 'STRING')
    return `${name}.type ${type} is not a known type`;
  for (const selector of SCHEMA_SELECTORS) {
    if (raw[selector] !== undefined && raw[selector] !== null) {
      return `${name}.${selector} cannot be used with type ${type}`;
    }
  }
  const data = raw.data;
  if (type === 'BINARY') {
    if (data === undefined || data === null) return null;
    if (typeof data !== 'string') return `${name}.data must be a base64 string`;
    const size = base64DecodedLength(data);
    if (size < 0) return `${name}.data is not valid base64`;
    return { type, b64: data, size };
  }
  if (type === 'STRING') {
    if (data === undefined || data === null) return null;
    if (typeof data !== 'string') return `${name}.data must be a string`;
    const bytes = Buffer.from(data, 'utf8');
    return { type, b64: bytes.toString('base64'), size: bytes.length };
  }
  // JSON: the data is any JSON value, written as its serialisation (a JSON null is the text `null`).
  if (data === undefined) return null;
  const bytes = Buffer.from(JSON.stringify(data), 'utf8');
  return { type, b64: bytes.toString('base64'), size: bytes.length };
};

/** Parses one value of the stream (its text). Never throws. */
export const parseV3Record = (text: string): V3RecordParse => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return badRecord(`Payload error. Malformed JSON: ${(error as Error).message}`);
  }
  if (!isObject(raw)) return badRecord('Payload error. Each record must be a JSON object.');
  for (const field of Object.keys(raw)) {
    if (!RECORD_FIELDS.has(field)) return badRecord(`Unrecognized field "${field}"`);
  }
  let partition: number | null = null;
  if (raw.partition_id !== undefined && raw.partition_id !== null) {
    if (!Number.isInteger(raw.partition_id) || Math.abs(raw.partition_id as number) > INT32_MAX) {
      return badRecord('partition_id must be an integer');
    }
    partition = raw.partition_id as number;
  }
  let bytes = 0;
  const headers: LogHeader[] = [];
  if (raw.headers !== undefined && raw.headers !== null) {
    if (!Array.isArray(raw.headers)) return badRecord('headers must be a list of {"name","value"}');
    for (const header of raw.headers) {
      if (!isObject(header) || typeof header.name !== 'string') {
        return badRecord('each header must be {"name":<string>,"value":<base64>|null}');
      }
      for (const field of Object.keys(header)) {
        if (field !== 'name' && field !== 'value')
          return badRecord(`Unrecognized field "${field}" in a header`);
      }
      bytes += Buffer.byteLength(header.name);
      let value: string | null = null;
      if (header.value !== undefined && header.value !== null) {
        const size = typeof header.value === 'string' ? base64DecodedLength(header.value) : -1;
        if (size < 0) return badRecord(`header ${JSON.stringify(header.name)} value is not valid base64`);
        bytes += size;
        value = header.value as string;
      }
      headers.push({ name: header.name, value });
    }
  }
  const key = parseData('key', raw.key);
  if (typeof key === 'string') return badRecord(key);
  const value = parseData('value', raw.value);
  if (typeof value === 'string') return badRecord(value);
  let timestampMs: number | undefined;
  if (raw.timestamp !== undefined && raw.timestamp !== null) {
    timestampMs = typeof raw.timestamp === 'string' ? Date.parse(raw.timestamp) : Number.NaN;
    if (!Number.isFinite(timestampMs)) return badRecord('timestamp must be an ISO-8601 date-time');
  }
  bytes += (key?.size ?? 0) + (value?.size ?? 0);
  return { ok: true, record: { partition, key, value, timestampMs, headers, bytes } };
};

/** The success delivery report, in the proxy's field order; absent key or value objects are left out. */
export const v3SuccessReport = (
  clusterId: string,
  topic: string,
  partition: number,
  offset: number,
  timestampMs: number,
  record: V3Record,
): string => {
  let out = `{"error_code":200,"cluster_id":${JSON.stringify(clusterId)},"topic_name":${JSON.stringify(topic)},"partition_id":${partition},"offset":${offset},"timestamp":"${new Date(timestampMs).toISOString()}"`;
  if (record.key !== null) out += `,"key":{"type":"${record.key.type}","size":${record.key.size}}`;
  if (record.value !== null) out += `,"value":{"type":"${record.value.type}","size":${record.value.size}}`;
  return `${out}}`;
};

export const v3ErrorReport = (errorCode: number, message: string): string =>
  JSON.stringify({ error_code: errorCode, message });
