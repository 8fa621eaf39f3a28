/**
 * `npm start`: the whole bridge on one machine with no AWS account. It checks that its ports are free and
 * that every function's settings are valid, starts the local Kafka REST server, dynalite with the tables,
 * a printing HTTP sink, and the functions under `serverless offline --stage local`; it says "ready" only
 * once our own webhook function answers; then it runs the drain every few seconds through the offline
 * Lambda API (a real schedule fires at most once a minute, too slow to watch a record come through).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../lib/core/errors.js';
import { loadDrainConfig } from '../lib/wiring/settings/drain.js';
import type { Env } from '../lib/wiring/settings/env.js';
import { loadEventsConfig } from '../lib/wiring/settings/events.js';
import { loadQueueConfig } from '../lib/wiring/settings/queue.js';
import { loadWebhookConfig } from '../lib/wiring/settings/webhook.js';
import { localConsoleEnv, startConsole } from './console/start-console.js';
import { toConsoleLine } from './console-lines.js';
import { ensureTable, SPOOL_KEYS_TABLE_KEYS } from './dynamodb-table.js';
import { startHttpSink } from './http-sink.js';
import { startKafkaRestServer } from './kafka-rest/server.js';
import { localQueueUrl, startLocalAws } from './local-aws.js';
import { invokeLocal } from './local-invoke.js';
import { LOCAL } from './local-stage.js';
import {
  PORTS,
  type PortName,
  parseStartOptions,
  readLocalFile,
  type StartOptions,
  USAGE,
} from './start-options.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => import('node:net').Server;
const SERVERLESS = require.resolve('serverless/bin/serverless.js');
const ROOT = new URL('../', import.meta.url);

const DRAIN_EVERY_MS = 3_000;
const READY_TIMEOUT_MS = 120_000;

const say = (source: string, line: string): void => {
  process.stdout.write(`${`[${source}]`.padEnd(12)} ${line}\n`);
};

const fail = (heading: string, problems: readonly string[]): never => {
  process.stderr.write(`npm start: ${heading}\n${problems.map((problem) => `  - ${problem}\n`).join('')}`);
  process.exit(2);
};

/** The ports another program holds: binding each for a moment is the only reliable check. */
const busyPorts = async (ports: StartOptions['ports']): Promise<string[]> => {
  const busy: string[] = [];
  for (const [name, port] of Object.entries(ports) as [PortName, number][]) {
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) await new Promise((resolve) => server.close(resolve));
    else
      busy.push(
        `port ${port} (${PORTS[name].serves}) is in use by another program: stop it, or pass --${PORTS[name].flag} <port>`,
      );
  }
  return busy;
};

/**
 * The stage parameters that follow from the options: every URL points at our own servers' ports, or the
 * proxy URL at the real bridge (which takes no credential).
 */
const localParams = (
  { dialect, flavor, ports, routes }: StartOptions,
  bridgeUrl: string | undefined,
): Record<string, string> => ({
  kafkaRestDialect: dialect,
  kafkaRestFlavor: flavor,
  ...(dialect === 'v3' ? { kafkaRestClusterId: LOCAL.clusterId } : {}),
  ...(bridgeUrl === undefined
    ? { kafkaRestUrl: `http://127.0.0.1:${ports.kafkaRestPort}` }
    : { kafkaRestUrl: bridgeUrl, kafkaRestAuth: 'none' }),
  dynamodbEndpoint: `http://127.0.0.1:${ports.dynamoPort}`,
  sqsEndpoint: `http://127.0.0.1:${ports.sqsPort}`,
  s3Endpoint: `http://127.0.0.1:${ports.s3Port}`,
  drainDlqUrl: localQueueUrl(ports.sqsPort, LOCAL.drainDlqQueue),
  spoolQueueUrl: localQueueUrl(ports.sqsPort, LOCAL.spoolQueue),
  spoolDlqUrl: localQueueUrl(ports.sqsPort, LOCAL.spoolDlqQueue),
  drains: JSON.stringify(LOCAL.drains(ports.sinkPort)),
  ...(routes === undefined ? {} : { webhookRoutes: routes }),
});

const paramFlags = (params: Record<string, string>): string[] =>
  Object.entries(params).flatMap(([name, value]) => ['--param', `${name}=${value}`]);

interface PrintedFunction {
  readonly environment?: Record<string, string>;
}

/**
 * Every function's settings as the local stage gives them (`serverless print`), validated by each
 * function's own loader, so a mistake is reported now and not by the first request.
 */
const configProblems = async (params: Record<string, string>): Promise<string[]> => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [SERVERLESS, 'print', '--stage', 'local', '--format', 'json', ...paramFlags(params)],
    { cwd: ROOT, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' }, maxBuffer: 16 * 1024 * 1024 },
  );
  const printed = JSON.parse(stdout) as {
    provider: { environment?: Record<string, string> };
    functions: Record<string, PrintedFunction>;
  };
  const loaders: Record<string, (env: Env) => unknown> = {
    webhook: loadWebhookConfig,
    queue: loadQueueConfig,
    events: loadEventsConfig,
    drain: loadDrainConfig,
  };
  const problems: string[] = [];
  for (const [name, load] of Object.entries(loaders)) {
    const env = { ...printed.provider.environment, ...printed.functions[name]?.environment };
    try {
      load(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((problem) => `${name}: ${problem}`));
    }
  }
  return problems;
};

const stopPeers = (): void => {
  spawnSync('bash', ['peers/stop.sh', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
};

/** Starts the real pair of peers/ (its own checks and messages), and answers the bridge's URL. */
const startPeers = (): string => {
  const started = spawnSync('bash', ['peers/start.sh'], { cwd: ROOT, stdio: 'inherit' });
  if (started.status !== 0)
    fail('the real peers did not start (see above; peers/README.md says what they need)', []);
  const env = readFileSync(new URL('.peers/run/peers.env', ROOT), 'utf8');
  const url = /^PEERS_BRIDGE_URL=(.+)$/m.exec(env)?.[1];
  if (url === undefined)
    return fail('the real peers started but .peers/run/peers.env names no bridge URL', []);
  return url;
};

/** `GET /openapi.yaml`: docs/openapi.yaml as it is in the work tree; anything else is a 404. */
const serveOpenApi = async (port: number): Promise<Server> => {
  const server = createHttpServer((request, response) => {
    if (request.method === 'GET' && request.url === '/openapi.yaml') {
      response.writeHead(200, { 'content-type': 'application/yaml' });
      response.end(readFileSync(new URL('docs/openapi.yaml', ROOT)));
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('GET /openapi.yaml\n');
    }
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
};

/** Waits until our webhook function answers its own 404 for `/hooks`: not merely "something on the port". */
const waitForWebhook = async (port: number, child: ChildProcess): Promise<void> => {
  const url = `http://127.0.0.1:${port}/hooks`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serverless offline exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      const body = (await response.json().catch(() => undefined)) as { code?: string } | undefined;
      if (response.status === 404 && body?.code === 'ERR_ROUTE_NOT_FOUND') return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`the webhook function did not answer at ${url} within ${READY_TIMEOUT_MS / 1000} s`);
};

/**
 * serverless offline's and the functions' output: short lines by default, everything with --verbose.
 * Until `isReady()`, the readiness probe's own 404s are left out.
 */
const relay = (stream: NodeJS.ReadableStream, verbose: boolean, isReady: () => boolean): void => {
  createInterface({ input: stream }).on('line', (line) => {
    if (verbose) {
      process.stdout.write(`${line}\n`);
      return;
    }
    const shown = toConsoleLine(line);
    if (shown === undefined) return;
    if (!isReady() && shown.source === 'webhook' && shown.text.includes('ERR_ROUTE_NOT_FOUND')) return;
    say(shown.source, shown.text);
  });
};

const main = async (): Promise<void> => {
  const parsed = parseStartOptions(process.argv.slice(2), readLocalFile(ROOT));
  if ('problems' in parsed) {
    if (parsed.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    process.stderr.write(`${USAGE}\n\n`);
    return fail('cannot start:', parsed.problems);
  }
  const { options } = parsed;
  const { ports } = options;

  const busy = await busyPorts(options.peers === undefined ? ports : { ...ports, kafkaRestPort: 0 });
  if (busy.length > 0) fail('cannot start:', busy);
  const bridgeUrl = options.peers === undefined ? undefined : startPeers();
  const params = localParams(options, bridgeUrl);
  const problems = await configProblems(params);
  if (problems.length > 0)
    fail('the functions’ settings are invalid (serverless.yml params.local, flags, local.json):', problems);

  // serverless offline loads whatever handler file it finds first: drop bundles of an earlier build.
  await rm(new URL('.esbuild', ROOT), { recursive: true, force: true });
  const kafka =
    bridgeUrl !== undefined
      ? undefined
      : await startKafkaRestServer({
          port: ports.kafkaRestPort,
          topics: LOCAL.topics,
          apiKey: LOCAL.apiKey,
          unknownTopic: '404',
          flavor: options.flavor,
          clusterId: LOCAL.clusterId,
          ...(options.verbose ? { log: (line: string) => say('kafka-rest', line) } : {}),
        });
  say(
    'kafka-rest',
    kafka === undefined
      ? `the real Strimzi Kafka Bridge at ${bridgeUrl} in front of a real Kafka (peers/), topics demo, orders; the functions speak v2 (strimzi)`
      : `Kafka REST (${options.flavor === 'strimzi' ? 'the Strimzi bridge API' : `v1, v2, v3; ${options.flavor}`}) at ${kafka.url}, topics ${Object.keys(LOCAL.topics).join(', ')}; the functions speak ${options.dialect}`,
  );

  const dynamo = dynalite({ createTableMs: 0 });
  dynamo.listen(ports.dynamoPort, '127.0.0.1');
  await once(dynamo, 'listening');
  const dynamoClient = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${ports.dynamoPort}`,
    region: LOCAL.region,
    credentials: LOCAL.credentials,
  });
  await ensureTable(dynamoClient, LOCAL.checkpointTable);
  await ensureTable(dynamoClient, LOCAL.idempotencyTable);
  await ensureTable(dynamoClient, LOCAL.spoolKeysTable, SPOOL_KEYS_TABLE_KEYS);
  dynamoClient.destroy();
  say(
    'dynalite',
    `tables ${LOCAL.checkpointTable}, ${LOCAL.idempotencyTable}, ${LOCAL.spoolKeysTable} at http://127.0.0.1:${ports.dynamoPort}`,
  );

  const aws = await startLocalAws(ports);
  say(
    'sqs',
    `SQS at ${aws.sqs.endpoint}, queues ${LOCAL.queues.map((queue) => queue.name).join(', ')}; the drain dead-letters to ${LOCAL.drainDlqQueue}`,
  );
  say(
    's3',
    `S3 at ${aws.s3.endpoint} (path-style)${LOCAL.buckets.length === 0 ? ', no buckets' : `, buckets ${LOCAL.buckets.join(', ')}`}`,
  );

  const sink = await startHttpSink({ port: ports.sinkPort, print: (line) => say('sink', line) });
  say('sink', `HTTP sink at ${sink.url}: drained records are printed here`);
  const docs = await serveOpenApi(ports.docsPort);
  say('start', `the webhook API's OpenAPI 3.1 description: http://localhost:${ports.docsPort}/openapi.yaml`);
  const localConsole = await startConsole({
    port: ports.consolePort,
    env: localConsoleEnv(params),
    warn: (line) => say('console', line),
  });
  say(
    'console',
    `topics, latest records, drains (pause, resume, replay), DLQs (redrive): ${localConsole.url}`,
  );

  const offline = spawn(
    process.execPath,
    [
      SERVERLESS,
      ...['offline', 'start', '--stage', 'local'],
      ...['--httpPort', String(ports.httpPort), '--lambdaPort', String(ports.lambdaPort)],
      ...paramFlags(params),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: LOCAL.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL.credentials.secretAccessKey,
        AWS_REGION: LOCAL.region,
        SLS_TELEMETRY_DISABLED: '1',
      },
    },
  );
  let ready = false;
  relay(offline.stdout, options.verbose, () => ready);
  relay(offline.stderr, options.verbose, () => ready);
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      offline.kill('SIGINT');
      await Promise.allSettled([
        aws.close(),
        kafka?.close(),
        sink.close(),
        localConsole.close(),
        new Promise((resolve) => docs.close(resolve)),
        new Promise((resolve) => dynamo.close(resolve)),
      ]);
      if (bridgeUrl !== undefined) stopPeers();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  offline.on('exit', (code) => {
    if (!stopping) {
      say('start', `serverless offline exited (${code}); stopping`);
      void stop(code ?? 1);
    }
  });

  await waitForWebhook(ports.httpPort, offline);
  ready = true;
  aws.startEventSources(ports.lambdaPort, (line) => say('sqs', line));
  for (const mapping of LOCAL.eventSources) {
    say('sqs', `${mapping.queue} → the ${mapping.function} function (as its event source mapping)`);
  }
  say('start', `ready: curl -i -X POST localhost:${ports.httpPort}/hooks/demo -d '{"hello":"world"}'`);

  if (options.dialect === 'v3') {
    // v3 has no consume API: a drain reads over v1 or v2 only.
    say('drain', 'not run: v3 only produces; read the records with curl or start with --dialect v1 or v2');
    return;
  }
  for (;;) {
    await sleep(DRAIN_EVERY_MS);
    if (stopping) return;
    try {
      const result = await invokeLocal(ports.lambdaPort, 'drain', {});
      if (!result.ok) say('drain', `failed: ${result.error.slice(0, 300)}`);
    } catch (error) {
      say('drain', `could not invoke: ${(error as Error).message}`);
    }
  }
};

main().catch((error: unknown) => {
  say('start', `failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
