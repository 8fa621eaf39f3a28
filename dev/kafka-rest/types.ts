import type { IncomingHttpHeaders } from 'node:http';

/** What `POST /topics/{t}` (and the partition endpoint) does for a topic that does not exist. */
export const UNKNOWN_TOPIC_MODES = ['404', 'auto-create', 'error-per-record'] as const;
export type UnknownTopicMode = (typeof UNKNOWN_TOPIC_MODES)[number];

export interface KafkaRestServerOptions {
  /** Topic name → partition count; default `{ demo: 3 }`. With `dataDir`, topics found there win. */
  readonly topics?: Readonly<Record<string, number>>;
  /** When set, a request without exactly this `X-Auth-Token` gets 401 / 40101 (IBM Message Hub). */
  readonly apiKey?: string;
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

export interface StoredRecord {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface FaultMatch {
  /** Case-insensitive; default any. */
  readonly method?: string;
  /** Exact raw path, or a RegExp tested against it; default any. */
  readonly path?: string | RegExp;
}

/**
 * A scripted failure. Faults wait in a queue, in the order injected; each applies to the next `times`
 * (default 1) requests it matches, then is gone. `status`, `throttle`, `drop` and `delay` act before the
 * request is handled (auth included); `record-errors` and `after-write` act only on produce requests that
 * got as far as writing. Several `delay` faults can add up, and a request also takes the first other fault
 * that matches it.
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
  | { readonly kind: 'delay'; readonly ms: number; readonly times?: number; readonly match?: FaultMatch }
  | {
      readonly kind: 'record-errors';
      /** By record index in the request; those records are not written. 40101/40301 turn the answer into 401/403. */
      readonly errors: Readonly<Record<number, { readonly code: number; readonly message?: string }>>;
      readonly times?: number;
      readonly match?: FaultMatch;
    }
  | {
      readonly kind: 'after-write';
      /** The records are written, then the connection is dropped or the answer is late (ambiguous outcome). */
      readonly action: 'drop' | 'delay';
      readonly ms?: number;
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
  /** Changes (or removes) the required `X-Auth-Token`, for rotation tests. */
  setApiKey(key: string | undefined): void;
  /** Stops listening, drops open connections, releases files. Idempotent. */
  close(): Promise<void>;
}
