import type { ConsumerApi, ConsumerConfig, TopicPartition } from './consumer-types.js';
import { CONSUMER_ERROR_CODES } from './consumer-types.js';
import { jacksonNumber } from './exchange.js';
import type { Flavor } from './flavors.js';

/**
 * The bodies of the consumer-instance calls, checked as the proxy's Jackson binding and resource methods
 * check them (protocol doc §2.6, §6): each refusal carries the answer it gets.
 */

export type BodyResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly answer: BodyAnswer };
export type BodyAnswer =
  | { readonly status: number; readonly errorCode: number; readonly message: string }
  | { readonly text: string };

export const unprocessable = (message: string): { ok: false; answer: BodyAnswer } => ({
  ok: false,
  answer: { status: 422, errorCode: 422, message },
});

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON body or undefined for an empty one; malformed JSON is rest-utils' plain-text 400 of that era. */
export const parseJsonBody = (body: string): BodyResult<unknown> => {
  if (body.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    return { ok: false, answer: { text: `Unexpected character in JSON body: ${(error as Error).message}` } };
  }
};

/** Jackson coerces numeric strings into int/long fields. */
const toInteger = (raw: unknown, min: number): number | undefined => {
  const n = jacksonNumber(raw);
  return Number.isSafeInteger(n) && n >= min ? n : undefined;
};

export const checkFields = (value: Record<string, unknown>, allowed: readonly string[]): string | undefined =>
  Object.keys(value).find((k) => !allowed.includes(k));

/** `{"<listField>":[{"topic","partition"[,"offset"]}]}`. */
export const parsePartitionList = <WithOffset extends boolean>(
  body: unknown,
  listField: string,
  withOffset: WithOffset,
): BodyResult<(TopicPartition & { offset: number })[]> => {
  if (!isObject(body)) return unprocessable(`${listField} may not be null`);
  const unknown = checkFields(body, [listField]);
  if (unknown !== undefined) return unprocessable(`Unrecognized field: ${unknown}`);
  const list = body[listField];
  if (!Array.isArray(list)) return unprocessable(`${listField} may not be null`);
  const out: (TopicPartition & { offset: number })[] = [];
  const fields = withOffset ? ['topic', 'partition', 'offset'] : ['topic', 'partition'];
  for (const item of list) {
    if (!isObject(item)) return unprocessable(`each of ${listField} must be an object`);
    const extra = checkFields(item, fields);
    if (extra !== undefined) return unprocessable(`Unrecognized field: ${extra}`);
    if (typeof item.topic !== 'string' || item.topic === '') return unprocessable('topic may not be empty');
    const partition = toInteger(item.partition, 0);
    if (partition === undefined || partition > 2 ** 31 - 1) {
      return unprocessable('partition must be an integer >= 0');
    }
    const offset = withOffset ? toInteger(item.offset, 0) : 0;
    if (offset === undefined) return unprocessable('offset must be an integer >= 0');
    out.push({ topic: item.topic, partition, offset });
  }
  return { ok: true, value: out };
};

const V1_CONFIG_FIELDS = ['name', 'id', 'format', 'auto.offset.reset', 'auto.commit.enable'] as const;
const V2_CONFIG_FIELDS = [...V1_CONFIG_FIELDS, 'fetch.min.bytes', 'consumer.request.timeout.ms'] as const;
const RESETS: Readonly<Record<ConsumerApi, readonly string[]>> = {
  v1: ['smallest', 'largest'],
  v2: ['earliest', 'latest', 'none'],
};
const DEFAULT_RESET: Readonly<Record<ConsumerApi, string>> = { v1: 'largest', v2: 'latest' };

const invalidConfig = (message: string): { ok: false; answer: BodyAnswer } => ({
  ok: false,
  answer: {
    status: 422,
    errorCode: CONSUMER_ERROR_CODES.INVALID_CONFIG,
    message: `Invalid consumer configuration: ${message}`,
  },
});

const badRequest = (message: string): { ok: false; answer: BodyAnswer } => ({
  ok: false,
  answer: { status: 400, errorCode: CONSUMER_ERROR_CODES.KAFKA_BAD_REQUEST, message },
});

/**
 * Redpanda's create_consumer takes only what its consumer does (it reads from the earliest offset and never
 * commits by itself), and its parser takes these settings as strings only.
 */
const REDPANDA_REQUIRED_SETTINGS = [
  { field: 'auto.offset.reset', value: 'earliest', message: 'auto.offset must be earliest' },
  { field: 'auto.commit.enable', value: 'false', message: 'auto.commit must be false' },
] as const;

const constraint = (message: string): { ok: false; answer: BodyAnswer } => ({
  ok: false,
  answer: { status: 422, errorCode: CONSUMER_ERROR_CODES.CONSTRAINT_VIOLATION, message },
});

/**
 * The create body of a v1 (§2.6) or v2 (§6) consumer instance; an empty body is allowed and means all
 * defaults. Never throws: a bad body is the answer to send (400 text, 422/422, 422/42204 or 422/40001; on
 * the redpanda flavor, v2 also 400/40002 for a setting its consumer does not support).
 */
export const parseConsumerConfig = (
  api: ConsumerApi,
  body: string,
  flavor: Flavor,
): BodyResult<ConsumerConfig> => {
  const parsed = parseJsonBody(body);
  if (!parsed.ok) return parsed;
  // An empty body or a JSON null is a null entity: every setting takes its default.
  const value = parsed.value ?? {};
  if (!isObject(value))
    return { ok: false, answer: { text: 'Can not deserialize instance of ConsumerInstanceConfig' } };
  const unknown = checkFields(value, api === 'v1' ? V1_CONFIG_FIELDS : V2_CONFIG_FIELDS);
  if (unknown !== undefined) return unprocessable(`Unrecognized field: ${unknown}`);

  const nameOf = (raw: unknown): string | undefined | null =>
    raw === undefined || raw === null
      ? undefined
      : typeof raw === 'string' || typeof raw === 'number'
        ? String(raw)
        : null;
  // `id` is the deprecated spelling and wins over `name` (Confluent's ConsumerInstanceConfig).
  const id = nameOf(value.id);
  const name = nameOf(value.name);
  if (id === null || name === null || id === '' || name === '')
    return unprocessable('name must be a non-empty string');

  const format = value.format ?? 'binary';
  if (
    typeof format !== 'string' ||
    !['binary', 'json', 'avro', 'jsonschema', 'protobuf'].includes(format.toLowerCase())
  ) {
    return unprocessable('Invalid format type.');
  }
  // IBM Message Hub, which this server stands in for, speaks the binary embedded format only.
  if (format.toLowerCase() !== 'binary') {
    return unprocessable(`Unsupported format ${format}: this server speaks the binary embedded format only.`);
  }

  const redpanda = api === 'v2' && flavor === 'redpanda';
  if (redpanda) {
    for (const required of REDPANDA_REQUIRED_SETTINGS) {
      const given = value[required.field];
      if (given !== undefined && given !== null && given !== required.value) {
        return badRequest(required.message);
      }
    }
  }
  const reset = value['auto.offset.reset'] ?? (redpanda ? 'earliest' : DEFAULT_RESET[api]);
  if (typeof reset !== 'string' || !RESETS[api].includes(reset)) {
    return invalidConfig(
      `Invalid value ${String(reset)} for configuration auto.offset.reset: String must be one of: ${RESETS[api].join(', ')}`,
    );
  }
  const commit = value['auto.commit.enable'] ?? 'false';
  if (commit !== 'true' && commit !== 'false' && commit !== true && commit !== false) {
    return invalidConfig(
      `Invalid value ${String(commit)} for configuration auto.commit.enable: Expected value to be either true or false`,
    );
  }
  let requestTimeoutMs: number | undefined;
  if (api === 'v2') {
    for (const field of ['fetch.min.bytes', 'consumer.request.timeout.ms'] as const) {
      const raw = value[field];
      if (raw === undefined || raw === null) continue;
      const n = toInteger(raw, Number.MIN_SAFE_INTEGER);
      if (n === undefined) return invalidConfig(`${field} must be an integer`);
      if (n < 0) return constraint(`${field} must be greater than or equal to 0`);
      if (field === 'consumer.request.timeout.ms') requestTimeoutMs = n;
    }
  }
  return {
    ok: true,
    value: {
      name: id ?? name,
      autoOffsetReset: reset,
      autoCommit: commit === true || commit === 'true',
      requestTimeoutMs,
    },
  };
};
