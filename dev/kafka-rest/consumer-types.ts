import type { LogHeader, LogStore } from './log-store.js';

/** What the consumer registry (`consumers.ts`) holds and answers, and how it refuses (protocol doc §2.6, §6). */

/** A request-level refusal, as the proxy would send it. */
export interface ConsumerFailure {
  readonly failure: true;
  readonly status: number;
  readonly errorCode: number;
  readonly message: string;
}

export const isConsumerFailure = (value: unknown): value is ConsumerFailure =>
  typeof value === 'object' && value !== null && (value as { failure?: unknown }).failure === true;

export const fail = (status: number, errorCode: number, message: string): ConsumerFailure => ({
  failure: true,
  status,
  errorCode,
  message,
});

/** Error codes of the consumer endpoints (protocol doc §3). */
export const CONSUMER_ERROR_CODES = {
  CONSTRAINT_VIOLATION: 40001,
  /** Redpanda's `kafka_bad_request`: a bad parameter, or a Kafka error such as OFFSET_OUT_OF_RANGE. */
  KAFKA_BAD_REQUEST: 40002,
  TOPIC_NOT_FOUND: 40401,
  PARTITION_NOT_FOUND: 40402,
  INSTANCE_NOT_FOUND: 40403,
  FORMAT_MISMATCH: 40601,
  ALREADY_SUBSCRIBED: 40901,
  INSTANCE_EXISTS: 40902,
  ILLEGAL_STATE: 40903,
  INVALID_CONFIG: 42204,
  KAFKA_ERROR: 50002,
} as const;

export const INSTANCE_NOT_FOUND: ConsumerFailure = fail(
  404,
  CONSUMER_ERROR_CODES.INSTANCE_NOT_FOUND,
  'Consumer instance not found.',
);

export type ConsumerApi = 'v1' | 'v2';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface ConsumerConfig {
  /** Absent: a generated `rest-consumer-<uuid>`. */
  readonly name: string | undefined;
  /** v1: `smallest | largest` (default largest); v2: `earliest | latest | none` (default latest, Kafka's). */
  readonly autoOffsetReset: string;
  readonly autoCommit: boolean;
  /** v2 `consumer.request.timeout.ms`: how long a read with nothing to return may wait. */
  readonly requestTimeoutMs: number | undefined;
}

/** What both APIs keep per instance. */
interface InstanceBase {
  readonly group: string;
  readonly id: string;
  readonly config: ConsumerConfig;
  lastUsedMs: number;
}

/** Where a v2 partition will be read from next: an offset, or a seek to an edge resolved at the next read. */
type Position = number | 'beginning' | 'end';

export interface V1Instance extends InstanceBase {
  readonly api: 'v1';
  /** Set by the first read (§2.6: it subscribes on first use). */
  topic: string | undefined;
  readonly positions: Map<number, number>;
  /** Partition → offset of the last record handed out (what a commit reports as `consumed`). */
  readonly consumed: Map<number, number>;
  /** IBM: one request at a time per instance. */
  busy: boolean;
}

export interface V2Instance extends InstanceBase {
  readonly api: 'v2';
  assignment: TopicPartition[];
  readonly positions: Map<string, Position>;
  subscription: { readonly topics: readonly string[] } | { readonly pattern: RegExp } | undefined;
  /** Whether the subscription has been turned into an assignment by a first read (Kafka's group join). */
  joined: boolean;
  /** Reads left that answer `[]` whatever is available (after an assign, a seek or a join). */
  emptyReadsLeft: number;
}

export type ConsumerInstance = V1Instance | V2Instance;

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  /** The record's headers and timestamp, for the one read shape that has fields for them (Strimzi's). */
  readonly headers?: readonly LogHeader[];
  readonly timestamp?: number;
}

export interface V2Read {
  readonly records: readonly ConsumedRecord[];
  /** True when `[]` came from the deterministic empty read after an assign or seek, not from a caught-up log. */
  readonly warmingUp: boolean;
}

export interface V1Commit {
  readonly topic: string;
  readonly partition: number;
  readonly consumed: number;
  readonly committed: number;
}

export interface ConsumerRegistryOptions {
  readonly store: LogStore;
  readonly now: () => number;
  /** `consumer.instance.timeout.ms`: an instance unused for this long is gone (40403); Infinity: never. */
  readonly idleMs: number;
  /** Empty reads after each assign, seek or subscription join (see `KafkaRestServerOptions`). */
  readonly emptyReadsAfterSeek: number;
}

export interface ConsumerRegistry {
  /** Creates an instance; 409/40902 when the name is taken in the group. */
  create(api: ConsumerApi, group: string, config: ConsumerConfig): ConsumerInstance | ConsumerFailure;
  /**
   * The live instance, touched (its idle clock restarts); 404/40403 when unknown, expired, or created by the
   * other API (`api` undefined accepts either).
   */
  find(api: ConsumerApi | undefined, group: string, id: string): ConsumerInstance | ConsumerFailure;
  remove(instance: ConsumerInstance): void;
  /** The proxy's daily restart: every instance vanishes; committed offsets stay (they live in Kafka). */
  restart(): void;
  /**
   * The v2 instance loses its partitions and positions, as in a rebalance: seeks answer 409/40903 until
   * it is assigned again, and a subscribed one rejoins at its next read. Unknown and v1 instances are left
   * alone; the idle clock is not touched.
   */
  unassign(group: string, id: string): void;
  /** Live instances (after expiry). */
  size(): number;
  /** v2: replaces the assignment; partitions still assigned keep their positions. */
  assign(instance: V2Instance, partitions: readonly TopicPartition[]): ConsumerFailure | undefined;
  subscribe(instance: V2Instance, topics: readonly string[] | RegExp): ConsumerFailure | undefined;
  unsubscribe(instance: V2Instance): void;
  /** v2 `positions`: `offset` is the next record to read; 409/40903 for an unassigned partition. */
  seek(
    instance: V2Instance,
    offsets: readonly (TopicPartition & { readonly offset: number })[],
  ): ConsumerFailure | undefined;
  seekToEdge(
    instance: V2Instance,
    partitions: readonly TopicPartition[],
    edge: 'beginning' | 'end',
  ): ConsumerFailure | undefined;
  readV2(instance: V2Instance, maxBytes: number): V2Read | ConsumerFailure;
  /** Commits `offset + 1` for each entry, or every current position when `offsets` is undefined. */
  commitV2(
    instance: V2Instance,
    offsets: readonly (TopicPartition & { readonly offset: number })[] | undefined,
  ): ConsumerFailure | undefined;
  /** Committed next-to-read offsets of the partitions that have one. */
  committedV2(
    instance: V2Instance,
    partitions: readonly TopicPartition[],
  ): (TopicPartition & { readonly offset: number })[];
  /** v1 read of `topic`: 404/40401 unknown topic, 409/40901 when subscribed to another one. */
  readV1(instance: V1Instance, topic: string, maxBytes: number): ConsumedRecord[] | ConsumerFailure;
  /** Commits what was consumed; lists the partitions that consumed anything. */
  commitV1(instance: V1Instance): V1Commit[];
}
