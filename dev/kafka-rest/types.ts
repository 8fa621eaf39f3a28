import type { IncomingHttpHeaders } from 'node:http';
import type { Flavor } from './flavors.js';

export type { Flavor } from './flavors.js';

/** What `POST /topics/{t}` (and the partition endpoint) does for a topic that does not exist. */
export const UNKNOWN_TOPIC_MODES = ['404', 'auto-create', 'error-per-record'] as const;
export type UnknownTopicMode = (typeof UNKNOWN_TOPIC_MODES)[number];

export interface KafkaRestServerOptions {
  /** Topic name → partition count; default `{ demo: 3 }`. With `dataDir`, topics found there win. */
  readonly topics?: Readonly<Record<string, number>>;
  /**
   * When set, a request needs exactly this `X-Auth-Token` (IBM Message Hub), or `basicAuth` when that is set
   * too: each credential configured is accepted on its own. Without one, 401 / 40101.
   */
  readonly apiKey?: string;
  /**
   * `user:password`: when set, a request needs `Authorization: Basic base64(user:password)` (Confluent Cloud
   * key:secret, Redpanda SCRAM users), or `apiKey` when that is set too. A missing, wrong or malformed header
   * is the same 401 / 40101 as a bad API key.
   */
  readonly basicAuth?: string;
  /**
   * Produce to an unknown topic:
   * - `'404'` (default): 404 / 40401 before anything is written, as Karapace does. Confluent would instead
   *   answer 200 with a retriable error on every record, but only after a 60 s metadata wait. A fast,
   *   explicit answer is the more useful default for tests.
   * - `'auto-create'`: the broker's `auto.create.topics.enable`, with `autoCreatePartitions` partitions.
   * - `'error-per-record'`: Confluent's behaviour without the wait: 200, every record 50003.
   */
  readonly unknownTopic?: UnknownTopicMode;
  /** Partitions of an auto-created topic (Kafka's `num.partitions`); default 1. */
  readonly autoCreatePartitions?: number;
  /** A record whose decoded key + value is larger fails alone with 50002 (RecordTooLargeException); default 1,048,576. */
  readonly maxRecordBytes?: number;
  /** Added to every request before it is answered. */
  readonly latencyMs?: number;
  /** Persist the logs here (append-only JSONL per partition); default in memory only. */
  readonly dataDir?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Receives one line per request (`METHOD /path?query STATUS 1.2ms`); never headers or bodies. */
  readonly log?: (line: string) => void;
  /** Keep every request in `requests`; default true. Turn off for benchmarks and long runs. */
  readonly recordRequests?: boolean;
  /** Random faults from a seeded PRNG, the same sequence for the same seed and request order. */
  readonly chaos?: ChaosOptions;
  /**
   * Whose v2 quirks to copy (protocol doc §4, §6); default `'confluent'`. It changes v2 only: produce
   * (request strictness, per-record codes, response shape and status) and, for Redpanda, which v2 routes
   * exist and how a consumer is created (see `flavors.ts`); v1 and v3 are Confluent's whatever the flavor.
   */
  readonly flavor?: Flavor;
  /**
   * The v3 `{cluster_id}` this server answers to, others getting 404 as on Confluent Cloud; unset, any id
   * is accepted as a self-managed proxy does (protocol doc §7).
   */
  readonly clusterId?: string;
  /** `consumer.instance.timeout.ms`: a consumer instance unused this long vanishes (40403); default 300000. */
  readonly consumerIdleMs?: number;
  /**
   * `consumer.request.timeout.ms`: how long a consumer read with nothing to return waits for new records;
   * default 0 (answer at once, so tests stay fast; Confluent's default is 1000). A v2 read waits
   * min(`timeout` parameter, the instance's `consumer.request.timeout.ms` or this); Redpanda's simple consume
   * at the log end min(`timeout`, this).
   */
  readonly consumerRequestTimeoutMs?: number;
  /**
   * v2 reads that answer `[]` right after each assign, seek (`positions`, `…/beginning`, `…/end`) or
   * subscription join, whatever is available: the protocol doc allows a first empty read (§6) and a client
   * must not take it for the end of the log. Deterministic, so tests can rely on it; default 1, 0 turns it off.
   */
  readonly emptyReadsAfterSeek?: number;
  /** Clock (epoch ms) for consumer idle expiry and v3 report timestamps; default `Date.now`. */
  readonly now?: () => number;
  /**
   * v1 `GET …/messages?offset=N&count=M` answers as a v1 proxy over compressed batches does (IBM Message
   * Hub, CP 2.x): from the first offset of the batch holding N, `count` records counted from that batch
   * start, so the records below N come back and the answer may stop short of N. A batch is what one produce
   * request (or `append` call) wrote to one partition. Default false: from N exactly.
   */
  readonly v1WholeBatches?: boolean;
}

/**
 * Rates are probabilities in [0, 1], drawn per request (per record for `recordErrorRate`). Every chaos
 * fault is retriable and happens before anything is written, so a client that retries correctly ends with
 * exactly one copy of each record.
 */
export interface ChaosOptions {
  readonly seed: number;
  /** 503 `{"error_code":503,...}`. */
  readonly statusRate?: number;
  /** 429 with `Retry-After: retryAfterSeconds`. */
  readonly throttleRate?: number;
  /** Default 0, so chaos does not slow tests down. */
  readonly retryAfterSeconds?: number;
  /** A produced record fails alone with 50003 and is not written. */
  readonly recordErrorRate?: number;
  /** The connection is destroyed without an answer, before the request is handled. */
  readonly dropRate?: number;
}

export interface RecordedRequest {
  readonly method: string;
  /** The path as sent (still percent-encoded), without the query. */
  readonly path: string;
  /** First value of each query parameter. */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface StoredHeader {
  readonly name: string;
  readonly value: Buffer | null;
}

export interface StoredRecord {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The v3 record headers, in request order, repeated names kept; absent when the record has none. */
  readonly headers?: readonly StoredHeader[];
}

export interface FaultMatch {
  /** Case-insensitive; default any. */
  readonly method?: string;
  /** Exact raw path, or a RegExp tested against it; default any. */
  readonly path?: string | RegExp;
}

/**
 * A scripted failure. Faults wait in a queue, in the order injected; each applies to the next `times`
 * (default 1) requests it matches, then is gone. `status`, `throttle`, `drop`, `trickle`,
 * `oversized-answer`, `delay`, `restart-consumers` and `unassign` act before the request is handled (auth included); `record-errors` and `after-write` act
 * only on produce requests that got as far as writing. Several `delay` faults can add up, and a request
 * also takes the first other fault that matches it.
 */
export type Fault =
  | {
      readonly kind: 'status';
      readonly status: number;
      /** An object is sent as JSON; absent: `{"error_code":status,"message":<reason>}`. */
      readonly body?: string | object;
      readonly headers?: Readonly<Record<string, string>>;
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | {
      readonly kind: 'throttle';
      readonly retryAfterSeconds: number;
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | { readonly kind: 'drop'; readonly times?: number; readonly match?: FaultMatch }
  | {
      /**
       * A proxy that sends `200` and its headers, then the body one byte every `intervalMs` (whitespace,
       * a JSON value never finished) until the client gives up or the server closes. Nothing is written.
       */
      readonly kind: 'trickle';
      readonly intervalMs: number;
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | {
      /**
       * A `status` (default 200) answer whose body is `bytes` long (JSON whitespace after `[`), sent as fast
       * as the client reads it, chunked, or with its Content-Length when `declareLength`. Nothing is written.
       */
      readonly kind: 'oversized-answer';
      readonly bytes: number;
      readonly status?: number;
      readonly declareLength?: boolean;
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | { readonly kind: 'delay'; readonly ms: number; readonly times?: number; readonly match?: FaultMatch }
  | {
      readonly kind: 'record-errors';
      /**
       * By record index in the request; those records are not written. Codes are Confluent's (50002, 50003,
       * 40101, 40301): v2 flavors translate them (`toFlavorRecordCode`), v3 reports them as they are (so
       * `{ code: 429 }` is a throttled v3 record). 40101/40301 turn a Confluent v1/v2 answer into 401/403.
       */
      readonly errors: Readonly<Record<number, { readonly code: number; readonly message?: string }>>;
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | {
      readonly kind: 'after-write';
      /**
       * The records are written, then (ambiguous outcomes all) the connection is dropped before any answer,
       * the answer is late (`ms`), or it is `cut`: the 200 starts and the connection breaks after `reports`
       * v3 delivery reports (default 0), or halfway through a v1/v2 answer.
       */
      readonly action: 'drop' | 'delay' | 'cut';
      readonly ms?: number;
      readonly reports?: number;
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | {
      /**
       * The proxy restarts (IBM: daily) just before the matching request is handled: every consumer
       * instance vanishes, so that request and later ones on old instances get 404/40403.
       */
      readonly kind: 'restart-consumers';
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | {
      /**
       * The v2 consumer instance the matching request addresses loses its partitions and positions just
       * before the request is handled, as in a rebalance: a seek (`positions`, `…/beginning`, `…/end`) then
       * answers 409/40903 `Illegal state: No current assignment for partition …` until the client assigns
       * again. A read meanwhile answers `[]`, as every read of an instance with nothing assigned does here
       * (after the request timeout, like a poll that found nothing); a subscribed instance instead rejoins
       * at its next read. Requests that address no v2 instance (v1 ones included) change nothing.
       */
      readonly kind: 'unassign';
      readonly times?: number;
      readonly match?: FaultMatch;
    };

export interface KafkaRestServer {
  /** e.g. `http://127.0.0.1:43121`, no trailing slash. */
  readonly url: string;
  /** Every request received (when `recordRequests` is on), in arrival order. */
  readonly requests: RecordedRequest[];
  /** Queues a fault. Throws `ERR_INVALID_ARG` for a malformed one. */
  inject(fault: Fault): void;
  clearFaults(): void;
  /** What the log of one partition holds now, decoded. Throws `ERR_UNKNOWN_TOPIC` / `ERR_UNKNOWN_PARTITION`. */
  records(topic: string, partition: number): StoredRecord[];
  /** Writes records directly (test setup) and returns their offsets. Throws `ERR_UNKNOWN_*`. */
  append(
    topic: string,
    partition: number,
    records: readonly { key?: Buffer | null; value: Buffer | null }[],
  ): number[];
  /** Retention: the log start moves to `offset`. Throws `ERR_UNKNOWN_*` or `ERR_INVALID_ARG` past the log end. */
  truncateBefore(topic: string, partition: number, offset: number): void;
  /** Throws `ERR_TOPIC_EXISTS` or `ERR_INVALID_ARG`. */
  createTopic(name: string, partitions: number): void;
  /** Removes a topic and its data, so it can be created again with offsets from 0. Throws `ERR_UNKNOWN_TOPIC`. */
  deleteTopic(name: string): void;
  /** Every consumer instance vanishes now (committed offsets stay), as after the proxy's daily restart. */
  restartConsumers(): void;
  /** Live consumer instances (v1 and v2), after idle expiry. */
  consumerInstances(): number;
  /** Changes (or removes) the required `X-Auth-Token`, for rotation tests. */
  setApiKey(key: string | undefined): void;
  /**
   * Changes (or removes) the required Basic `user:password`, for rotation tests. Throws `ERR_INVALID_ARG`
   * for one without a colon.
   */
  setBasicAuth(userPassword: string | undefined): void;
  /** Stops listening, drops open connections, releases files. Idempotent. */
  close(): Promise<void>;
}
