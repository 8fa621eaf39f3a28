import { type DrainsConfig, parseDrainsConfig } from './drain/config.js';
import {
  checkInt,
  createEnvReader,
  type Env,
  type EnvReader,
  isPlainObject,
  unknownKeys,
} from './env-reader.js';
import { ConfigError } from './errors.js';
import { type EventsConfig, parseEventsConfig, parseQueueConfig, type QueueConfig } from './ingest/config.js';
import {
  KAFKA_REST_DIALECTS,
  KAFKA_REST_FLAVORS,
  type KafkaRestDialect,
  type KafkaRestFlavor,
} from './kafka-rest/flavors.js';
import {
  type IdempotencyConfig,
  type IdempotencySettings,
  parseIdempotency,
  parseIdempotencySettings,
} from './webhook/idempotency/index.js';
import { parseVerification, type Verification } from './webhook/verify/index.js';

/**
 * Where the credential for the Kafka REST proxy comes from. `secretId` names a Secrets Manager secret
 * (deployments); `value` is the literal credential (local runs only: it would otherwise sit in the
 * function's environment in clear).
 */
export type SecretSource = { readonly secretId: string } | { readonly value: string };

export type KafkaAuthConfig =
  | { readonly scheme: 'none' }
  | { readonly scheme: 'api-key' | 'basic' | 'bearer'; readonly secret: SecretSource };

/** Which Kafka REST API the proxy speaks (protocol doc §0), and whose quirks it has (§6). */
export { KAFKA_REST_DIALECTS, KAFKA_REST_FLAVORS, type KafkaRestDialect, type KafkaRestFlavor };

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

export type KeySource =
  | { readonly from: 'none' }
  | { readonly from: 'header'; readonly header: string }
  | { readonly from: 'json-pointer'; readonly pointer: string };

export interface WebhookRoute {
  readonly name: string;
  readonly topic: string;
  readonly key: KeySource;
  readonly partition: number | undefined;
  readonly maxBodyBytes: number;
  /** How callers prove who they are; `{scheme: 'none'}` only when declared so explicitly. */
  readonly verify: Verification;
  /** Where a delivery's id comes from, so a repeated delivery is answered without producing again. */
  readonly idempotency: IdempotencyConfig | undefined;
}

export interface Config {
  readonly kafka: KafkaRestConfig;
  readonly secrets: SecretsConfig;
  /** Time kept back before the Lambda deadline, so that a late answer can still be mapped and returned. */
  readonly deadlineMarginMs: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly webhook: {
    readonly routes: ReadonlyMap<string, WebhookRoute>;
    readonly idempotency: IdempotencySettings;
  };
  readonly queue: QueueConfig;
  readonly events: EventsConfig;
  readonly drain: DrainsConfig;
}

/** Message Hub's documented maximum message size (protocol doc §5). */
export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;
/** A Lambda payload is at most 6 MB; API Gateway at most 10 MB. The smaller one bounds a webhook body. */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6_291_456;

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const ROUTE_NAME = /^[a-zA-Z0-9._~-]{1,128}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-zA-Z-]+$/;

/**
 * Parses and validates every setting once (at cold start). Pure: takes the environment as an argument.
 * Throws `ConfigError` (`ERR_CONFIG`) listing every problem at once; returns a frozen, typed config.
 */
export const loadConfig = (env: Env): Config => {
  const read = createEnvReader(env);
  const kafka = parseKafkaRest(read);
  const routes = parseRoutes(read, kafka.maxRecordBytes);
  const idempotentRoutes = [...routes.values()].filter((route) => route.idempotency !== undefined);
  const config: Config = {
    kafka,
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
    webhook: {
      routes,
      idempotency: parseIdempotencySettings(
        read,
        idempotentRoutes.map((route) => route.name),
      ),
    },
    queue: parseQueueConfig(read),
    events: parseEventsConfig(read),
    drain: parseDrainsConfig(read),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return deepFreeze(config);
};

const parseKafkaRest = (read: EnvReader): KafkaRestConfig => {
  const url = read.url('KAFKA_REST_URL');
  if (url === undefined && read.raw('KAFKA_REST_URL') === undefined) {
    read.problems.push('KAFKA_REST_URL is required: the base URL of the Kafka REST proxy');
  }
  const allowHttp = read.bool('KAFKA_REST_ALLOW_HTTP', false);
  if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && allowHttp)) {
    read.problems.push(
      `KAFKA_REST_URL must use https (got ${url.protocol}); set KAFKA_REST_ALLOW_HTTP=true for local development only`,
    );
  }
  const dialect = read.oneOf('KAFKA_REST_DIALECT', KAFKA_REST_DIALECTS, 'v1');
  const clusterId = read.string('KAFKA_REST_CLUSTER_ID');
  if (dialect === 'v3' && clusterId === undefined) {
    read.problems.push(
      'KAFKA_REST_CLUSTER_ID is required for KAFKA_REST_DIALECT=v3: the cluster id of /v3/clusters/{id}',
    );
  }
  const v3PathPrefix = read.string('KAFKA_REST_V3_PATH_PREFIX', '');
  if (v3PathPrefix !== '' && !/^(\/[a-zA-Z0-9._-]+)+$/.test(v3PathPrefix)) {
    read.problems.push('KAFKA_REST_V3_PATH_PREFIX must be empty or a path such as /kafka');
  }
  const requestTimeoutMs = read.int('KAFKA_REST_TIMEOUT_MS', 10_000, { min: 1 });
  const fetchWaitMs = read.int('KAFKA_REST_FETCH_WAIT_MS', 1_000, { min: 0, max: 30_000 });
  if (dialect === 'v2' && fetchWaitMs >= requestTimeoutMs) {
    read.problems.push(
      `KAFKA_REST_FETCH_WAIT_MS (${fetchWaitMs}) must be below KAFKA_REST_TIMEOUT_MS (${requestTimeoutMs}): a read the proxy holds that long would time out`,
    );
  }
  const consumerGroup = read.string('KAFKA_REST_CONSUMER_GROUP', 'kafka-rest-bridge');
  if (!/^[a-zA-Z0-9._-]{1,200}$/.test(consumerGroup)) {
    read.problems.push('KAFKA_REST_CONSUMER_GROUP must be 1 to 200 of [a-zA-Z0-9._-]');
  }
  return {
    url: url ?? new URL('https://invalid.invalid'),
    dialect,
    flavor: read.oneOf('KAFKA_REST_FLAVOR', KAFKA_REST_FLAVORS, 'confluent'),
    clusterId,
    v3PathPrefix,
    allowHttp,
    auth: parseAuth(read),
    connectTimeoutMs: read.int('KAFKA_REST_CONNECT_TIMEOUT_MS', 3_000, { min: 1 }),
    requestTimeoutMs,
    connections: read.int('KAFKA_REST_CONNECTIONS', 8, { min: 1, max: 256 }),
    maxAttempts: read.int('KAFKA_REST_MAX_ATTEMPTS', 5, { min: 1, max: 100 }),
    backoffBaseMs: read.int('KAFKA_REST_BACKOFF_BASE_MS', 100, { min: 1 }),
    backoffMaxMs: read.int('KAFKA_REST_BACKOFF_MAX_MS', 5_000, { min: 1 }),
    maxRecordBytes: read.int('KAFKA_REST_MAX_RECORD_BYTES', DEFAULT_MAX_RECORD_BYTES, { min: 1 }),
    maxRequestBytes: read.int('KAFKA_REST_MAX_REQUEST_BYTES', 5_000_000, { min: 1_024 }),
    maxRequestRecords: read.int('KAFKA_REST_MAX_REQUEST_RECORDS', 500, { min: 1, max: 100_000 }),
    consumerGroup,
    fetchMaxBytes: read.int('KAFKA_REST_FETCH_MAX_BYTES', 2_097_152, { min: 1_024, max: 67_108_864 }),
    fetchWaitMs,
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

const ROUTE_KEYS = ['topic', 'verify', 'key', 'partition', 'maxBodyBytes', 'idempotency'] as const;

const parseRoutes = (read: EnvReader, maxRecordBytes: number): Map<string, WebhookRoute> => {
  const routes = new Map<string, WebhookRoute>();
  const value = read.json('WEBHOOK_ROUTES');
  if (value === undefined) return routes;
  if (!isPlainObject(value)) {
    read.problems.push(
      'WEBHOOK_ROUTES must be a JSON object of route name → {topic, verify, key?, partition?, maxBodyBytes?, idempotency?}',
    );
    return routes;
  }
  const bodyLimit = Math.min(maxRecordBytes, LAMBDA_PAYLOAD_LIMIT_BYTES);
  for (const [name, spec] of Object.entries(value)) {
    const at = `WEBHOOK_ROUTES.${name}`;
    const problemsBefore = read.problems.length;
    if (!ROUTE_NAME.test(name)) read.problems.push(`${at}: a route name is 1-128 of [A-Za-z0-9._~-]`);
    if (!isPlainObject(spec)) {
      read.problems.push(
        `${at} must be an object {topic, verify, key?, partition?, maxBodyBytes?, idempotency?}`,
      );
      continue;
    }
    for (const key of unknownKeys(spec, ROUTE_KEYS)) {
      read.problems.push(`${at}.${key} is not a route setting (one of ${ROUTE_KEYS.join(', ')})`);
    }
    const topic = spec.topic;
    if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) {
      read.problems.push(`${at}.topic must be a Kafka topic name (1-249 of [a-zA-Z0-9._-])`);
    }
    const partition = spec.partition;
    if (partition !== undefined && checkInt(partition, { min: 0 })) {
      read.problems.push(`${at}.partition must be ${checkInt(partition, { min: 0 })}`);
    }
    const maxBodyBytes = spec.maxBodyBytes ?? bodyLimit;
    const bodyProblem = checkInt(maxBodyBytes, { min: 1, max: bodyLimit });
    if (bodyProblem) read.problems.push(`${at}.maxBodyBytes must be ${bodyProblem}`);
    const key = parseKeySource(read, `${at}.key`, spec.key);
    const verify = parseVerification(spec.verify, at, read.problems);
    const idempotency = parseIdempotency(spec.idempotency, at, read.problems);
    if (read.problems.length === problemsBefore && verify !== undefined) {
      routes.set(name, {
        name,
        topic: topic as string,
        verify,
        key,
        partition: partition as number | undefined,
        maxBodyBytes: maxBodyBytes as number,
        idempotency,
      });
    }
  }
  return routes;
};

const parseKeySource = (read: EnvReader, at: string, spec: unknown): KeySource => {
  if (spec === undefined || spec === null || spec === 'none') return { from: 'none' };
  if (isPlainObject(spec) && Object.keys(spec).length === 1) {
    if (typeof spec.header === 'string' && HEADER_NAME.test(spec.header)) {
      return { from: 'header', header: spec.header.toLowerCase() };
    }
    if (typeof spec.jsonPointer === 'string' && isJsonPointer(spec.jsonPointer)) {
      return { from: 'json-pointer', pointer: spec.jsonPointer };
    }
  }
  read.problems.push(`${at} must be "none", {"header": "<name>"} or {"jsonPointer": "/path"} (RFC 6901)`);
  return { from: 'none' };
};

/** RFC 6901: empty (the whole document) or `/`-separated tokens where `~` is only `~0` or `~1`. */
export const isJsonPointer = (pointer: string): boolean => /^(\/([^~]|~[01])*)*$/.test(pointer);

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !(value instanceof URL)) {
    if (value instanceof Map) for (const item of value.values()) deepFreeze(item);
    else for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
};
