import type { KafkaRestFlavor } from '../lib/kafka-rest/flavors.js';

/**
 * The proxies a chaos run can face, one run each: every run covers every ingestion path (plain and
 * idempotent webhook routes, SQS standard and FIFO, EventBridge) and every sink (HTTP single and batch, SQS
 * standard and FIFO, EventBridge) under DynamoDB faults, so each of these names is a whole configuration of
 * the README. Reading dialects only: v3 has no consume API, so there would be no drain to reconcile.
 */
export interface ChaosConfiguration {
  readonly dialect: 'v1' | 'v2';
  readonly flavor: KafkaRestFlavor;
  /** The local server answers v1 reads from the start of the batch holding the offset (IBM, CP 2.x). */
  readonly v1WholeBatches: boolean;
  /**
   * The drains' `ordering`: `key` runs every drain with several sink calls in flight per partition (one
   * configuration per dialect), and the order at the sinks is checked per key.
   */
  readonly drainOrdering: 'partition' | 'key';
  /**
   * The schedule's runs fan out (`DRAIN_PARTITIONS_PER_INVOCATION` 1): each keeps one partition and hands
   * every other to an invocation of its own, run beside it as Lambda runs an async invoke.
   */
  readonly drainFanOut: boolean;
  /**
   * The drains' sink limits (`maxRecordsPerSecond`, `maxConcurrentRequests`): every sink call goes through
   * the throttle, a single-mode HTTP sink gets one record per call, and a sink's 429 pauses the whole drain.
   */
  readonly drainLimits?: { readonly maxRecordsPerSecond: number; readonly maxConcurrentRequests: number };
}

export const CHAOS_CONFIGURATIONS = {
  v1: {
    dialect: 'v1',
    flavor: 'confluent',
    v1WholeBatches: false,
    drainOrdering: 'partition',
    drainFanOut: true,
  },
  'v1-whole-batches-by-key': {
    dialect: 'v1',
    flavor: 'confluent',
    v1WholeBatches: true,
    drainOrdering: 'key',
    drainFanOut: false,
  },
  'v2-confluent': {
    dialect: 'v2',
    flavor: 'confluent',
    v1WholeBatches: false,
    drainOrdering: 'partition',
    drainFanOut: true,
  },
  'v2-redpanda': {
    dialect: 'v2',
    flavor: 'redpanda',
    v1WholeBatches: false,
    drainOrdering: 'partition',
    drainFanOut: false,
    drainLimits: { maxRecordsPerSecond: 200, maxConcurrentRequests: 2 },
  },
  'v2-karapace-by-key': {
    dialect: 'v2',
    flavor: 'karapace',
    v1WholeBatches: false,
    drainOrdering: 'key',
    drainFanOut: false,
  },
} as const satisfies Readonly<Record<string, ChaosConfiguration>>;

export type ChaosConfigurationName = keyof typeof CHAOS_CONFIGURATIONS;

export const CHAOS_CONFIGURATION_NAMES = Object.keys(CHAOS_CONFIGURATIONS) as ChaosConfigurationName[];

export const isChaosConfigurationName = (name: string): name is ChaosConfigurationName =>
  Object.hasOwn(CHAOS_CONFIGURATIONS, name);

/** The partition reads each configuration's server answers, by the API the report names. */
export const expectedReadApi = (name: ChaosConfigurationName): string => {
  const { dialect, flavor } = CHAOS_CONFIGURATIONS[name];
  if (dialect === 'v1') return 'v1 messages';
  // Redpanda through its stateless partition reads; the others through consumer instances.
  return flavor === 'redpanda' ? 'partition records' : 'v2 consumer records';
};
