import { checkInt, createSpecReader, isPlainObject } from '../core/checks.js';
import { isTopicName, TOPIC_NAME_SHAPE } from '../core/names.js';
import { type DlqConfig, parseDlqConfig, parseSinkConfig, type SinkConfig } from '../sinks/config.js';
import { RECORD_NAMESPACE_PATTERN } from '../sinks/record-id.js';

/** What to do when the checkpoint is outside the log (retention deleted it, or the topic was re-created). */
export const RESET_POLICIES = ['earliest', 'latest', 'fail'] as const;
export type ResetPolicy = (typeof RESET_POLICIES)[number];

/** Where a partition with no checkpoint yet starts. */
export const START_POSITIONS = ['earliest', 'latest'] as const;
export type StartPosition = (typeof START_POSITIONS)[number];

/**
 * The order a partition's records reach the sink in: `partition`, one after the other in offset order;
 * `key`, records of one key in offset order, different keys concurrently (up to `maxInFlight` calls).
 */
export const ORDERINGS = ['partition', 'key'] as const;
export type Ordering = (typeof ORDERINGS)[number];

/** The settings the per-partition loop needs (no sink wiring), so the loop can be driven with any sink. */
export interface DrainSettings {
  /** Part of the checkpoint key: `[A-Za-z0-9._-]`, so `#` can separate the key's parts. */
  readonly id: string;
  readonly topic: string;
  /** Records per fetch (`count`), and so per checkpoint commit. */
  readonly batchSize: number;
  /** Attempts per record before it is poison (to the DLQ, or the partition stops). */
  readonly maxAttempts: number;
  readonly resetPolicy: ResetPolicy;
  readonly startFrom: StartPosition;
  /** Full-jitter backoff between attempts: base × 2^(attempt-1), capped. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /**
   * 0: commit after every fetched batch. Above 0: commit at most this often (and always when the run
   * stops), for sinks so fast that a checkpoint write per batch would cost more than the deliveries.
   * A crash then redelivers up to this much, and an operator's change is seen up to this much later.
   */
  readonly commitIntervalMs: number;
  /**
   * The first part of every record id (`toRecordId`): names the stage and cluster, so that ids never repeat
   * across them (receivers and SQS FIFO drop a repeated id as a duplicate). `[A-Za-z0-9._-]{1,64}`.
   */
  readonly idNamespace: string;
  readonly ordering: Ordering;
  /** Sink calls in flight at once for one partition; above 1 only with `ordering: "key"`. */
  readonly maxInFlight: number;
  /** Records per second into the sink, across the drain's partitions in one invocation; absent: no limit. */
  readonly maxRecordsPerSecond?: number | undefined;
  /** Sink calls in flight at once across the drain's partitions in one invocation; absent: no limit. */
  readonly maxConcurrentRequests?: number | undefined;
}

export interface DrainConfig extends DrainSettings {
  /** Explicit partition numbers, or every partition the proxy lists at each run. */
  readonly partitions: readonly number[] | 'all';
  readonly sink: SinkConfig;
  /** Poison records go here; absent: the partition stops at a poison record (never skipped silently). */
  readonly dlq: DlqConfig | undefined;
}

export interface DrainsConfig {
  readonly drains: readonly DrainConfig[];
  /** `CHECKPOINT_TABLE`: required once any drain is configured. */
  readonly checkpointTable: string | undefined;
  /** `DYNAMODB_ENDPOINT`: dynalite and other local stand-ins; unset in AWS. */
  readonly dynamodbEndpoint: URL | undefined;
  /** `SQS_ENDPOINT`, `EVENTBRIDGE_ENDPOINT`: local stand-ins for the sinks and the DLQ; unset in AWS. */
  readonly sqsEndpoint: URL | undefined;
  readonly eventBridgeEndpoint: URL | undefined;
  /** `DRAIN_LEASE_MS`: lease length after each acquire/commit/renew; a crashed run blocks its partitions this long. */
  readonly leaseMs: number;
  /** `DRAIN_CONCURRENCY`: partitions drained at once by one invocation (memory and sockets bound it). */
  readonly maxConcurrentPartitions: number;
}

export const DRAIN_DEFAULTS = {
  partitions: 'all',
  batchSize: 100,
  maxAttempts: 5,
  resetPolicy: 'earliest',
  startFrom: 'earliest',
  retryBaseMs: 200,
  retryMaxMs: 10_000,
  commitIntervalMs: 0,
  idNamespace: 'default',
  ordering: 'partition',
  maxInFlight: 1,
  leaseMs: 60_000,
  maxConcurrentPartitions: 16,
} as const;

const DRAIN_KEYS = [
  'id',
  'topic',
  'partitions',
  'sink',
  'dlq',
  'batchSize',
  'maxAttempts',
  'resetPolicy',
  'startFrom',
  'retryBaseMs',
  'retryMaxMs',
  'commitIntervalMs',
  'idNamespace',
  'ordering',
  'maxInFlight',
  'maxRecordsPerSecond',
  'maxConcurrentRequests',
] as const;

const DRAIN_ID = /^[a-zA-Z0-9._-]{1,64}$/;

const parseDrainDlq = (
  value: unknown,
  at: string,
  stackDlqUrl: string | undefined,
  problems: string[],
): DlqConfig | undefined => {
  if (value === undefined) return undefined;
  if (value !== 'stack') return parseDlqConfig(value, at, problems);
  if (stackDlqUrl === undefined) {
    problems.push(`${at} is "stack" but DRAIN_DLQ_URL (the stack's drain DLQ) is not set`);
    return undefined;
  }
  return parseDlqConfig({ queueUrl: stackDlqUrl }, at, problems);
};

/** What every drain inherits from the function's settings. */
export interface DrainDefaults {
  readonly stackDlqUrl: string | undefined;
  readonly idNamespace: string;
}

export const NAMESPACE_SHAPE = '1-64 of [A-Za-z0-9._-] (the stage and cluster, e.g. "orders-svc.prod")';

/** The drains of the setting named `setting` (its parsed JSON, undefined when unset). */
export const parseDrains = (
  value: unknown,
  setting: string,
  defaults: DrainDefaults,
  problems: string[],
): DrainConfig[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${setting} must be a JSON array of {id, topic, sink, partitions?, dlq?, batchSize?, …}`);
    return [];
  }
  const drains: DrainConfig[] = [];
  const seen = new Set<string>();
  value.forEach((spec: unknown, index) => {
    const at = `${setting}[${index}]`;
    const drain = parseDrain(spec, at, defaults, problems);
    if (drain === undefined) return;
    if (seen.has(drain.id)) {
      problems.push(`${at}.id ${JSON.stringify(drain.id)} is used twice: drain ids key the checkpoints`);
      return;
    }
    seen.add(drain.id);
    drains.push(drain);
  });
  return drains;
};

const parseDrain = (
  spec: unknown,
  at: string,
  defaults: DrainDefaults,
  problems: string[],
): DrainConfig | undefined => {
  if (!isPlainObject(spec)) {
    problems.push(`${at} must be an object {id, topic, sink, partitions?, dlq?, batchSize?, …}`);
    return undefined;
  }
  const before = problems.length;
  const { int, oneOf, keys } = createSpecReader(spec, at, problems);
  keys(DRAIN_KEYS, 'drain');
  const { id, topic } = spec;
  if (typeof id !== 'string' || !DRAIN_ID.test(id)) {
    problems.push(`${at}.id must be 1-64 of [A-Za-z0-9._-]`);
  }
  if (!isTopicName(topic)) {
    problems.push(`${at}.topic must be ${TOPIC_NAME_SHAPE}`);
  }
  const partitions = parsePartitions(spec.partitions, `${at}.partitions`, problems);
  const sink = parseSinkConfig(spec.sink, `${at}.sink`, problems);
  const dlq = parseDrainDlq(spec.dlq, `${at}.dlq`, defaults.stackDlqUrl, problems);
  const idNamespace = spec.idNamespace ?? defaults.idNamespace;
  if (typeof idNamespace !== 'string' || !RECORD_NAMESPACE_PATTERN.test(idNamespace)) {
    problems.push(`${at}.idNamespace must be ${NAMESPACE_SHAPE}`);
  }
  const ordering = oneOf('ordering', ORDERINGS, DRAIN_DEFAULTS.ordering);
  const maxInFlight = int('maxInFlight', DRAIN_DEFAULTS.maxInFlight, { min: 1, max: 256 });
  if (maxInFlight > 1 && ordering !== 'key') {
    problems.push(
      `${at}.maxInFlight above 1 needs "ordering": "key" (in partition order each record waits for the one before it)`,
    );
  }
  const optionalInt = (name: string, range: { min: number; max: number }): number | undefined =>
    spec[name] === undefined ? undefined : int(name, range.min, range);
  const maxRecordsPerSecond = optionalInt('maxRecordsPerSecond', { min: 1, max: 1_000_000 });
  const maxConcurrentRequests = optionalInt('maxConcurrentRequests', { min: 1, max: 1_024 });
  const retryBaseMs = int('retryBaseMs', DRAIN_DEFAULTS.retryBaseMs, { min: 1, max: 60_000 });
  const retryMaxMs = int('retryMaxMs', DRAIN_DEFAULTS.retryMaxMs, { min: 1, max: 600_000 });
  if (retryMaxMs < retryBaseMs) problems.push(`${at}.retryMaxMs must be ≥ retryBaseMs`);
  const drain = {
    id: id as string,
    topic: topic as string,
    partitions,
    sink: fittedTo(sink as SinkConfig, spec.sink, ordering, maxInFlight),
    dlq,
    batchSize: int('batchSize', DRAIN_DEFAULTS.batchSize, { min: 1, max: 10_000 }),
    maxAttempts: int('maxAttempts', DRAIN_DEFAULTS.maxAttempts, { min: 1, max: 100 }),
    resetPolicy: oneOf('resetPolicy', RESET_POLICIES, DRAIN_DEFAULTS.resetPolicy),
    startFrom: oneOf('startFrom', START_POSITIONS, DRAIN_DEFAULTS.startFrom),
    retryBaseMs,
    retryMaxMs,
    commitIntervalMs: int('commitIntervalMs', DRAIN_DEFAULTS.commitIntervalMs, { min: 0, max: 300_000 }),
    idNamespace: idNamespace as string,
    ordering,
    maxInFlight,
    ...(maxRecordsPerSecond === undefined ? {} : { maxRecordsPerSecond }),
    ...(maxConcurrentRequests === undefined ? {} : { maxConcurrentRequests }),
  };
  return problems.length === before ? drain : undefined;
};

/**
 * The sink as the drain's order needs it. A FIFO queue keeps order per message group: the group follows
 * the drain's order (partition or key). An HTTP sink whose `connections` the spec leaves unset gets at
 * least one per call a partition may have in flight, or `maxInFlight` would queue behind its pool.
 */
const fittedTo = (sink: SinkConfig, spec: unknown, ordering: Ordering, maxInFlight: number): SinkConfig => {
  if (sink?.type === 'sqs' && sink.fifo) return { ...sink, groupBy: ordering };
  const connectionsGiven = isPlainObject(spec) && spec.connections !== undefined;
  if (sink?.type === 'http' && !connectionsGiven) {
    return { ...sink, connections: Math.max(sink.connections, maxInFlight) };
  }
  return sink;
};

/**
 * A sink spec outside `DRAINS` (an operator's replay target) checked like a drain's and fitted to the order
 * `drain` delivers in; undefined, with the problems pushed, when it is not valid.
 */
export const parseSinkFor = (
  drain: Pick<DrainSettings, 'ordering' | 'maxInFlight'>,
  spec: unknown,
  at: string,
  problems: string[],
): SinkConfig | undefined => {
  const sink = parseSinkConfig(spec, at, problems);
  return sink === undefined ? undefined : fittedTo(sink, spec, drain.ordering, drain.maxInFlight);
};

const parsePartitions = (value: unknown, at: string, problems: string[]): readonly number[] | 'all' => {
  if (value === undefined || value === 'all') return 'all';
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.some((partition) => checkInt(partition, { min: 0 }) !== undefined) ||
    new Set(value).size !== value.length
  ) {
    problems.push(`${at} must be "all" or a non-empty array of distinct partition numbers (integers ≥ 0)`);
    return 'all';
  }
  return [...(value as number[])].sort((a, b) => a - b);
};
