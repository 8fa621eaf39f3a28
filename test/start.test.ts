import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** `npm start` as a user runs it (tsx with the tools' env file), stopped after `timeoutMs`. */
const start = async (args: readonly string[]): Promise<{ code: number | null; output: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['--env-file=dev/tools.env', 'dev/start.ts', ...args],
      { cwd: ROOT, timeout: 30_000 },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number | null; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
};

describe('npm start refuses to start half-working', () => {
  let held: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (held === undefined ? resolve(undefined) : held.close(resolve)));
    held = undefined;
  });

  it('names a port another program holds, before starting anything', async () => {
    // Prepare: another program on the webhook port
    held = createServer();
    await new Promise<void>((resolve) => held?.listen(0, '127.0.0.1', () => resolve()));
    const port = (held.address() as AddressInfo).port;

    // Act
    const { code, output } = await start(['--http-port', String(port)]);

    // Assess
    expect(code).toBe(2);
    expect(output).toContain(`port ${port} (webhooks (serverless offline)) is in use by another program`);
    expect(output).not.toContain('ready');
  }, 40_000);

  it('lists every function setting problem before saying ready', async () => {
    // Act: a route without a verify scheme, and one with a bad topic; ports below Linux's ephemeral range
    // (32768–60999), so no connection of another test holds one
    const { code, output } = await start([
      '--http-port',
      '29001',
      '--lambda-port',
      '29002',
      '--kafka-rest-port',
      '29003',
      '--dynamo-port',
      '29004',
      '--sink-port',
      '29005',
      '--docs-port',
      '29006',
      '--sqs-port',
      '29007',
      '--s3-port',
      '29008',
      '--routes',
      '{"a":{"topic":"a"},"b":{"topic":"no spaces","verify":{"scheme":"none"}}}',
    ]);

    // Assess
    expect(code).toBe(2);
    expect(output).toContain('the functions’ settings are invalid');
    expect(output).toContain('webhook: WEBHOOK_ROUTES.a.verify is required');
    expect(output).toContain('webhook: WEBHOOK_ROUTES.b.topic must be a Kafka topic name');
    expect(output).not.toContain('ready');
  }, 40_000);

  it('says what was wrong with a flag', async () => {
    const { code, output } = await start(['--dialect', 'v4']);

    expect(code).toBe(2);
    expect(output).toContain('--dialect must be one of v1 | v2 | v3, got "v4"');
  }, 40_000);
});
