import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type RawReply, rawCall } from '../../dev/kafka-rest/raw-client.js';
import {
  type KafkaRestServer,
  type KafkaRestServerOptions,
  startKafkaRestServer,
} from '../../dev/kafka-rest/server.js';

export interface LocalServerHarness {
  /** Starts this test's server: `defaults`, then `options`. */
  start(options?: KafkaRestServerOptions): Promise<KafkaRestServer>;
  /** One raw HTTP exchange with the started server (a non-string body is sent as JSON). */
  call(
    method: string,
    path: string,
    options?: { headers?: Record<string, string>; body?: unknown },
  ): Promise<RawReply>;
  /** A data dir for this test, removed after it. */
  tempDir(): string;
}

/**
 * The local Kafka REST server's own tests: one server per test, started with `defaults`, reached over raw
 * HTTP, and closed (with its data dirs removed) after each test. Call at the top of a test file.
 */
export const localServerHarness = (defaults: KafkaRestServerOptions): LocalServerHarness => {
  let server: KafkaRestServer | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    start: async (options = {}) => {
      server = await startKafkaRestServer({ ...defaults, ...options });
      return server;
    },
    call: (method, path, options = {}) => {
      if (server === undefined) throw new Error('no server started');
      return rawCall(server.url, method, path, options);
    },
    tempDir: () => {
      const dir = mkdtempSync(join(tmpdir(), 'kafka-rest-test-'));
      dirs.push(dir);
      return dir;
    },
  };
};

/** The JSON of an answer's body. */
export const json = (reply: RawReply): unknown => JSON.parse(reply.text);
