import { isBasicCredential } from './auth.js';
import { DevKafkaRestError } from './errors.js';
import { checkChaos } from './faults.js';
import type { Flavor } from './flavors.js';
import { FLAVORS } from './flavors.js';
import type { ChaosOptions, KafkaRestServerOptions, UnknownTopicMode } from './types.js';
import { UNKNOWN_TOPIC_MODES } from './types.js';

const DEFAULTS = {
  topics: { demo: 3 },
  unknownTopic: '404',
  autoCreatePartitions: 1,
  maxRecordBytes: 1_048_576,
  latencyMs: 0,
  host: '127.0.0.1',
  port: 0,
  flavor: 'confluent',
  consumerIdleMs: 300_000,
  consumerRequestTimeoutMs: 0,
  emptyReadsAfterSeek: 1,
} as const;

/** The server's options with every default applied. */
export interface ServerSettings {
  readonly topics: Readonly<Record<string, number>>;
  readonly dataDir: string | undefined;
  readonly apiKey: string | undefined;
  readonly basicAuth: string | undefined;
  readonly unknownTopic: UnknownTopicMode;
  readonly autoCreatePartitions: number;
  readonly maxRecordBytes: number;
  readonly latencyMs: number;
  readonly host: string;
  readonly port: number;
  readonly log: ((line: string) => void) | undefined;
  readonly recordRequests: boolean;
  readonly chaos: ChaosOptions | undefined;
  readonly flavor: Flavor;
  readonly clusterId: string | undefined;
  readonly consumerIdleMs: number;
  readonly consumerRequestTimeoutMs: number;
  readonly emptyReadsAfterSeek: number;
  readonly now: () => number;
  readonly v1WholeBatches: boolean;
}

const checkOptions = (options: KafkaRestServerOptions): string[] => {
  const problems: string[] = [];
  const positiveInt = (name: string, value: unknown): void => {
    if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
      problems.push(`${name} must be a positive integer`);
    }
  };
  const nonNegativeInt = (name: string, value: unknown): void => {
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0)) {
      problems.push(`${name} must be an integer >= 0`);
    }
  };
  const nonEmptyString = (name: string, value: unknown): void => {
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      problems.push(`${name} must be a non-empty string`);
    }
  };
  if (options.topics !== undefined) {
    for (const [name, partitions] of Object.entries(options.topics)) {
      if (name === '') problems.push('topics: a topic name must not be empty');
      positiveInt(`topics.${name}`, partitions);
    }
  }
  nonEmptyString('apiKey', options.apiKey);
  if (options.basicAuth !== undefined && !isBasicCredential(options.basicAuth)) {
    problems.push('basicAuth must be a user:password string');
  }
  if (options.unknownTopic !== undefined && !UNKNOWN_TOPIC_MODES.includes(options.unknownTopic)) {
    problems.push(`unknownTopic must be one of ${UNKNOWN_TOPIC_MODES.join(', ')}`);
  }
  positiveInt('autoCreatePartitions', options.autoCreatePartitions);
  positiveInt('maxRecordBytes', options.maxRecordBytes);
  if (options.latencyMs !== undefined && !(Number.isFinite(options.latencyMs) && options.latencyMs >= 0)) {
    problems.push('latencyMs must be a number >= 0');
  }
  if (
    options.port !== undefined &&
    !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)
  ) {
    problems.push('port must be an integer in [0, 65535]');
  }
  nonEmptyString('host', options.host);
  if (options.log !== undefined && typeof options.log !== 'function') problems.push('log must be a function');
  if (options.chaos !== undefined) problems.push(...checkChaos(options.chaos));
  if (options.flavor !== undefined && !FLAVORS.includes(options.flavor)) {
    problems.push(`flavor must be one of ${FLAVORS.join(', ')}`);
  }
  nonEmptyString('clusterId', options.clusterId);
  positiveInt('consumerIdleMs', options.consumerIdleMs);
  nonNegativeInt('consumerRequestTimeoutMs', options.consumerRequestTimeoutMs);
  nonNegativeInt('emptyReadsAfterSeek', options.emptyReadsAfterSeek);
  if (options.now !== undefined && typeof options.now !== 'function') problems.push('now must be a function');
  if (options.v1WholeBatches !== undefined && typeof options.v1WholeBatches !== 'boolean') {
    problems.push('v1WholeBatches must be a boolean');
  }
  return problems;
};

/** Checks every option first, then applies the defaults. Throws `ERR_INVALID_ARG` listing each problem. */
export const resolveOptions = (options: KafkaRestServerOptions): ServerSettings => {
  const problems = checkOptions(options);
  if (problems.length > 0) {
    throw new DevKafkaRestError(
      'ERR_INVALID_ARG',
      `invalid Kafka REST server options:\n- ${problems.join('\n- ')}`,
    );
  }
  const flavor = options.flavor ?? DEFAULTS.flavor;
  return {
    topics: options.topics ?? DEFAULTS.topics,
    dataDir: options.dataDir,
    apiKey: options.apiKey,
    basicAuth: options.basicAuth,
    unknownTopic: options.unknownTopic ?? DEFAULTS.unknownTopic,
    autoCreatePartitions: options.autoCreatePartitions ?? DEFAULTS.autoCreatePartitions,
    maxRecordBytes: options.maxRecordBytes ?? DEFAULTS.maxRecordBytes,
    latencyMs: options.latencyMs ?? DEFAULTS.latencyMs,
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    log: options.log,
    recordRequests: options.recordRequests ?? true,
    chaos: options.chaos,
    flavor,
    clusterId: options.clusterId,
    // The bridge keeps instances until deleted unless its `http.timeoutSeconds` is set (protocol doc §9).
    consumerIdleMs:
      options.consumerIdleMs ?? (flavor === 'strimzi' ? Number.POSITIVE_INFINITY : DEFAULTS.consumerIdleMs),
    consumerRequestTimeoutMs: options.consumerRequestTimeoutMs ?? DEFAULTS.consumerRequestTimeoutMs,
    emptyReadsAfterSeek: options.emptyReadsAfterSeek ?? DEFAULTS.emptyReadsAfterSeek,
    now: options.now ?? Date.now,
    v1WholeBatches: options.v1WholeBatches ?? false,
  };
};
