import type { FetchedHeader, FetchedRecord, PartitionInfo } from './types.js';

/**
 * The Kafka REST v1 answers as pure parsers (v2 keeps the same shapes): each returns `undefined` for a
 * body that is not what the protocol promises, which the caller turns into `ERR_UPSTREAM_PROTOCOL`.
 */

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
    const { key, value, partition, offset, topic, headers, timestamp } = item as Record<string, unknown>;
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
    records.push({
      ...record,
      ...(recordHeaders === undefined ? {} : { headers: recordHeaders }),
      // Strimzi's epoch ms; its -1 (Kafka's NO_TIMESTAMP) is no timestamp at all.
      ...(isOffset(timestamp) ? { timestamp } : {}),
    });
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
