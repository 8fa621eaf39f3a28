import {
  type KafkaRestServer,
  type KafkaRestServerOptions,
  startKafkaRestServer,
} from '../../dev/kafka-rest/server.js';
import { apiKeyAuth, noAuth } from '../../lib/kafka-rest/auth.js';
import { createKafkaRest, type KafkaRestOptions } from '../../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../../lib/kafka-rest/types.js';
import { literalSecret } from '../../lib/secrets.js';
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
  const server = await startKafkaRestServer(options.server);
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
