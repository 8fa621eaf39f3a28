import { it } from 'vitest';
import {
  type KafkaRestServer,
  type KafkaRestServerOptions,
  startKafkaRestServer,
} from '../../dev/kafka-rest/server.js';
import { apiKeyAuth, noAuth } from '../../lib/kafka-rest/auth.js';
import { createKafkaRest, type KafkaRestOptions } from '../../lib/kafka-rest/client.js';
import type { KafkaRestDialect, KafkaRestFlavor } from '../../lib/kafka-rest/flavors.js';
import type { KafkaRestClient, ProduceFailure, ProduceResult } from '../../lib/kafka-rest/types.js';
import { splitJsonObjects } from '../../lib/kafka-rest/v3.js';
import { literalSecret } from '../../lib/secrets/cache.js';
import { createMemoryLog } from './log.js';

export interface KafkaRestFixture {
  readonly server: KafkaRestServer;
  readonly client: KafkaRestClient;
  readonly log: ReturnType<typeof createMemoryLog>;
  /** Every wait the client asked for, in ms; the injected `sleep` records and returns at once. */
  readonly sleeps: number[];
  /** Closes the client, then the server. */
  close(): Promise<void>;
}

export interface KafkaRestFixtureOptions {
  /** Sets the server's flavor and the client's dialect, flavor and cluster id (overridable by the two below). */
  readonly dialect?: DialectCase;
  readonly server?: KafkaRestServerOptions;
  /** Overrides for the client; by default: `apiKeyAuth` with the server's key (or `noAuth`), allowHttp. */
  readonly client?: Partial<KafkaRestOptions>;
}

/**
 * Starts the local Kafka REST server and a client against it, over real sockets. Backoff never slows a test
 * down: `sleep` only records the wait, and `random` is 0.5 so the full-jitter waits are predictable.
 */
export const startKafkaRestWithClient = async (
  options: KafkaRestFixtureOptions = {},
): Promise<KafkaRestFixture> => {
  const server = await startKafkaRestServer({
    ...(options.dialect === undefined ? {} : { flavor: options.dialect.flavor }),
    // Checked like Confluent Cloud does, so a client sending another id fails.
    ...(options.dialect?.dialect === 'v3' ? { clusterId: LOCAL_CLUSTER_ID } : {}),
    ...options.server,
  });
  const log = createMemoryLog();
  const sleeps: number[] = [];
  const apiKey = options.server?.apiKey;
  const client = createKafkaRest({
    baseUrl: server.url,
    allowHttp: true,
    auth: apiKey === undefined ? noAuth() : apiKeyAuth(literalSecret(apiKey)),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    log,
    ...(options.dialect === undefined ? {} : clientOptionsFor(options.dialect)),
    ...options.client,
  });
  return {
    server,
    client,
    log,
    sleeps,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
};

/** A deadline `ms` from now, on the real clock (the client's default `now`). */
export const deadlineIn = (ms = 10_000): { deadlineMs: number } => ({ deadlineMs: Date.now() + ms });

export const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** One dialect and flavor of the local server and the client, for `describe.each` tables. */
export interface DialectCase {
  readonly name: string;
  readonly dialect: KafkaRestDialect;
  readonly flavor: KafkaRestFlavor;
}

/** The local server's default v3 cluster id. */
export const LOCAL_CLUSTER_ID = 'local-cluster';

/** Every way the client can produce: v1, v2 per flavor, v3 (Confluent's only), v2 on the Strimzi bridge. */
export const PRODUCE_DIALECTS: readonly DialectCase[] = [
  { name: 'v1', dialect: 'v1', flavor: 'confluent' },
  { name: 'v2 confluent', dialect: 'v2', flavor: 'confluent' },
  { name: 'v2 redpanda', dialect: 'v2', flavor: 'redpanda' },
  { name: 'v2 karapace', dialect: 'v2', flavor: 'karapace' },
  { name: 'v3', dialect: 'v3', flavor: 'confluent' },
  // Last, so the suites that pick a case by its index keep theirs.
  { name: 'v2 strimzi', dialect: 'v2', flavor: 'strimzi' },
];

/** Every way the client can read (the drain): v3 has no consume API. */
export const READ_DIALECTS: readonly DialectCase[] = PRODUCE_DIALECTS.filter((c) => c.dialect !== 'v3');

/** Client options for a dialect case against the local server. */
export const clientOptionsFor = (c: DialectCase): Partial<KafkaRestOptions> => ({
  dialect: c.dialect,
  flavor: c.flavor,
  ...(c.dialect === 'v3' ? { clusterId: LOCAL_CLUSTER_ID } : {}),
  // The local server answers an empty read at once; a short wait keeps the rare real wait short too.
  fetchWaitMs: 50,
});

/** Where a produce to topic `demo` goes on the local server, in the case's dialect. */
export const producePath = (c: DialectCase): string =>
  c.dialect === 'v3' ? `/v3/clusters/${LOCAL_CLUSTER_ID}/topics/demo/records` : '/topics/demo';

/** The records of a produce request body, in the dialect's shape, as `{ key, value }` text (base64 decoded). */
export const sentRecords = (c: DialectCase, body: string): { key: string | null; value: string | null }[] => {
  const decode = (b64: unknown) => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString() : null);
  if (c.dialect === 'v3') {
    return splitJsonObjects(body).values.map((text) => {
      const record = JSON.parse(text) as { key?: { data?: string }; value?: { data?: string } };
      return { key: decode(record.key?.data), value: decode(record.value?.data) };
    });
  }
  return (JSON.parse(body) as { records: { key?: string; value?: string | null }[] }).records.map(
    (record) => ({
      key: decode(record.key),
      value: decode(record.value),
    }),
  );
};

/** The error of a produce result the test expects to have failed; a success (or no result) fails the test. */
export const failureOf = (result: ProduceResult | undefined): ProduceFailure['error'] => {
  if (result === undefined || result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result.error;
};

/**
 * Registers a test only where it applies: a test skipped on some dialect would be one that proves nothing
 * there, and the suite allows no skipped tests.
 */
export const itWhere = (applies: boolean): ((name: string, fn: () => Promise<void>) => void) =>
  applies ? (name, fn) => it(name, fn) : () => undefined;
