import { REQUEST_SIZE } from './request-size.js';
import type { ProduceRecord } from './types.js';
import { isOffset } from './v1-parse.js';
import { type RecordReport, toBase64, type WireFormat, type WireSettings } from './wire.js';

/**
 * The Kafka REST v3 produce wire format (protocol doc §7): one JSON object per record, concatenated in one
 * request, answered by HTTP 200 and then one delivery report per record, in request order. v3 has no
 * consume API, so this wire has no reading side and no metadata this client speaks.
 */
export const V3_MEDIA = {
  /** Anything else is 415 (protocol doc §7). */
  contentType: 'application/json',
  accept: 'application/json',
} as const;

/** `{prefix}/v3/clusters/{id}/topics/{t}/records`; the prefix is `/kafka` on Confluent Cloud and Server. */
export const v3RecordsPath = (basePath: string, prefix: string, clusterId: string, topic: string): string =>
  `${basePath}${prefix}/v3/clusters/${encodeURIComponent(clusterId)}/topics/${topic}/records`;

/**
 * Per-record codes worth resending (protocol doc §7): 429 (rate limit), 408 (stream open too long), 50003
 * (retriable Kafka error) and the other 5xx. Final: 400 (bad base64, schema fields), 413 (too large),
 * 401xx/403xx, 404xx and 50002 (non-retriable Kafka error).
 */
export const isRetriableV3Code = (code: unknown): boolean => {
  if (typeof code !== 'number' || code === 50002) return false;
  // Five-digit codes carry their HTTP status in the first three digits (protocol doc §1): 42901 is a 429.
  const status = code >= 10_000 ? Math.floor(code / 100) : code;
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
};

/**
 * v3 delivery reports carry HTTP-like codes (protocol doc §7): final are the record's own faults, 400 (bad
 * base64, conflicting schema fields), 413 (too large), 422 and its 422xx codes (schema, serialization),
 * and 50002 (Kafka's non-retriable error). Unknown topics, auth failures and the rest are not final.
 */
export const isFinalV3RecordCode = (code: number): boolean => {
  const status = code >= 10_000 ? Math.floor(code / 100) : code;
  return code === 50002 || status === 400 || status === 413 || status === 422;
};

export const createV3Wire = ({ basePath, v3PathPrefix: prefix, clusterId }: WireSettings): WireFormat => ({
  dialect: 'v3',
  metadata: undefined,
  produce: {
    path: (topic) => v3RecordsPath(basePath, prefix, clusterId, topic),
    headers: { 'content-type': V3_MEDIA.contentType, accept: V3_MEDIA.accept },
    frameBytes: REQUEST_SIZE.v3.frameBytes,
    recordBytes: REQUEST_SIZE.v3.recordBytes,
    encode: encodeV3Body,
    refuse: () => undefined,
    // 200 once the stream is set up, even when records fail; request-level errors carry no reports.
    hasRecordResults: (status) => status === 200,
    streamsReports: true,
    parse: parseV3Reports,
    isRetriable: isRetriableV3Code,
    isFinal: isFinalV3RecordCode,
    unackedExpected:
      'a delivery report for every record, with error_code 200 and partition_id and offset ≥ 0',
  },
});

const KEY_OPEN = '"key":{"type":"BINARY","data":"';
const VALUE_OPEN = '"value":{"type":"BINARY","data":"';

/**
 * The records at `indices` as concatenated JSON objects (no array, no commas). `"type":"BINARY"` is always
 * set: without it the proxy looks for the topic's latest schema. A null key or value is left out, which v3
 * reads as null (protocol doc §7).
 */
export const encodeV3Body = (records: readonly ProduceRecord[], indices: readonly number[]): string => {
  let body = '';
  for (const index of indices) {
    const record = records[index];
    if (record === undefined) continue;
    const fields: string[] = [];
    if (record.partition !== undefined) fields.push(`"partition_id":${record.partition}`);
    if (record.headers !== undefined && record.headers.length > 0) {
      const headers = record.headers.map(
        (header) =>
          `{"name":${JSON.stringify(header.name)},"value":${header.value === null ? 'null' : `"${toBase64(header.value)}"`}}`,
      );
      fields.push(`"headers":[${headers.join(',')}]`);
    }
    if (record.key !== undefined && record.key !== null) fields.push(`${KEY_OPEN}${toBase64(record.key)}"}`);
    if (record.value !== null) fields.push(`${VALUE_OPEN}${toBase64(record.value)}"}`);
    body += `{${fields.join(',')}}`;
  }
  return body;
};

/**
 * Delivery reports, one per record, matched in order. Success iff `error_code` is 200 with a usable
 * position. A stream cut short (or a report that is not one) leaves the records from there on `unacked`:
 * the proxy may have written them. More reports than records cannot be matched at all: undefined.
 */
export const parseV3Reports = (body: string, count: number): readonly RecordReport[] | undefined => {
  const { values } = splitJsonObjects(body);
  if (values.length > count) return undefined;
  const reports: RecordReport[] = [];
  for (const text of values) {
    const report = toV3Report(text);
    if (report === undefined) break;
    reports.push(report);
  }
  while (reports.length < count) reports.push({ kind: 'unacked' });
  return reports;
};

const toV3Report = (text: string): RecordReport | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { error_code: code, message, partition_id: partition, offset } = parsed as Record<string, unknown>;
  if (typeof code !== 'number') return undefined;
  if (code !== 200) return { kind: 'failed', code, message };
  return isOffset(partition) && isOffset(offset) ? { kind: 'acked', partition, offset } : { kind: 'unacked' };
};

/**
 * Splits a stream of concatenated JSON objects (separated by `\r\n`, any whitespace, or nothing) into the
 * text of each, finding boundaries by string- and escape-aware brace depth. Stops at the first character
 * that cannot start an object, or at an object the stream cuts off (`complete` false).
 */
export const splitJsonObjects = (text: string): { values: string[]; complete: boolean } => {
  const values: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    if (c !== 0x7b /* { */) return { values, complete: false };
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const d = text.charCodeAt(i);
      if (inString) {
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22 /* " */) inString = false;
      } else if (d === 0x22) inString = true;
      else if (d === 0x7b || d === 0x5b /* [ */) depth++;
      else if (d === 0x7d /* } */ || d === 0x5d /* ] */) {
        depth--;
        if (depth === 0) break;
      }
    }
    if (i >= n) return { values, complete: false };
    i++;
    values.push(text.slice(start, i));
  }
  return { values, complete: true };
};
