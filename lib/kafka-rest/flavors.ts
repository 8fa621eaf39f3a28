/**
 * Which Kafka REST API a proxy speaks (protocol doc §0) and whose implementation it is (§4, §6). The
 * dialect picks the wire format; the flavor, the quirks a server bends the protocol with.
 */
export const KAFKA_REST_DIALECTS = ['v1', 'v2', 'v3'] as const;
export type KafkaRestDialect = (typeof KAFKA_REST_DIALECTS)[number];

export const KAFKA_REST_FLAVORS = ['confluent', 'redpanda', 'karapace', 'strimzi'] as const;
export type KafkaRestFlavor = (typeof KAFKA_REST_FLAVORS)[number];

/**
 * How a null value (a tombstone) goes out: `"value":null`, the field left out, or not at all (`refused`:
 * the server cannot write one, so such a record fails alone rather than land as something else).
 */
export type NullValueEncoding = 'null' | 'omitted' | 'refused';

/** The flavors that speak only v2 (no v1 or v3 routes at all): a setting pairing them with another dialect is refused. */
export const V2_ONLY_FLAVORS: ReadonlySet<KafkaRestFlavor> = new Set(['strimzi']);

/**
 * Kafka's own retriable errors: the codes of `org.apache.kafka.common.protocol.Errors` whose exception
 * extends `RetriableException` (directly, or through `InvalidMetadataException` and its subclasses), read
 * from apache/kafka trunk at 1eb7644 (October 2024): corrupt message 2, unknown topic or partition 3,
 * leader not available 5, not leader or follower 6, request timed out 7, replica not available 9, network
 * exception 13, coordinator load in progress 14, coordinator not available 15, not coordinator 16, not
 * enough replicas 19 and after append 20, not controller 41, concurrent transactions 51, storage error 56,
 * fetch session id not found 70, invalid fetch session epoch 71, listener not found 72, fenced leader epoch
 * 74, unknown leader epoch 75, offset not available 78, preferred leader not available 80, eligible leaders
 * not available 83, election not needed 84, unstable offset commit 88, throttling quota exceeded 89,
 * unknown topic id 100, inconsistent topic id 103, fetch session topic id error 106, share session not
 * found 122, invalid share session epoch 123.
 */
export const KAFKA_RETRIABLE_ERROR_CODES: ReadonlySet<number> = new Set([
  2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103,
  106, 122, 123,
]);

export interface FlavorTraits {
  /** Per-record produce `error_code`s (v1/v2) that a resend can fix (protocol doc §4, client policy). */
  readonly retriableRecordCodes: ReadonlySet<number>;
  /**
   * Per-record codes (v1/v2) that the server itself defines as final for the record: a resend of the same
   * record can never succeed. Only these may reach a sender as "refused for good" (a 4xx). A code in
   * neither set is ambiguous (an authorisation failure, an unknown topic, a code the server lumps
   * timeouts into): not resent by the client, but never final either, so a webhook answers 503.
   */
  readonly finalRecordCodes: ReadonlySet<number>;
  /** How a null value (a tombstone) is written, or that it cannot be. */
  readonly nullValue: NullValueEncoding;
  /** Whether v2 produce and read carry record headers (`headers: [{"key","value": base64}]`). */
  readonly recordHeaders: boolean;
  /** Whether a v2 read hands out each record's Kafka timestamp (`timestamp`, epoch ms). */
  readonly recordTimestamps: boolean;
  /** The HTTP status a v1/v2 produce answer has when some records failed, with per-record results. */
  readonly partialFailureStatus: 200 | 500;
}

/**
 * The one place that says how each server bends the protocol (protocol doc §4, §6). v3 produce is
 * Confluent's only, so its per-record codes live with the v3 wire format instead (v3.ts).
 */
export const FLAVOR_TRAITS: Readonly<Record<KafkaRestFlavor, FlavorTraits>> = {
  /**
   * The code sends 50002/50003; the docs (and IBM, which points to them) say 1/2: both are honoured.
   * 50002 and 1 are the server's "non-retriable Kafka error" (a record too large, an invalid record).
   */
  confluent: {
    retriableRecordCodes: new Set([50003, 2]),
    finalRecordCodes: new Set([50002, 1]),
    nullValue: 'null',
    recordHeaders: false,
    recordTimestamps: false,
    partialFailureStatus: 200,
  },
  /**
   * Raw Kafka protocol error numbers, `error_code` only on failure: retriable as Kafka defines it
   * ({@link KAFKA_RETRIABLE_ERROR_CODES}); final only for the record's own faults, message too large 10,
   * record list too large 18 and invalid record 87. A JSON null for a binary key or value is a parse
   * error; an absent one is null (its parser keeps key and value optional), so a tombstone goes without
   * its value field. Early pandaproxy versions wrote an absent value as empty bytes: there a tombstone
   * lands as an empty value.
   */
  redpanda: {
    retriableRecordCodes: KAFKA_RETRIABLE_ERROR_CODES,
    finalRecordCodes: new Set([10, 18, 87]),
    nullValue: 'omitted',
    recordHeaders: false,
    recordTimestamps: false,
    partialFailureStatus: 200,
  },
  /**
   * Codes 1 and 2 (retriable), and HTTP 500 as soon as one record failed. Code 1 is every other failure,
   * per-record timeouts included, so it never proves a record final: no Karapace code is. Tombstones are
   * sent, but older versions store a null value (and key) as empty bytes: a tombstone then lands as an
   * empty value, which compaction does not treat as a delete.
   */
  karapace: {
    retriableRecordCodes: new Set([2]),
    finalRecordCodes: new Set(),
    nullValue: 'null',
    recordHeaders: false,
    recordTimestamps: false,
    partialFailureStatus: 500,
  },
  /**
   * The Strimzi Kafka Bridge (protocol doc §9): always 200, a failed record is `{"error_code","message"}`
   * with an HTTP status for a code. 404 comes only after the producer's metadata wait (`max.block.ms`) ran
   * out: an unknown topic or partition, which may exist later (auto-creation, a topic being created), so
   * not final; not resent here either, since each attempt would wait that long again. 500 is every other
   * failure after Kafka's own producer retried up to `delivery.timeout.ms`: a record too large and a
   * delivery timeout alike, so it proves nothing final, and resending it at once would mostly repeat the
   * timeout. No Strimzi code is final: the caller retries later (a 503, a redelivery), and records over the
   * size limit are refused before sending by `maxRecordBytes`. `value` is required and a binary
   * `"value": null` is stored as the three bytes base64 `null` decodes to, so a tombstone is refused.
   * Record headers are carried both ways.
   */
  strimzi: {
    retriableRecordCodes: new Set(),
    finalRecordCodes: new Set(),
    nullValue: 'refused',
    recordHeaders: true,
    recordTimestamps: true,
    partialFailureStatus: 200,
  },
};

/**
 * Whether the proxy keeps record headers: v3, and v2 on the Strimzi bridge. Where it does, CloudEvents go
 * in binary mode and the trace context as headers; elsewhere a record carries its value and key only.
 */
export const carriesRecordHeaders = (kafka: {
  readonly dialect: KafkaRestDialect;
  readonly flavor: KafkaRestFlavor;
}): boolean =>
  kafka.dialect === 'v3' || (kafka.dialect === 'v2' && FLAVOR_TRAITS[kafka.flavor].recordHeaders);

/**
 * Whether fetched records carry their Kafka timestamps: v2 on the Strimzi bridge only (v1's and Confluent's
 * v2 records have no such field, Redpanda's simple consume neither, and v3 has no consume API).
 */
export const carriesRecordTimestamps = (kafka: {
  readonly dialect: KafkaRestDialect;
  readonly flavor: KafkaRestFlavor;
}): boolean => kafka.dialect === 'v2' && FLAVOR_TRAITS[kafka.flavor].recordTimestamps;
