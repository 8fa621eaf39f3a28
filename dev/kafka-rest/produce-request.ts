import { jacksonNumber } from './exchange.js';
import type { Flavor } from './flavors.js';

/**
 * Parsing and validation of a v1 binary produce body, in the order Confluent's stack applies them
 * (protocol doc §1, §2.3): Jackson first (400 for malformed JSON or a wrong type, 422 for an unknown
 * field or bad base64, whichever comes first in document order), then bean validation (422 for
 * missing or empty `records`).
 */

export interface ParsedRecord {
  /** Base64 exactly as sent (already checked), or null for no key. */
  readonly key: string | null;
  /** Base64 exactly as sent, or null for a tombstone. */
  readonly value: string | null;
  /** Explicit partition (topic endpoint only); not range-checked here. */
  readonly partition: number | null;
  /** Decoded key + value size. */
  readonly bytes: number;
}

/** A request-level rejection: the JSON envelope, or rest-utils' old plain-text 400. */
export type BodyError =
  | {
      readonly kind: 'envelope';
      readonly status: number;
      readonly errorCode: number;
      readonly message: string;
    }
  | { readonly kind: 'text'; readonly status: 400; readonly text: string };

export type ParseProduceResult =
  | { readonly ok: true; readonly records: readonly ParsedRecord[] }
  | { readonly ok: false; readonly error: BodyError };

const TOP_LEVEL_FIELDS: ReadonlySet<string> = new Set([
  'records',
  'key_schema',
  'key_schema_id',
  'value_schema',
  'value_schema_id',
]);

// Strict RFC 4648: full quanta, padding only at the end, at most two `=` (so `aGVsbG8==` fails).
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decoded length of strict padded base64, or -1 when `text` is not that. */
export const base64DecodedLength = (text: string): number => {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return -1;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
};

const unprocessable = (message: string): ParseProduceResult => ({
  ok: false,
  error: { kind: 'envelope', status: 422, errorCode: 422, message },
});

const badRequest = (text: string): ParseProduceResult => ({
  ok: false,
  error: { kind: 'text', status: 400, text },
});

const jsonKind = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'START_ARRAY'
      : typeof value === 'object'
        ? 'START_OBJECT'
        : typeof value;

/** Jackson coerces scalars into a String field; only objects and arrays are mapping errors. */
const toBinaryField = (value: unknown): string | null | undefined => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
};

const INT32_MAX = 2 ** 31 - 1;

const toPartitionField = (value: unknown): number | null | undefined => {
  if (value === null) return null;
  const n = jacksonNumber(value);
  return Number.isInteger(n) && n >= -INT32_MAX - 1 && n <= INT32_MAX ? n : undefined;
};

/**
 * Parses `body` for `POST /topics/{t}` (`allowPartition`) or `POST /topics/{t}/partitions/{p}` (a
 * `partition` field there is an unknown field, 422). `flavor` picks the v2 parser of Redpanda or Karapace
 * (§6); absent or `'confluent'`, Confluent's (v1, and v2 with `allowPartition` on both endpoints). Never throws.
 */
export const parseProduceBody = (
  body: string,
  allowPartition: boolean,
  flavor: Flavor = 'confluent',
): ParseProduceResult => {
  if (flavor === 'redpanda') return parseRedpanda(body);
  if (flavor === 'karapace') return parseKarapace(body);
  if (body.trim() === '') return badRequest('No content to map due to end-of-input');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return badRequest(`Unexpected character in JSON body: ${(error as Error).message}`);
  }
  // `null` is a null entity: nothing to deserialise, so only the @NotEmpty on `records` speaks.
  if (parsed === null) return unprocessable('records may not be empty');
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    return badRequest(`Can not deserialize instance of ProduceRequest out of ${jsonKind(parsed)} token`);
  }

  let records: ParsedRecord[] | undefined;
  for (const [field, value] of Object.entries(parsed)) {
    if (!TOP_LEVEL_FIELDS.has(field)) return unprocessable(`Unrecognized field: ${field}`);
    if (field === 'records') {
      if (value === null) continue;
      if (!Array.isArray(value))
        return badRequest(
          `Can not deserialize instance of java.util.ArrayList out of ${jsonKind(value)} token`,
        );
      const result = parseRecords(value, allowPartition);
      if (!result.ok) return result;
      records = result.records as ParsedRecord[];
    } else if (field.endsWith('_schema_id')) {
      if (value !== null && !Number.isInteger(value))
        return badRequest(`Can not deserialize value of type java.lang.Integer for field ${field}`);
    } else if (value !== null && typeof value === 'object') {
      return badRequest(`Can not deserialize instance of java.lang.String out of ${jsonKind(value)} token`);
    }
  }
  if (records === undefined || records.length === 0) return unprocessable('records may not be empty');
  return { ok: true, records };
};

const parseRecords = (items: readonly unknown[], allowPartition: boolean): ParseProduceResult => {
  const records: ParsedRecord[] = new Array(items.length);
  for (const [i, item] of items.entries()) {
    // A null element reaches the producer as null and blows up there: Confluent answers a plain 500.
    if (item === null)
      return {
        ok: false,
        error: { kind: 'envelope', status: 500, errorCode: 500, message: 'Internal Server Error' },
      };
    if (typeof item !== 'object' || Array.isArray(item)) {
      return badRequest(`Can not deserialize instance of ProduceRecord out of ${jsonKind(item)} token`);
    }
    let key: string | null = null;
    let value: string | null = null;
    let partition: number | null = null;
    for (const [field, raw] of Object.entries(item)) {
      if (field === 'key' || field === 'value') {
        const text = toBinaryField(raw);
        if (text === undefined)
          return badRequest(`Can not deserialize instance of java.lang.String out of ${jsonKind(raw)} token`);
        if (field === 'key') key = text;
        else value = text;
      } else if (field === 'partition' && allowPartition) {
        const p = toPartitionField(raw);
        if (p === undefined)
          return badRequest('Can not deserialize value of type java.lang.Integer for field partition');
        partition = p;
      } else {
        return unprocessable(`Unrecognized field: ${field}`);
      }
    }
    // The record's constructor decodes key, then value, once all its fields are read.
    const keyBytes = key === null ? 0 : base64DecodedLength(key);
    if (keyBytes < 0) return unprocessable('Record key contains invalid base64 encoding');
    const valueBytes = value === null ? 0 : base64DecodedLength(value);
    if (valueBytes < 0) return unprocessable('Record value contains invalid base64 encoding');
    records[i] = { key, value, partition, bytes: keyBytes + valueBytes };
  }
  return { ok: true, records };
};

const parseJson = (body: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const redpandaParseError = (why: string): ParseProduceResult =>
  unprocessable(`Invalid produce request: ${why}`);

/**
 * Redpanda's pandaproxy parses with a strict SAX handler: only `records[].{key,value,partition}`, binary
 * fields must be base64 strings (a JSON `null` is a parse error, so absent keys are omitted), and every
 * parse error is 422/422. An empty `records` list is not an error there: it produces nothing.
 */
const parseRedpanda = (body: string): ParseProduceResult => {
  const parsed = parseJson(body);
  if (!parsed.ok) return redpandaParseError('malformed JSON');
  if (!isPlainObject(parsed.value)) return redpandaParseError('the body must be an object');
  const records: ParsedRecord[] = [];
  for (const [field, value] of Object.entries(parsed.value)) {
    if (field !== 'records') return redpandaParseError(`unexpected field ${JSON.stringify(field)}`);
    if (!Array.isArray(value)) return redpandaParseError('records must be an array');
    for (const item of value) {
      if (!isPlainObject(item)) return redpandaParseError('each record must be an object');
      let key: string | null = null;
      let value: string | null = null;
      let partition: number | null = null;
      let bytes = 0;
      for (const [name, raw] of Object.entries(item)) {
        if (name === 'key' || name === 'value') {
          if (typeof raw !== 'string') {
            return redpandaParseError(
              `${name} must be a base64 string (${raw === null ? 'null' : typeof raw})`,
            );
          }
          const length = base64DecodedLength(raw);
          if (length < 0) return redpandaParseError(`${name} is not valid base64`);
          bytes += length;
          if (name === 'key') key = raw;
          else value = raw;
        } else if (name === 'partition') {
          if (!Number.isInteger(raw) || (raw as number) > INT32_MAX) {
            return redpandaParseError('partition must be an integer');
          }
          partition = raw as number;
        } else {
          return redpandaParseError(`unexpected field ${JSON.stringify(name)}`);
        }
      }
      records.push({ key, value, partition, bytes });
    }
  }
  return { ok: true, records };
};

const KARAPACE_TOP_LEVEL: ReadonlySet<string> = TOP_LEVEL_FIELDS;
const KARAPACE_RECORD_FIELDS: ReadonlySet<string> = new Set(['key', 'value', 'partition']);

/**
 * Karapace checks the shape by hand: unknown keys or a missing/empty `records` list are 422/422 "Invalid
 * request format", malformed JSON is 400 in the JSON envelope. Its `_prepare_records` keeps a missing or
 * null key as no key, and serialises a missing, null or empty value as empty bytes (`if not obj: return
 * b""`), so nothing Karapace writes is a tombstone (older versions wrote empty bytes for a null key too).
 */
const parseKarapace = (body: string): ParseProduceResult => {
  const parsed = parseJson(body);
  if (!parsed.ok) {
    return { ok: false, error: { kind: 'envelope', status: 400, errorCode: 400, message: 'Invalid JSON' } };
  }
  const invalid = unprocessable('Invalid request format');
  const data = parsed.value;
  if (!isPlainObject(data)) return invalid;
  if (Object.keys(data).some((k) => !KARAPACE_TOP_LEVEL.has(k))) return invalid;
  const items = data.records;
  if (!Array.isArray(items) || items.length === 0) return invalid;
  const records: ParsedRecord[] = [];
  for (const item of items) {
    if (!isPlainObject(item) || Object.keys(item).some((k) => !KARAPACE_RECORD_FIELDS.has(k))) return invalid;
    const partition =
      item.partition === undefined || item.partition === null ? null : toPartitionField(item.partition);
    if (partition === undefined) return invalid;
    let bytes = 0;
    const binary = (raw: unknown, name: string): string | ParseProduceResult => {
      if (raw === undefined || raw === null || raw === '') return '';
      if (typeof raw !== 'string') return invalid;
      const length = base64DecodedLength(raw);
      if (length < 0) return unprocessable(`Record ${name} contains invalid base64 encoding`);
      bytes += length;
      return raw;
    };
    const key = item.key === undefined || item.key === null ? null : binary(item.key, 'key');
    if (key !== null && typeof key !== 'string') return key;
    const value = binary(item.value, 'value');
    if (typeof value !== 'string') return value;
    records.push({ key, value, partition, bytes });
  }
  return { ok: true, records };
};
