import type { KafkaRestDialect } from './flavors.js';
import type { ProduceRecord } from './types.js';

/**
 * The client's request-size model, published so that whoever packs records into produce calls (the
 * ingest planner) packs by the same measure as the client splits by: a call packed within
 * `maxRequestBytes` by this model is sent as one request, never re-split. Kept free of the wire formats'
 * code, so a planner bundles only this.
 */
export interface RequestSizeModel {
  /** Bytes of a request body around its records. */
  readonly frameBytes: number;
  /** Upper bound of the bytes one record adds to a request body. */
  recordBytes(record: ProduceRecord): number;
}

/** Bytes of `byteLength` bytes once base64-encoded (with padding): they grow by 4/3. */
export const base64Length = (byteLength: number): number => Math.ceil(byteLength / 3) * 4;

/** v1 and v2: `{"records":[` … `]}`. */
export const BINARY_BODY_OPEN = '{"records":[';
export const BINARY_BODY_CLOSE = ']}';

/**
 * v1 and v2: upper bound of one record's bytes inside the JSON body: base64 grows 4/3, plus field names and
 * a partition (`{"key":"","value":"","partition":2147483647},` and a null's extra letters: 48), and
 * headers where a flavor sends them (a name counted as if every character needed `\u` escaping).
 */
export const encodedRecordBytes = (record: ProduceRecord): number => {
  let bytes = 48 + base64Length(record.key?.byteLength ?? 0) + base64Length(record.value?.byteLength ?? 0);
  if (record.headers !== undefined) {
    bytes += 12;
    for (const header of record.headers) {
      bytes += 24 + header.name.length * 6 + base64Length(header.value?.byteLength ?? 0);
    }
  }
  return bytes;
};

/**
 * v3: upper bound of one record's bytes in the body, one JSON object per record with `"type":"BINARY"`
 * key and value objects (a header name counted as if every char needed \u escaping).
 */
export const encodedV3RecordBytes = (record: ProduceRecord): number => {
  let bytes = 96 + base64Length(record.key?.byteLength ?? 0) + base64Length(record.value?.byteLength ?? 0);
  for (const header of record.headers ?? []) {
    bytes += 32 + header.name.length * 6 + base64Length(header.value?.byteLength ?? 0);
  }
  return bytes;
};

/** v1 and v2: the bytes of a body around its records. */
export const REQUEST_OVERHEAD_BYTES = BINARY_BODY_OPEN.length + BINARY_BODY_CLOSE.length;

const BINARY_REQUEST_SIZE: RequestSizeModel = {
  frameBytes: REQUEST_OVERHEAD_BYTES,
  recordBytes: encodedRecordBytes,
};

/** Per dialect: v1 and v2 share their bodies (protocol doc §6); v3 concatenates objects with no frame. */
export const REQUEST_SIZE: Readonly<Record<KafkaRestDialect, RequestSizeModel>> = {
  v1: BINARY_REQUEST_SIZE,
  v2: BINARY_REQUEST_SIZE,
  v3: { frameBytes: 0, recordBytes: encodedV3RecordBytes },
};
