import type { KafkaRestDialect, KafkaRestFlavor } from './flavors.js';
import type { PartitionInfo, ProduceRecord } from './types.js';

/** What building a dialect's wire format needs of the client's settings. */
export interface WireSettings {
  /** The base URL's own path prefix, prepended to every path. */
  readonly basePath: string;
  readonly flavor: KafkaRestFlavor;
  readonly v3PathPrefix: string;
  readonly clusterId: string;
}

/**
 * What one dialect's wire format (v1, v2, v3) gives the client: paths, media types, bodies and parsers,
 * with no I/O. The client runs the same retries, auth and per-record mapping over any of them.
 */
export interface WireFormat {
  readonly dialect: KafkaRestDialect;
  readonly produce: ProduceWire;
  /** Topic and partition listing; undefined where the dialect has none this client speaks (v3). */
  readonly metadata: MetadataWire | undefined;
}

export interface ProduceWire {
  path(topic: string): string;
  /** Content-Type and Accept. */
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of a request body around its records. */
  readonly frameBytes: number;
  /** Upper bound of the bytes one record adds to a request body. */
  recordBytes(record: ProduceRecord): number;
  encode(records: readonly ProduceRecord[], indices: readonly number[]): string | Uint8Array;
  /**
   * Why this record cannot be sent in this dialect and flavor at all (headers before v3), or undefined.
   * Such a record fails on its own, without a request.
   */
  refuse(record: ProduceRecord): string | undefined;
  /** Whether an answer with this status carries per-record results. */
  hasRecordResults(status: number): boolean;
  /**
   * One report per record sent, in order, or undefined when the body cannot be matched to the records
   * (not the promised shape, or more results than records).
   */
  parse(body: string, count: number): readonly RecordReport[] | undefined;
  /**
   * The answer is a stream of reports, one per record as each is written (v3), so the part that arrived
   * before a connection broke still acknowledges its records; a v1/v2 answer is one JSON document.
   */
  readonly streamsReports: boolean;
  /** Whether a per-record `error_code` is worth resending the record for. */
  isRetriable(code: unknown): boolean;
  /**
   * Whether a per-record `error_code` means, by the server's own definition, that this record can never be
   * written: only then may a sender be told the record is refused for good.
   */
  isFinal(code: number): boolean;
  /** What a record with no usable result should have had, for `ERR_UPSTREAM_PROTOCOL`. */
  readonly unackedExpected: string;
}

/**
 * - `acked`: written at that position.
 * - `failed`: the proxy says the record was not written, with its code and message.
 * - `unacked`: no error, yet no usable position (or no report at all): it may or may not be written.
 */
export type RecordReport =
  | { readonly kind: 'acked'; readonly partition: number; readonly offset: number }
  | { readonly kind: 'failed'; readonly code: unknown; readonly message: unknown }
  | { readonly kind: 'unacked' };

export interface MetadataWire {
  readonly topicsPath: string;
  partitionsPath(topic: string): string;
  /** Accept. */
  readonly headers: Readonly<Record<string, string>>;
  parseTopics(body: string): string[] | undefined;
  parsePartitions(body: string): PartitionInfo[] | undefined;
}

/** base64 of `bytes`, or of its bytes from `start` to `end`. */
export const toBase64 = (bytes: Uint8Array, start?: number, end?: number): string =>
  (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString(
    'base64',
    start,
    end,
  );
