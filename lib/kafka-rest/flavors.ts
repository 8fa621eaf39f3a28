/**
 * Which Kafka REST API a proxy speaks (protocol doc §0) and whose implementation it is (§4, §6). The
 * dialect picks the wire format; the flavor, the quirks a server bends the protocol with.
 */
export const KAFKA_REST_DIALECTS = ['v1', 'v2', 'v3'] as const;
export type KafkaRestDialect = (typeof KAFKA_REST_DIALECTS)[number];

export const KAFKA_REST_FLAVORS = ['confluent', 'redpanda', 'karapace'] as const;
export type KafkaRestFlavor = (typeof KAFKA_REST_FLAVORS)[number];

export type NullValueEncoding = 'null' | 'omitted';

export interface FlavorTraits {
  /**
   * Per-record produce `error_code`s (v1/v2) that a resend can fix. Everything else is final: 50002, 1,
   * 10 (too large), 40101, 40301, 422… (protocol doc §4, client policy).
   */
  readonly retriableRecordCodes: ReadonlySet<number>;
  /**
   * How a null value (a tombstone) is written: `"value":null`, or by leaving the field out where the
   * proxy rejects a JSON null but reads an absent value as null.
   */
  readonly nullValue: NullValueEncoding;
  /** The HTTP status a v1/v2 produce answer has when some records failed, with per-record results. */
  readonly partialFailureStatus: 200 | 500;
}

/**
 * The one place that says how each server bends the protocol (protocol doc §4, §6). v3 produce is
 * Confluent's only, so its per-record codes live with the v3 wire format instead.
 */
export const FLAVOR_TRAITS: Readonly<Record<KafkaRestFlavor, FlavorTraits>> = {
  /** The code sends 50002/50003; the docs (and IBM, which points to them) say 1/2: both are honoured. */
  confluent: {
    retriableRecordCodes: new Set([50003, 2]),
    nullValue: 'null',
    partialFailureStatus: 200,
  },
  /**
   * Raw Kafka protocol error numbers, `error_code` only on failure. Retriable, as Kafka's own
   * RetriableException codes: corrupt message, unknown topic or partition, leader not available, not
   * leader, request timed out, network exception, not enough replicas (after append), storage error. A JSON null for a binary key or value is a parse error; an absent one is null (its parser
   * keeps key and value optional), so a tombstone goes without its value field. Early pandaproxy versions
   * wrote an absent value as empty bytes: there a tombstone lands as an empty value.
   */
  redpanda: {
    retriableRecordCodes: new Set([2, 3, 5, 6, 7, 13, 19, 20, 56]),
    nullValue: 'omitted',
    partialFailureStatus: 200,
  },
  /**
   * Codes 1 (final, timeouts included) and 2 (retriable), and HTTP 500 as soon as one record failed.
   * Tombstones are sent, but older versions store a null value (and key) as empty bytes: a tombstone then
   * lands as an empty value, which compaction does not treat as a delete.
   */
  karapace: {
    retriableRecordCodes: new Set([2]),
    nullValue: 'null',
    partialFailureStatus: 500,
  },
};
