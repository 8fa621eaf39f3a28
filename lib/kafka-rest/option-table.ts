/**
 * The Kafka REST client's option table, apart from the client so that the settings' parser
 * (lib/wiring/settings/core.ts) reads the same defaults and limits without loading anything of the client.
 */

export interface IntRange {
  readonly min: number;
  readonly max?: number;
}

export interface IntOption extends IntRange {
  readonly default: number;
  /** Narrower bounds for an operator's setting (the environment), where the client itself allows more. */
  readonly setting?: Partial<IntRange>;
}

/**
 * Every numeric option of the client: its default and its limits, stated once. `lib/wiring/settings/core.ts` reads
 * the settings with these defaults and (where `setting` narrows them) these limits.
 */
export const KAFKA_REST_INT_OPTIONS = {
  connections: { default: 8, min: 1, max: 1_024, setting: { max: 256 } },
  connectTimeoutMs: { default: 3_000, min: 1 },
  requestTimeoutMs: { default: 10_000, min: 1 },
  maxAttempts: { default: 5, min: 1, max: 100 },
  backoffBaseMs: { default: 100, min: 0, setting: { min: 1 } },
  backoffMaxMs: { default: 5_000, min: 0, setting: { min: 1 } },
  maxRecordBytes: { default: 1_000_000, min: 1 },
  maxRequestBytes: { default: 5_000_000, min: 1_024 },
  maxRequestRecords: { default: 500, min: 1, max: 100_000 },
  fetchMaxBytes: { default: 2_097_152, min: 1, setting: { min: 1_024, max: 67_108_864 } },
  fetchWaitMs: { default: 1_000, min: 0, setting: { max: 30_000 } },
} as const satisfies Readonly<Record<string, IntOption>>;

export type KafkaRestIntOption = keyof typeof KAFKA_REST_INT_OPTIONS;

/** The other options' defaults and shapes. */
export const KAFKA_REST_OPTION_DEFAULTS = {
  dialect: 'v1',
  flavor: 'confluent',
  v3PathPrefix: '',
  consumerGroup: 'kafka-rest-bridge',
} as const;

/** `''` or a path of safe segments with no trailing slash, e.g. `/kafka`. */
export const V3_PATH_PREFIX = /^(\/[a-zA-Z0-9._-]+)+$/;

/** An operator's `fetchBudgetBytes` (no default there: the client's applies). */
export const FETCH_BUDGET_SETTING: IntRange = { min: 65_536, max: 268_435_456 };

/** The limits of option `name` for an operator's setting. */
export const settingRange = (name: KafkaRestIntOption): IntRange => {
  const option: IntOption = KAFKA_REST_INT_OPTIONS[name];
  const max = option.setting?.max ?? option.max;
  return { min: option.setting?.min ?? option.min, ...(max === undefined ? {} : { max }) };
};
