/**
 * The servers that speak Kafka REST v2 each bend it a little (protocol doc §4, §6). One flavor is picked
 * per server; it changes v2 only. v1 and v3 stay Confluent's, whatever the flavor, so every v1 suite keeps
 * working against any flavor.
 *
 * v2 endpoints per flavor (a route a flavor lacks is a 404 there):
 * - confluent, karapace: metadata (`/topics…`, `/brokers`), produce,
 *   `GET /topics/{t}/partitions/{p}/offsets`, and consumer instances: create, delete, `subscription`, `assignments`, `positions[/beginning|/end]`,
 *   `records`, `offsets`.
 * - redpanda: what its pandaproxy registers (rest/proxy.cc): metadata, produce, the simple consume
 *   `GET /topics/{t}/partitions/{p}/records?offset&timeout&max_bytes` (whole batches, `simple-consume.ts`),
 *   and consumer instances: create (`auto.offset.reset` earliest and `auto.commit.enable` false only),
 *   delete, `subscription`, `records`, `offsets` (a commit lists `partitions`). No `assignments`, no
 *   `positions`, no partition `offsets`: those answer Seastar's own 404 `{"message":"Not found","code":404}`.
 *
 * - strimzi: the Strimzi Kafka Bridge's own v2-like API alone (protocol doc §9, `strimzi.ts`): no v1, no v3,
 *   no `/brokers`; its errors carry the HTTP status as `error_code`.
 *
 * Produce differs too: request strictness, per-record codes, response shape and status (below).
 */
export const FLAVORS = ['confluent', 'redpanda', 'karapace', 'strimzi'] as const;
export type Flavor = (typeof FLAVORS)[number];

/** Confluent's per-record codes, which the server's faults and limits are written in. */
export const CONFLUENT_RECORD_CODES = {
  KAFKA_ERROR: 50002,
  KAFKA_RETRIABLE_ERROR: 50003,
  UNAUTHORIZED: 40101,
  FORBIDDEN: 40301,
} as const;

/** Why a record failed, so that each flavor can pick its own number for it. */
export const RECORD_FAILURE_REASONS = {
  /** Injected by a `record-errors` fault: the injected code decides. */
  INJECTED: 'injected',
  /** Larger than `maxRecordBytes`. */
  TOO_LARGE: 'too-large',
  /** Unknown topic in `error-per-record` mode (Confluent: the metadata wait ran out). */
  UNKNOWN_TOPIC: 'unknown-topic',
  /** Chaos `recordErrorRate`: a retriable leader change. */
  RETRIABLE: 'retriable',
  /** An explicit partition the topic does not have. */
  UNKNOWN_PARTITION: 'unknown-partition',
} as const;
export type RecordFailureReason = (typeof RECORD_FAILURE_REASONS)[keyof typeof RECORD_FAILURE_REASONS];

/**
 * Kafka protocol error numbers Redpanda reports per record (it passes the broker's code through):
 * 3 UNKNOWN_TOPIC_OR_PARTITION (retriable), 6 NOT_LEADER_OR_FOLLOWER (retriable), 10 MESSAGE_TOO_LARGE,
 * 29 TOPIC_AUTHORIZATION_FAILED, 58 SASL_AUTHENTICATION_FAILED.
 */
export const KAFKA_PROTOCOL_CODES = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  NOT_LEADER_OR_FOLLOWER: 6,
  MESSAGE_TOO_LARGE: 10,
  TOPIC_AUTHORIZATION_FAILED: 29,
  SASL_AUTHENTICATION_FAILED: 58,
} as const;

/** Karapace's two per-record codes: 1 for anything final (timeouts included), 2 for a retriable broker error. */
export const KARAPACE_RECORD_CODES = { NON_RETRIABLE: 1, RETRIABLE: 2 } as const;

/**
 * Strimzi's two per-record codes (HTTP statuses): 404 once the producer's metadata wait ran out (unknown
 * topic or partition), 500 for every other failure Kafka's producer reported.
 */
export const STRIMZI_RECORD_CODES = { NOT_FOUND: 404, KAFKA_ERROR: 500 } as const;

/**
 * The per-record `error_code` a flavor sends for a failure that Confluent would report as `code`.
 *
 * | Confluent code (reason)             | confluent | karapace | redpanda | strimzi |
 * |-------------------------------------|-----------|----------|----------|---------|
 * | 50003 retriable (chaos, injected)   | 50003     | 2        | 6        | 500     |
 * | 50003 unknown topic (per-record)    | 50003     | 2        | 3        | 404     |
 * | 50002 non-retriable (injected)      | 50002     | 1        | 10       | 500     |
 * | 50002 record too large              | 50002     | 1        | 10       | 500     |
 * | 40101 authentication                | 40101     | 1        | 58       | 500     |
 * | 40301 authorisation                 | 40301     | 1        | 29       | 500     |
 * | unknown partition                   | (500)     | (40402)  | 3        | 404     |
 * | any other code, or one below 1000   | as is     | as is    | as is    | as is   |
 *
 * A code below 1000 is taken as already being in the flavor's own numbering (a test that injects Karapace's
 * `2` or Redpanda's `7` gets exactly that).
 */
export const toFlavorRecordCode = (flavor: Flavor, code: number, reason: RecordFailureReason): number => {
  if (flavor === 'confluent' || code < 1000) return code;
  if (flavor === 'strimzi') {
    return reason === RECORD_FAILURE_REASONS.UNKNOWN_TOPIC ||
      reason === RECORD_FAILURE_REASONS.UNKNOWN_PARTITION
      ? STRIMZI_RECORD_CODES.NOT_FOUND
      : STRIMZI_RECORD_CODES.KAFKA_ERROR;
  }
  if (flavor === 'karapace') {
    return code === CONFLUENT_RECORD_CODES.KAFKA_RETRIABLE_ERROR
      ? KARAPACE_RECORD_CODES.RETRIABLE
      : KARAPACE_RECORD_CODES.NON_RETRIABLE;
  }
  if (
    reason === RECORD_FAILURE_REASONS.UNKNOWN_TOPIC ||
    reason === RECORD_FAILURE_REASONS.UNKNOWN_PARTITION
  ) {
    return KAFKA_PROTOCOL_CODES.UNKNOWN_TOPIC_OR_PARTITION;
  }
  switch (code) {
    case CONFLUENT_RECORD_CODES.KAFKA_RETRIABLE_ERROR:
      return KAFKA_PROTOCOL_CODES.NOT_LEADER_OR_FOLLOWER;
    case CONFLUENT_RECORD_CODES.KAFKA_ERROR:
      return KAFKA_PROTOCOL_CODES.MESSAGE_TOO_LARGE;
    case CONFLUENT_RECORD_CODES.UNAUTHORIZED:
      return KAFKA_PROTOCOL_CODES.SASL_AUTHENTICATION_FAILED;
    case CONFLUENT_RECORD_CODES.FORBIDDEN:
      return KAFKA_PROTOCOL_CODES.TOPIC_AUTHORIZATION_FAILED;
    default:
      return code;
  }
};

export type RecordOutcome =
  | { readonly partition: number; readonly offset: number }
  | {
      readonly code: number;
      readonly message: string;
      readonly reason: RecordFailureReason;
      /** Known only for Redpanda's failures, which still name the partition. */
      readonly partition?: number;
    };

/**
 * The v1/v2 ProduceResponse as each flavor writes it, with the HTTP status it comes with:
 * - confluent: explicit nulls and schema ids; 401/403 when any record failed authentication/authorisation
 *   (CP 5.x), otherwise 200 even when every record failed.
 * - karapace: `{"key_schema_id","value_schema_id","offsets"}`, success `{"offset","partition"}`, failure
 *   `{"error_code":1|2,"error"}`; HTTP 500 as soon as one record failed.
 * - redpanda: `{"offsets":[…]}` only; success `{"partition","offset"}`, failure adds the Kafka `error_code`
 *   with `offset` -1; always 200.
 * - strimzi: `{"offsets":[…]}` only; success `{"partition","offset"}`, failure `{"error_code","message"}`;
 *   always 200.
 */
export const renderProduceResponse = (
  flavor: Flavor,
  outcomes: readonly RecordOutcome[],
): { readonly status: number; readonly body: string } => {
  let status = 200;
  const entries: string[] = new Array(outcomes.length);
  for (let i = 0; i < outcomes.length; i++) {
    const r = outcomes[i] as RecordOutcome;
    if (!('code' in r)) {
      entries[i] =
        flavor === 'confluent'
          ? `{"partition":${r.partition},"offset":${r.offset},"error_code":null,"error":null}`
          : flavor === 'karapace'
            ? `{"offset":${r.offset},"partition":${r.partition}}`
            : `{"partition":${r.partition},"offset":${r.offset}}`;
      continue;
    }
    const code = toFlavorRecordCode(flavor, r.code, r.reason);
    if (flavor === 'confluent') {
      entries[i] =
        `{"partition":null,"offset":null,"error_code":${code},"error":${JSON.stringify(r.message)}}`;
      // CP 5.x turns an auth failure on any record into the request's status, keeping the body.
      if (code === CONFLUENT_RECORD_CODES.UNAUTHORIZED) status = 401;
      else if (code === CONFLUENT_RECORD_CODES.FORBIDDEN && status !== 401) status = 403;
    } else if (flavor === 'karapace') {
      entries[i] = `{"error_code":${code},"error":${JSON.stringify(r.message)}}`;
      status = 500;
    } else if (flavor === 'strimzi') {
      entries[i] = `{"error_code":${code},"message":${JSON.stringify(r.message)}}`;
    } else {
      entries[i] = `{"partition":${r.partition ?? 0},"offset":-1,"error_code":${code}}`;
    }
  }
  const offsets = `"offsets":[${entries.join(',')}]`;
  const body =
    flavor === 'confluent'
      ? `{${offsets},"key_schema_id":null,"value_schema_id":null}`
      : flavor === 'karapace'
        ? `{"key_schema_id":null,"value_schema_id":null,${offsets}}`
        : `{${offsets}}`;
  return { status, body };
};
