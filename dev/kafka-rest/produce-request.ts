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
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^[+-]?\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
  return Number.isInteger(n) && n >= -INT32_MAX - 1 && n <= INT32_MAX ? n : undefined;
};

/**
 * Parses `body` for `POST /topics/{t}` (`allowPartition`) or `POST /topics/{t}/partitions/{p}` (a
 * `partition` field there is an unknown field, 422). Never throws.
 */
export const parseProduceBody = (body: string, allowPartition: boolean): ParseProduceResult => {
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
