import type { Dispatcher } from 'undici';
import { checkInt } from '../core/checks.js';
import { ConfigError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { PATH_SEGMENT, schemeProblem } from '../core/names.js';
import type { BackoffSettings, RetryOptions } from '../http/retry.js';
import type { AuthProvider } from './auth.js';
import {
  KAFKA_REST_DIALECTS,
  KAFKA_REST_FLAVORS,
  type KafkaRestDialect,
  type KafkaRestFlavor,
  V2_ONLY_FLAVORS,
} from './flavors.js';
import {
  type IntOption,
  KAFKA_REST_INT_OPTIONS,
  KAFKA_REST_OPTION_DEFAULTS,
  type KafkaRestIntOption,
  V3_PATH_PREFIX,
} from './option-table.js';

export interface KafkaRestOptions extends RetryOptions {
  /** The proxy's base URL; a path prefix is kept (`https://host/kafka-rest` → `/kafka-rest/topics/…`). */
  readonly baseUrl: URL | string;
  /** Allows `http:` (local development only); otherwise the base URL must be `https:`. */
  readonly allowHttp?: boolean;
  readonly auth: AuthProvider;
  /** The Kafka REST API the proxy speaks (protocol doc §0). Default `v1`. */
  readonly dialect?: KafkaRestDialect;
  /** Whose proxy it is, for the quirks of §4 and §6 (v1/v2 only). Default `confluent`. */
  readonly flavor?: KafkaRestFlavor;
  /** v3: the cluster id of `/v3/clusters/{id}/…` (required for v3). */
  readonly clusterId?: string;
  /** v3: the path before `/v3`, `''` on a self-managed proxy, `/kafka` on Confluent Cloud. Default `''`. */
  readonly v3PathPrefix?: string;
  /** v2: the consumer group of the reading instances (nothing is committed to it). Default `kafka-rest-bridge`. */
  readonly consumerGroup?: string;
  /** v2: `max_bytes` of one `records` read. */
  readonly fetchMaxBytes?: number;
  /** v2: `timeout` of one `records` read, how long the proxy may wait when it has nothing. */
  readonly fetchWaitMs?: number;
  /**
   * The most one fetch answer may hold, in bytes of JSON: a larger answer fails (`ERR_UPSTREAM_PROTOCOL`)
   * without being read whole, and a read widened to reach past whole batches (v1, Redpanda) stops here.
   * At least the base64 of `max(fetchMaxBytes, maxRecordBytes)` plus 64 KiB. Default: 8 MiB, or twice
   * that minimum when it is larger.
   */
  readonly fetchBudgetBytes?: number;
  /** Default: one keep-alive undici `Pool` for the base URL's origin, `connections` bounded. */
  readonly dispatcher?: Dispatcher;
  /** Connections of the default pool. */
  readonly connections?: number;
  readonly connectTimeoutMs?: number;
  /** Bound of one attempt's wait for headers and for body data, further capped by the call's deadline. */
  readonly requestTimeoutMs?: number;
  /** Key + value bytes of one record (default: Message Hub's maximum, protocol doc §5). */
  readonly maxRecordBytes?: number;
  /** A produce call bigger than this (JSON body bytes, estimated) is split into several requests. */
  readonly maxRequestBytes?: number;
  /** A produce call with more records than this is split into several requests. */
  readonly maxRequestRecords?: number;
  readonly log?: Log;
}

/** Fetch answers of at most this size are always allowed, whatever the fetch settings. */
const DEFAULT_FETCH_BUDGET_BYTES = 8 * 1024 * 1024;
/** Room for the JSON around the records of a fetch answer. */
const FETCH_ANSWER_SLACK_BYTES = 64 * 1024;

export interface Settings extends BackoffSettings, Readonly<Record<KafkaRestIntOption, number>> {
  readonly baseUrl: URL;
  readonly dialect: KafkaRestDialect;
  readonly flavor: KafkaRestFlavor;
  readonly clusterId: string;
  readonly v3PathPrefix: string;
  readonly consumerGroup: string;
  readonly fetchBudgetBytes: number;
}

/** What any fetch answer must be allowed to hold: one read of `fetchMaxBytes`, or one largest record. */
const fetchBudgetFloor = (fetchMaxBytes: number, maxRecordBytes: number): number =>
  Math.ceil((Math.max(fetchMaxBytes, maxRecordBytes) * 4) / 3) + FETCH_ANSWER_SLACK_BYTES;

const parseBaseUrl = (options: KafkaRestOptions, problems: string[]): URL | undefined => {
  let baseUrl: URL;
  try {
    baseUrl =
      options.baseUrl instanceof URL ? new URL(options.baseUrl.href) : new URL(String(options.baseUrl));
  } catch {
    problems.push('baseUrl must be an absolute URL (a URL or a string), e.g. https://kafka-rest.example.com');
    return undefined;
  }
  const scheme = schemeProblem(baseUrl, options.allowHttp === true);
  if (scheme === 'http-not-allowed') {
    problems.push('baseUrl must use https (got http:); pass allowHttp: true for local development only');
  } else if (scheme === 'not-http') {
    problems.push(`baseUrl must be an https URL, got ${baseUrl.protocol}`);
  }
  if (baseUrl.username !== '' || baseUrl.password !== '') {
    problems.push('baseUrl must not carry credentials (user:password@): pass them through auth');
  }
  if (baseUrl.search !== '' || baseUrl.hash !== '')
    problems.push('baseUrl must not have a query or a fragment');
  return baseUrl;
};

const parseInts = (options: KafkaRestOptions, problems: string[]): Record<KafkaRestIntOption, number> => {
  const ints = {} as Record<KafkaRestIntOption, number>;
  for (const [name, option] of Object.entries(KAFKA_REST_INT_OPTIONS) as [KafkaRestIntOption, IntOption][]) {
    const value = options[name] ?? option.default;
    const problem = checkInt(value, option);
    if (problem !== undefined) problems.push(`${name} must be ${problem}, got ${JSON.stringify(value)}`);
    ints[name] = value;
  }
  if (ints.backoffMaxMs < ints.backoffBaseMs) problems.push('backoffMaxMs must be ≥ backoffBaseMs');
  return ints;
};

/**
 * Checks every option up front (undici's way): each message names the option and the shape it expects.
 * Throws `ConfigError` (`ERR_CONFIG`) listing every problem.
 */
export const parseOptions = (options: KafkaRestOptions): Settings => {
  const problems: string[] = [];
  const baseUrl = parseBaseUrl(options, problems);
  if (options.allowHttp !== undefined && typeof options.allowHttp !== 'boolean') {
    problems.push('allowHttp must be a boolean');
  }
  const auth = options.auth as Partial<AuthProvider> | undefined;
  if (typeof auth?.headers !== 'function' || typeof auth.refresh !== 'function') {
    problems.push(
      'auth must be an AuthProvider { headers(), refresh() }, e.g. apiKeyAuth(secret) or noAuth()',
    );
  }
  if (options.dispatcher !== undefined && typeof options.dispatcher?.dispatch !== 'function') {
    problems.push('dispatcher must be an undici Dispatcher (Pool, Agent, Client)');
  }
  for (const name of ['now', 'sleep', 'random'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      problems.push(`${name} must be a function`);
  }
  const ints = parseInts(options, problems);
  const budgetFloor = fetchBudgetFloor(ints.fetchMaxBytes, ints.maxRecordBytes);
  const fetchBudgetBytes = options.fetchBudgetBytes ?? Math.max(DEFAULT_FETCH_BUDGET_BYTES, 2 * budgetFloor);
  const budgetProblem = checkInt(fetchBudgetBytes, { min: budgetFloor });
  if (budgetProblem !== undefined) {
    problems.push(
      `fetchBudgetBytes must be ${budgetProblem} (the base64 of max(fetchMaxBytes, maxRecordBytes) plus 64 KiB), got ${JSON.stringify(fetchBudgetBytes)}`,
    );
  }
  const dialect = options.dialect ?? KAFKA_REST_OPTION_DEFAULTS.dialect;
  if (!KAFKA_REST_DIALECTS.includes(dialect)) {
    problems.push(`dialect must be one of ${KAFKA_REST_DIALECTS.join(', ')}, got ${JSON.stringify(dialect)}`);
  }
  const flavor = options.flavor ?? KAFKA_REST_OPTION_DEFAULTS.flavor;
  if (!KAFKA_REST_FLAVORS.includes(flavor)) {
    problems.push(`flavor must be one of ${KAFKA_REST_FLAVORS.join(', ')}, got ${JSON.stringify(flavor)}`);
  } else if (V2_ONLY_FLAVORS.has(flavor) && dialect !== 'v2') {
    problems.push(
      `flavor ${flavor} needs dialect v2 (got ${JSON.stringify(dialect)}): it has no v1 or v3 API`,
    );
  }
  const clusterId = options.clusterId ?? '';
  if (dialect === 'v3' && (typeof clusterId !== 'string' || !PATH_SEGMENT.test(clusterId))) {
    problems.push(
      'clusterId is required for dialect v3: the cluster id of /v3/clusters/{id}, e.g. lkc-abc123',
    );
  }
  const v3PathPrefix = options.v3PathPrefix ?? KAFKA_REST_OPTION_DEFAULTS.v3PathPrefix;
  if (typeof v3PathPrefix !== 'string' || (v3PathPrefix !== '' && !V3_PATH_PREFIX.test(v3PathPrefix))) {
    problems.push("v3PathPrefix must be '' or a path such as /kafka (no trailing slash)");
  }
  const consumerGroup = options.consumerGroup ?? KAFKA_REST_OPTION_DEFAULTS.consumerGroup;
  if (typeof consumerGroup !== 'string' || !PATH_SEGMENT.test(consumerGroup)) {
    problems.push('consumerGroup must be a name of [a-zA-Z0-9._-]');
  }
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `Kafka REST client: ${problem}`));
  return {
    ...ints,
    fetchBudgetBytes,
    baseUrl: baseUrl as URL,
    dialect,
    flavor,
    clusterId,
    v3PathPrefix,
    consumerGroup,
    random: options.random ?? Math.random,
  };
};
