import type { AppError } from '../core/errors.js';

/**
 * The bridge's view of a Kafka REST proxy, in our terms rather than any one API version's, so that the
 * v1, v2 and v3 dialects can sit behind it without callers changing.
 */
export interface KafkaRest {
  /**
   * Produces `records` to `topic` and answers one result per record, same order and length. Failed
   * retriable records are retried (only those, with backoff) until `deadlineMs`; what is still failing
   * then is reported, never thrown. Throws only for a caller error that no record can survive
   * (`ERR_PAYLOAD_INVALID`, e.g. an empty list, a bad topic name or a negative partition;
   * `ERR_PAYLOAD_TOO_LARGE` for a record over the configured size limit). An answer larger than its records
   * can explain (≈1 KiB each) fails them with `ERR_UPSTREAM_PROTOCOL`, unread. A record the dialect or flavor
   * cannot carry (headers on v1 and on v2 but Strimzi, a tombstone on Strimzi) fails alone with
   * `ERR_PAYLOAD_INVALID`, without being sent.
   */
  produce(topic: string, records: readonly ProduceRecord[], options: CallOptions): Promise<ProduceResult[]>;

  /**
   * Reads up to `maxRecords` records of one partition starting at `offset`, in offset order. Records
   * below `offset` (whole compressed batches on some servers) are already dropped. `[]` means caught up.
   * Throws `OffsetOutOfRangeError` (`ERR_OFFSET_OUT_OF_RANGE`) when `offset` is outside the log, and an
   * `UpstreamError` when the proxy fails past the retry budget (`ERR_DEADLINE` when the deadline passed
   * first); `ERR_PAYLOAD_INVALID` for a bad topic name, partition, offset or `maxRecords`;
   * `ERR_UPSTREAM_PROTOCOL` (retriable) for an answer that cannot be trusted whole (bad base64, offsets not
   * increasing, another partition) or is larger than `fetchBudgetBytes`; `ERR_UPSTREAM_PROTOCOL` not
   * retriable when no read within that budget reaches past `offset` (a v1 or Redpanda proxy answering from
   * the start of a batch too large for it): never `[]` while records past `offset` may exist. v2 reads through a consumer instance kept per partition until
   * `endFetch`/`close`, and its out-of-range errors say which side; Redpanda through its stateless simple
   * consume, whose byte-bounded reads are kept for the next fetch until `endFetch`; v3 has no consume
   * API: `ERR_CONFIG`.
   */
  fetch(topic: string, partition: number, offset: number, options: FetchOptions): Promise<FetchedRecord[]>;

  /**
   * Log start (earliest readable offset) and end (next offset to be written) of one partition.
   *
   * v1 (and Redpanda) has no offsets endpoint, so the client probes with one-record reads that never
   * wait (protocol doc §2.5): offset 0
   * first (a new or re-created topic starts there), then exponential and binary search, around `near` when
   * given. Probing cannot resolve one case: offset 0 is below the log start (retention) and the remaining
   * log [start, end] is narrower than the gaps between probes at its distance from `near` (e.g. a log
   * emptied by retention far from the checkpoint): an answer of "outside" does not say on which side.
   * That throws `OffsetOutOfRangeError` (`ERR_OFFSET_OUT_OF_RANGE`); apply the reset policy without bounds.
   * Other v2 servers answer `GET /topics/{t}/partitions/{p}/offsets` instead (one request, exact; `near`
   * is unused).
   * Also throws `UpstreamError` as `fetch` does, and `ERR_CONFIG` on v3.
   */
  logBounds(topic: string, partition: number, options: LogBoundsOptions): Promise<LogBounds>;

  /**
   * True when `logBounds` costs one exact request (v2 `…/offsets`), so a caller can afford it just for a lag figure;
   * false when it probes (v1, Redpanda: a dozen reads or more) or cannot answer (v3).
   */
  readonly exactLogBounds: boolean;

  /**
   * Ends the reading of one partition: frees what the client holds on the proxy for it (the v2 consumer
   * instance; nothing on v1 and v3), so a run can leave nothing behind however it ends. A later `fetch`
   * starts afresh. Never throws: a failed delete is logged, and the proxy expires idle instances itself.
   * `close()` does this for every partition.
   */
  endFetch(topic: string, partition: number, options: CallOptions): Promise<void>;

  /** Topic names, sorted. Throws `ERR_CONFIG` on v3, which has no API this client lists topics with. */
  listTopics(options: CallOptions): Promise<string[]>;

  /**
   * Partitions of a topic, sorted by partition number. Throws `ERR_UPSTREAM_STATUS` (404) for an unknown
   * topic, and `ERR_CONFIG` on v3.
   */
  listPartitions(topic: string, options: CallOptions): Promise<PartitionInfo[]>;

  /** Deletes the consumer instances still held (v2, best effort), then closes the connection pool. Idempotent. */
  close(): Promise<void>;
}

/** Counters of one client instance (never module state), for metrics and for tests. */
export interface KafkaRestStats {
  /** HTTP requests sent (every attempt counts). */
  readonly requests: number;
  /** Requests that were retries of an earlier attempt (backoff, Retry-After, or after an auth refresh). */
  readonly retries: number;
  /**
   * Produce requests resent after an AMBIGUOUS failure (a timeout or a connection dropped after the
   * request was sent): the records may have been written already, so each such resend can duplicate.
   */
  readonly ambiguousResends: number;
  /**
   * Records carried by those ambiguous resends, plus records reported failed although the proxy may have
   * written them (a 2xx answer with no usable result for them): an upper bound on the duplicates that
   * resends, here or by the caller, may make.
   */
  readonly possibleDuplicates: number;
  /** Credential refreshes triggered by a 401/403. */
  readonly authRefreshes: number;
}

/** What `createKafkaRest` and `createKafkaRestProducer` return: the dialect-neutral interface plus counters. */
export interface KafkaRestClient extends KafkaRest {
  stats(): KafkaRestStats;
}

export interface CallOptions {
  /** Absolute time (epoch ms, same clock as the client's `now`) by which the call must have settled. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

export interface FetchOptions extends CallOptions {
  readonly maxRecords: number;
}

export interface LogBoundsOptions extends CallOptions {
  /** An offset believed to be near the log (the checkpoint): where v1 probing starts. */
  readonly near?: number;
}

export interface ProduceRecord {
  /** Raw key bytes; null or absent: no key (the proxy's partitioner picks). */
  readonly key?: Uint8Array | null;
  /** Raw value bytes; null: a tombstone. */
  readonly value: Uint8Array | null;
  /** Explicit partition; absent: partitioner. */
  readonly partition?: number;
  /**
   * Kafka record headers, in order (a name may repeat). The v3 dialect and v2 on Strimzi carry them (Strimzi
   * needs a value in each); elsewhere a record with headers fails (`ERR_PAYLOAD_INVALID`) rather than lose them.
   */
  readonly headers?: readonly ProduceHeader[];
}

export interface ProduceHeader {
  readonly name: string;
  /** Raw bytes; null: a header with no value. */
  readonly value: Uint8Array | null;
}

export type ProduceResult = ProduceSuccess | ProduceFailure;

export interface ProduceSuccess {
  readonly ok: true;
  readonly partition: number;
  readonly offset: number;
}

export interface ProduceFailure {
  readonly ok: false;
  /** Why, with `retriable` telling whether a later attempt (another invocation) can succeed. */
  readonly error: AppError;
}

export interface FetchedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The record's headers, in order, where the server hands them out (Strimzi); absent when none. */
  readonly headers?: readonly FetchedHeader[];
  /**
   * The record's Kafka timestamp (epoch ms), where the server hands it out (Strimzi); absent otherwise,
   * and for a record written without one (Kafka's `NO_TIMESTAMP`, -1).
   */
  readonly timestamp?: number;
}

export interface FetchedHeader {
  readonly name: string;
  readonly value: Buffer | null;
}

export interface LogBounds {
  /** Earliest offset still readable. */
  readonly start: number;
  /** Next offset to be written (high watermark). */
  readonly end: number;
}

export interface PartitionInfo {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly {
    readonly broker: number;
    readonly leader: boolean;
    readonly inSync: boolean;
  }[];
}
