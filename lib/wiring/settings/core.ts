import { ConfigError } from '../../core/errors.js';
import { CONSUMER_GROUP, schemeProblem } from '../../core/names.js';
import type { KafkaRestDialect, KafkaRestFlavor } from '../../kafka-rest/flavors.js';
import { KAFKA_REST_DIALECTS, KAFKA_REST_FLAVORS, V2_ONLY_FLAVORS } from '../../kafka-rest/flavors.js';
import {
  FETCH_BUDGET_SETTING,
  KAFKA_REST_INT_OPTIONS,
  KAFKA_REST_OPTION_DEFAULTS,
  type KafkaRestIntOption,
  settingRange,
  V3_PATH_PREFIX,
} from '../../kafka-rest/option-table.js';
import type { SecretSource } from '../../secrets/types.js';
import { createEnvReader, type Env, type EnvReader } from './env.js';

/**
 * The settings every function shares (the Kafka REST proxy, secrets, deadlines, logging), and the one way a
 * function's settings are loaded: its own sections on top of these, so that a function's bundle carries the
 * parsers of its own settings only (`loadConfig` in ./all.ts parses every function's, for tools and tests).
 */

export type KafkaAuthConfig =
  | { readonly scheme: 'none' }
  | { readonly scheme: 'api-key' | 'basic' | 'bearer'; readonly secret: SecretSource };

export interface KafkaRestConfig {
  readonly url: URL;
  readonly dialect: KafkaRestDialect;
  readonly flavor: KafkaRestFlavor;
  /** v3 only: the cluster id of `/v3/clusters/{id}/…` (validated only by Confluent Cloud). */
  readonly clusterId: string | undefined;
  /** v3 only: `''` on a self-managed proxy, `/kafka` on Confluent Cloud and Confluent Server. */
  readonly v3PathPrefix: string;
  readonly allowHttp: boolean;
  readonly auth: KafkaAuthConfig;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly connections: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly maxRecordBytes: number;
  readonly maxRequestBytes: number;
  readonly maxRequestRecords: number;
  /** v2 drain: the group of its consumer instances (nothing is committed to it; ACLs may name it). */
  readonly consumerGroup: string;
  /** v2 drain: `max_bytes` of one `records` read. */
  readonly fetchMaxBytes: number;
  /** v2 drain: `timeout` of one `records` read, how long the proxy may hold it when it has nothing. */
  readonly fetchWaitMs: number;
  /**
   * The most bytes one fetch answer may hold (and a v1 or Redpanda read may widen to while it looks for
   * the checkpoint's record); absent: the client's default, 8 MiB or more.
   */
  readonly fetchBudgetBytes: number | undefined;
}

export interface SecretsConfig {
  /**
   * `sdk`: GetSecretValue through the AWS SDK. `extension`: the AWS Parameters and Secrets Lambda Extension
   * (a localhost HTTP call; no SDK to load at cold start), on `extensionPort`.
   */
  readonly source: 'sdk' | 'extension';
  readonly extensionPort: number;
  readonly cacheTtlMs: number;
  /** Overrides the Secrets Manager endpoint (local stand-ins); unset in AWS. */
  readonly endpoint: URL | undefined;
  readonly region: string | undefined;
}

export interface CoreConfig {
  readonly kafka: KafkaRestConfig;
  readonly secrets: SecretsConfig;
  /** Time kept back before the Lambda deadline, so that a late answer can still be mapped and returned. */
  readonly deadlineMarginMs: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/**
 * Parses and validates the shared settings and `sections` once (at cold start). Pure: takes the environment
 * as an argument. Throws `ConfigError` (`ERR_CONFIG`) listing every problem at once; returns a frozen, typed
 * config.
 */
export const loadSections = <S extends object>(
  env: Env,
  sections: (read: EnvReader, core: CoreConfig) => S,
): CoreConfig & S => {
  const read = createEnvReader(env);
  const core: CoreConfig = {
    kafka: parseKafkaRest(read),
    secrets: {
      source: read.oneOf('SECRETS_SOURCE', ['sdk', 'extension'], 'sdk'),
      // The extension's own variable, so one setting configures both it and us.
      extensionPort: read.int('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', 2773, { min: 1, max: 65_535 }),
      cacheTtlMs: read.int('SECRETS_CACHE_TTL_MS', 300_000, { min: 0 }),
      endpoint: read.url('SECRETS_MANAGER_ENDPOINT'),
      region: read.string('AWS_REGION'),
    },
    deadlineMarginMs: read.int('DEADLINE_MARGIN_MS', 1_000, { min: 0 }),
    logLevel: read.oneOf('LOG_LEVEL', ['DEBUG', 'INFO', 'WARN', 'ERROR'], 'INFO'),
  };
  const config = { ...core, ...sections(read, core) };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return deepFreeze(config);
};

const parseKafkaRest = (read: EnvReader): KafkaRestConfig => {
  // The client's defaults and limits (lib/kafka-rest/options.ts), read from the environment variable `key`.
  const int = (key: string, name: KafkaRestIntOption): number =>
    read.int(key, KAFKA_REST_INT_OPTIONS[name].default, settingRange(name));
  const url = read.url('KAFKA_REST_URL');
  if (url === undefined && read.raw('KAFKA_REST_URL') === undefined) {
    read.problems.push('KAFKA_REST_URL is required: the base URL of the Kafka REST proxy');
  }
  const allowHttp = read.bool('KAFKA_REST_ALLOW_HTTP', false);
  if (url && schemeProblem(url, allowHttp) !== undefined) {
    read.problems.push(
      `KAFKA_REST_URL must use https (got ${url.protocol}); set KAFKA_REST_ALLOW_HTTP=true for local development only`,
    );
  }
  const dialect = read.oneOf('KAFKA_REST_DIALECT', KAFKA_REST_DIALECTS, KAFKA_REST_OPTION_DEFAULTS.dialect);
  const flavor = read.oneOf('KAFKA_REST_FLAVOR', KAFKA_REST_FLAVORS, KAFKA_REST_OPTION_DEFAULTS.flavor);
  if (V2_ONLY_FLAVORS.has(flavor) && dialect !== 'v2') {
    read.problems.push(
      `KAFKA_REST_FLAVOR=${flavor} needs KAFKA_REST_DIALECT=v2 (got ${dialect}): the ${flavor} server speaks only its v2-like API, no v1 or v3`,
    );
  }
  const clusterId = read.string('KAFKA_REST_CLUSTER_ID');
  if (dialect === 'v3' && clusterId === undefined) {
    read.problems.push(
      'KAFKA_REST_CLUSTER_ID is required for KAFKA_REST_DIALECT=v3: the cluster id of /v3/clusters/{id}',
    );
  }
  const v3PathPrefix = read.string('KAFKA_REST_V3_PATH_PREFIX', KAFKA_REST_OPTION_DEFAULTS.v3PathPrefix);
  if (v3PathPrefix !== '' && !V3_PATH_PREFIX.test(v3PathPrefix)) {
    read.problems.push('KAFKA_REST_V3_PATH_PREFIX must be empty or a path such as /kafka');
  }
  const requestTimeoutMs = int('KAFKA_REST_TIMEOUT_MS', 'requestTimeoutMs');
  const fetchWaitMs = int('KAFKA_REST_FETCH_WAIT_MS', 'fetchWaitMs');
  if (dialect === 'v2' && fetchWaitMs >= requestTimeoutMs) {
    read.problems.push(
      `KAFKA_REST_FETCH_WAIT_MS (${fetchWaitMs}) must be below KAFKA_REST_TIMEOUT_MS (${requestTimeoutMs}): a read the proxy holds that long would time out`,
    );
  }
  const consumerGroup = read.string('KAFKA_REST_CONSUMER_GROUP', KAFKA_REST_OPTION_DEFAULTS.consumerGroup);
  if (!CONSUMER_GROUP.test(consumerGroup)) {
    read.problems.push('KAFKA_REST_CONSUMER_GROUP must be 1 to 200 of [a-zA-Z0-9._-]');
  }
  return {
    url: url ?? new URL('https://invalid.invalid'),
    dialect,
    flavor,
    clusterId,
    v3PathPrefix,
    allowHttp,
    auth: parseAuth(read),
    connectTimeoutMs: int('KAFKA_REST_CONNECT_TIMEOUT_MS', 'connectTimeoutMs'),
    requestTimeoutMs,
    connections: int('KAFKA_REST_CONNECTIONS', 'connections'),
    maxAttempts: int('KAFKA_REST_MAX_ATTEMPTS', 'maxAttempts'),
    backoffBaseMs: int('KAFKA_REST_BACKOFF_BASE_MS', 'backoffBaseMs'),
    backoffMaxMs: int('KAFKA_REST_BACKOFF_MAX_MS', 'backoffMaxMs'),
    maxRecordBytes: int('KAFKA_REST_MAX_RECORD_BYTES', 'maxRecordBytes'),
    maxRequestBytes: int('KAFKA_REST_MAX_REQUEST_BYTES', 'maxRequestBytes'),
    maxRequestRecords: int('KAFKA_REST_MAX_REQUEST_RECORDS', 'maxRequestRecords'),
    consumerGroup,
    fetchMaxBytes: int('KAFKA_REST_FETCH_MAX_BYTES', 'fetchMaxBytes'),
    fetchWaitMs,
    fetchBudgetBytes: read.int('KAFKA_REST_FETCH_BUDGET_BYTES', undefined, FETCH_BUDGET_SETTING),
  };
};

const parseAuth = (read: EnvReader): KafkaAuthConfig => {
  const scheme = read.oneOf('KAFKA_REST_AUTH', ['api-key', 'basic', 'bearer', 'none'], 'api-key');
  if (scheme === 'none') return { scheme };
  const secretId = read.string('KAFKA_REST_SECRET_ID');
  const value = read.string('KAFKA_REST_API_KEY');
  if (secretId !== undefined && value !== undefined) {
    read.problems.push('KAFKA_REST_SECRET_ID and KAFKA_REST_API_KEY are exclusive: set only one');
  }
  if (secretId !== undefined) return { scheme, secret: { secretId } };
  if (value !== undefined) return { scheme, secret: { value } };
  read.problems.push(
    `KAFKA_REST_SECRET_ID is required for KAFKA_REST_AUTH=${scheme}: the Secrets Manager secret holding the credential (or KAFKA_REST_API_KEY locally, or KAFKA_REST_AUTH=none)`,
  );
  return { scheme, secret: { value: '' } };
};

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !(value instanceof URL)) {
    if (value instanceof Map) for (const item of value.values()) deepFreeze(item);
    else for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
};
