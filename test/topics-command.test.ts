import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  formatDuration,
  parseTopicsArgs,
  runTopicsCommand,
  type TopicsCommand,
  toTable,
} from '../cli/topics-command.js';
import type { KafkaRestServer } from '../dev/kafka-rest/server.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { createTopicAdmin } from '../lib/admin/topic-admin.js';
import type { TopicAdmin } from '../lib/admin/topic-admin-types.js';
import { isAppError } from '../lib/core/errors.js';
import { apiKeyAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { literalSecret } from '../lib/secrets/cache.js';
import { loadAdminConfig } from '../lib/wiring/settings/admin.js';

const KEY = 'topics-cli-key-0123456789abcdef';
const ROOT = join(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

let server: KafkaRestServer | undefined;
const closables: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const item of closables.splice(0).reverse()) await item.close();
  await server?.close();
  server = undefined;
});

const startServer = async (): Promise<KafkaRestServer> => {
  server = await startKafkaRestServer({ topics: { demo: 3, orders: 1 }, apiKey: KEY });
  return server;
};

describe('parseTopicsArgs', () => {
  it.each([
    { name: 'list', argv: ['list'], command: { name: 'list', json: false } },
    { name: 'list --json', argv: ['list', '--json'], command: { name: 'list', json: true } },
    {
      name: 'describe',
      argv: ['describe', 'demo'],
      command: { name: 'describe', topic: 'demo', json: false },
    },
    {
      name: 'create with defaults',
      argv: ['create', 'orders'],
      command: { name: 'create', topic: 'orders', partitions: undefined, retentionHours: undefined },
    },
    {
      name: 'create with flags',
      argv: ['create', 'orders', '--partitions', '6', '--retention-hours', '720'],
      command: { name: 'create', topic: 'orders', partitions: 6, retentionHours: 720 },
    },
    { name: 'delete', argv: ['delete', 'orders'], command: { name: 'delete', topic: 'orders' } },
  ])('parses $name', ({ argv, command }) => {
    expect(parseTopicsArgs(argv)).toEqual({ kind: 'command', command });
  });

  it.each([
    { name: '--help', argv: ['--help'] },
    { name: '-h after a command', argv: ['create', 'x', '-h'] },
    { name: 'help', argv: ['help'] },
  ])('asks for help on $name', ({ argv }) => {
    expect(parseTopicsArgs(argv)).toEqual({ kind: 'help' });
  });

  it.each([
    { name: 'no command', argv: [], message: /a command is required/ },
    { name: 'an unknown command', argv: ['drop', 'x'], message: /unknown command "drop"/ },
    { name: 'an unknown flag', argv: ['list', '--all'], message: /--all/ },
    { name: 'describe without a topic', argv: ['describe'], message: /exactly one topic/ },
    { name: 'delete with two topics', argv: ['delete', 'a', 'b'], message: /exactly one topic/ },
    { name: 'list with a topic', argv: ['list', 'demo'], message: /list takes no topic/ },
    { name: 'an illegal topic name', argv: ['create', 'a:b'], message: /topic name is 1 to 249/ },
    {
      name: '0 partitions',
      argv: ['create', 'x', '--partitions', '0'],
      message: /--partitions must be .* 1 to 100/,
    },
    { name: 'partitions not a number', argv: ['create', 'x', '--partitions', 'six'], message: /got six/ },
    { name: '721 hours', argv: ['create', 'x', '--retention-hours', '721'], message: /from 1 to 720/ },
    { name: '1.5 hours', argv: ['create', 'x', '--retention-hours', '1.5'], message: /--retention-hours/ },
    {
      name: '--partitions on delete',
      argv: ['delete', 'x', '--partitions', '2'],
      message: /belong to create/,
    },
    { name: '--json on create', argv: ['create', 'x', '--json'], message: /--json belongs to list/ },
  ])('refuses $name', ({ argv, message }) => {
    const parsed = parseTopicsArgs(argv);

    expect(parsed.kind).toBe('usage-error');
    expect(parsed.kind === 'usage-error' && parsed.message).toMatch(message);
  });
});

describe('loadAdminConfig', () => {
  it.each([
    { name: 'no admin URL', env: {}, adminUrl: undefined },
    {
      name: 'an https URL',
      env: { KAFKA_ADMIN_URL: 'https://kafka-admin.example:443' },
      adminUrl: 'https://kafka-admin.example/',
    },
    {
      name: 'plain http allowed for local runs',
      env: { KAFKA_ADMIN_URL: 'http://127.0.0.1:8082', KAFKA_REST_ALLOW_HTTP: 'true' },
      adminUrl: 'http://127.0.0.1:8082/',
    },
  ])('accepts $name', ({ env, adminUrl }) => {
    expect(loadAdminConfig(env).adminUrl?.toString()).toBe(adminUrl);
  });

  it.each([
    { name: 'plain http', env: { KAFKA_ADMIN_URL: 'http://kafka-admin.example' }, message: /must use https/ },
    {
      name: 'not a URL',
      env: { KAFKA_ADMIN_URL: 'kafka-admin' },
      message: /KAFKA_ADMIN_URL must be an absolute URL/,
    },
  ])('refuses $name with ERR_CONFIG', ({ env, message }) => {
    let error: unknown;
    try {
      loadAdminConfig(env);
    } catch (caught) {
      error = caught;
    }

    expect(isAppError(error) && error.code).toBe('ERR_CONFIG');
    expect((error as Error).message).toMatch(message);
  });
});

describe('formatting', () => {
  it.each([
    { ms: 86_400_000, text: '1d' },
    { ms: 604_800_000, text: '7d' },
    { ms: 3_600_000, text: '1h' },
    { ms: 129_600_000, text: '36h' },
    { ms: 1_500, text: '1500ms' },
  ])('formats $ms ms as $text', ({ ms, text }) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('aligns columns two spaces apart with no trailing blanks', () => {
    expect(
      toTable(
        ['A', 'LONGER'],
        [
          ['wide cell', ''],
          ['x', 'y'],
        ],
      ),
    ).toBe('A          LONGER\nwide cell\nx          y');
  });
});

describe('runTopicsCommand against the local server', () => {
  const setup = async (withAdminApi = true) => {
    const srv = await startServer();
    const kafka: KafkaRestClient = createKafkaRest({
      baseUrl: srv.url,
      allowHttp: true,
      auth: apiKeyAuth(literalSecret(KEY)),
    });
    const admin: TopicAdmin = createTopicAdmin({
      kafka,
      adminUrl: withAdminApi ? srv.url : undefined,
      allowHttp: true,
      auth: apiKeyAuth(literalSecret(KEY)),
    });
    closables.push(kafka, admin);
    const out: string[] = [];
    const err: string[] = [];
    const run = (command: TopicsCommand) =>
      runTopicsCommand({ admin, out: (line) => out.push(line), err: (line) => err.push(line) }, command);
    return { srv, out, err, run };
  };

  it('lists topics as a table', async () => {
    const { out, run } = await setup();

    expect(await run({ name: 'list', json: false })).toBe(0);
    expect(out.join('\n')).toBe(
      [
        'TOPIC   PARTITIONS  RETENTION  STATE',
        'demo    3           1d         active',
        'orders  1           1d         active',
      ].join('\n'),
    );
  });

  it('lists without an admin API, saying what is missing', async () => {
    const { out, run } = await setup(false);

    expect(await run({ name: 'list', json: true })).toBe(0);
    expect(JSON.parse(out[0] ?? '')).toEqual([
      { name: 'demo', partitions: 3, markedForDeletion: false },
      { name: 'orders', partitions: 1, markedForDeletion: false },
    ]);
    out.length = 0;
    await run({ name: 'list', json: false });
    expect(out.join('\n')).toContain('set KAFKA_ADMIN_URL');
  });

  it('describes partitions, leaders, replicas and in-sync replicas', async () => {
    const { out, run } = await setup();

    expect(await run({ name: 'describe', topic: 'demo', json: false })).toBe(0);
    expect(out.join('\n')).toBe(
      [
        'topic demo: 3 partitions',
        'PARTITION  LEADER  REPLICAS  IN-SYNC',
        '0          0       0         0',
        '1          0       0         0',
        '2          0       0         0',
      ].join('\n'),
    );
  });

  it.each([
    {
      name: 'describe of an unknown topic',
      command: { name: 'describe', topic: 'nope', json: false },
      code: 1,
      err: 'topic nope does not exist',
    },
    {
      name: 'delete of an unknown topic',
      command: { name: 'delete', topic: 'nope' },
      code: 1,
      err: 'topic nope does not exist',
    },
  ] as const)('fails $name with exit 1', async ({ command, code, err: message }) => {
    const { err, run } = await setup();

    expect(await run(command)).toBe(code);
    expect(err).toEqual([message]);
  });

  it('creates with partitions and retention, then answers "exists" with exit 0', async () => {
    const { srv, out, run } = await setup();

    expect(await run({ name: 'create', topic: 'logs', partitions: 4, retentionHours: 168 })).toBe(0);
    expect(
      await run({ name: 'create', topic: 'logs', partitions: undefined, retentionHours: undefined }),
    ).toBe(0);

    expect(out).toEqual([
      'topic logs: creation accepted (4 partitions, retention 7d); it may take a few seconds to be listed',
      'topic logs already exists: left unchanged',
    ]);
    expect(srv.records('logs', 3)).toEqual([]);
  });

  it('deletes a topic', async () => {
    const { srv, out, run } = await setup();

    expect(await run({ name: 'delete', topic: 'orders' })).toBe(0);
    expect(out[0]).toContain('deletion accepted');
    expect(() => srv.records('orders', 0)).toThrow(/unknown topic/);
  });

  it('exits 2 with the error code when create has no admin API to go to', async () => {
    const { err, run } = await setup(false);

    expect(await run({ name: 'create', topic: 'x', partitions: undefined, retentionHours: undefined })).toBe(
      2,
    );
    expect(err[0]).toMatch(/^ERR_CONFIG: cannot create topic x: no admin API URL/);
  });
});

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npx tsx cli/topics.ts …` as an operator runs it, with only the given settings in its env. */
const runCli = (argv: readonly string[], env: Record<string, string>): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(TSX, ['cli/topics.ts', ...argv], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

// Sequential on purpose: each child spends ≈1 s starting tsx, and several at once only contend for the CPU.
describe('the topics CLI as a child process', () => {
  const ownServer = async (): Promise<KafkaRestServer> => {
    const srv = await startKafkaRestServer({ topics: { demo: 3, orders: 1 }, apiKey: KEY });
    onTestFinished(() => srv.close());
    return srv;
  };

  const envFor = (srv: KafkaRestServer, key = KEY): Record<string, string> => ({
    KAFKA_REST_URL: srv.url,
    KAFKA_ADMIN_URL: srv.url,
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_API_KEY: key,
  });

  it('lists the topics of the server its env points at (exit 0)', async () => {
    const srv = await ownServer();

    const result = await runCli(['list'], envFor(srv));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('demo    3           1d         active');
    expect(result.stdout).toContain('orders  1           1d         active');
  });

  it('creates a topic that the server then serves (exit 0)', async () => {
    const srv = await ownServer();

    const result = await runCli(
      ['create', 'audit', '--partitions', '2', '--retention-hours', '48'],
      envFor(srv),
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('creation accepted (2 partitions, retention 2d)');
    expect(srv.records('audit', 1)).toEqual([]);
  });

  it('fails with exit 1 and the error code for a refused key, never printing a key', async () => {
    const srv = await ownServer();

    const result = await runCli(['list'], envFor(srv, 'wrong-key-for-the-cli-000'));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_UPSTREAM_AUTH');
    expect(`${result.stdout}${result.stderr}`).not.toContain('wrong-key-for-the-cli');
    expect(`${result.stdout}${result.stderr}`).not.toContain(KEY);
  });

  it('exits 2 with usage for bad arguments, before reading any configuration', async () => {
    const result = await runCli(['create'], {});

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('create takes exactly one topic name');
    expect(result.stderr).toContain('Usage: npm run topics');
  });

  it('exits 2 listing every configuration problem', async () => {
    const result = await runCli(['list'], {
      KAFKA_ADMIN_URL: 'http://admin.example',
      KAFKA_REST_API_KEY: 'k',
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('KAFKA_REST_URL is required');
    expect(result.stderr).toContain('KAFKA_ADMIN_URL must use https');
  });
});
