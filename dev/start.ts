/**
 * `npm start`: the whole bridge on one machine with no AWS account (design §6). It starts the local Kafka
 * REST server, dynalite with the checkpoint table, a printing HTTP sink, and the functions under
 * `serverless offline --stage local`; then it runs the drain every few seconds through the offline Lambda
 * API (a real schedule fires at most once a minute, too slow to watch a record come through).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../lib/dynamodb-table.js';
import {
  KAFKA_REST_DIALECTS,
  KAFKA_REST_FLAVORS,
  type KafkaRestDialect,
  type KafkaRestFlavor,
} from '../lib/kafka-rest/flavors.js';
import { startHttpSink } from './http-sink.js';
import { startKafkaRestServer } from './kafka-rest/server.js';
import { LOCAL } from './local-stage.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => import('node:net').Server;

const DRAIN_EVERY_MS = 3_000;

const say = (source: string, line: string): void => {
  process.stdout.write(`${`[${source}]`.padEnd(12)} ${line}\n`);
};

const waitForHttp = async (url: string, child: ChildProcess, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serverless offline exited with ${child.exitCode}`);
    try {
      await fetch(url, { method: 'GET' });
      return;
    } catch {
      await sleep(250);
    }
  }
  throw new Error(`nothing answered at ${url} within ${timeoutMs} ms`);
};

const USAGE = `Usage: npm start [-- --dialect v1|v2|v3] [--flavor confluent|redpanda|karapace]

Runs the whole bridge locally. The local Kafka REST server speaks v1, v2 and v3 at once; --dialect picks
the one the functions use, --flavor the server's and the client's quirks.`;

/** The API the functions speak to the local server; the server itself answers every dialect at once. */
const parseDialect = (): { dialect: KafkaRestDialect; flavor: KafkaRestFlavor } => {
  const { values } = parseArgs({
    options: {
      dialect: { type: 'string', default: 'v1' },
      flavor: { type: 'string', default: 'confluent' },
      help: { type: 'boolean', default: false },
    },
  });
  const dialect = values.dialect as KafkaRestDialect;
  const flavor = values.flavor as KafkaRestFlavor;
  if (values.help || !KAFKA_REST_DIALECTS.includes(dialect) || !KAFKA_REST_FLAVORS.includes(flavor)) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  return { dialect, flavor };
};

const main = async (): Promise<void> => {
  const { dialect, flavor } = parseDialect();
  // serverless offline loads whatever handler file it finds first: drop bundles of an earlier build.
  await rm(new URL('../.esbuild', import.meta.url), { recursive: true, force: true });
  const kafka = await startKafkaRestServer({
    port: LOCAL.kafkaRestPort,
    topics: LOCAL.topics,
    apiKey: LOCAL.apiKey,
    unknownTopic: '404',
    flavor,
    clusterId: LOCAL.clusterId,
    log: (line) => say('kafka-rest', line),
  });
  say(
    'kafka-rest',
    `Kafka REST (v1, v2, v3; ${flavor}) at ${kafka.url}, topics ${Object.keys(LOCAL.topics).join(', ')}; the functions speak ${dialect}`,
  );

  const dynamo = dynalite({ createTableMs: 0 });
  dynamo.listen(LOCAL.dynamoPort, '127.0.0.1');
  await once(dynamo, 'listening');
  const dynamoClient = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${LOCAL.dynamoPort}`,
    region: LOCAL.region,
    credentials: LOCAL.credentials,
  });
  await ensureTable(dynamoClient, LOCAL.checkpointTable);
  await ensureTable(dynamoClient, LOCAL.idempotencyTable);
  dynamoClient.destroy();
  say(
    'dynalite',
    `tables ${LOCAL.checkpointTable}, ${LOCAL.idempotencyTable} at http://127.0.0.1:${LOCAL.dynamoPort}`,
  );

  const sink = await startHttpSink({ port: LOCAL.sinkPort, print: (line) => say('sink', line) });
  say('sink', `HTTP sink at ${sink.url}: drained records are printed here`);

  const offline = spawn(
    process.execPath,
    [
      require.resolve('serverless/bin/serverless.js'),
      ...['offline', 'start', '--stage', 'local'],
      ...['--param', `kafkaRestDialect=${dialect}`, '--param', `kafkaRestFlavor=${flavor}`],
      ...(dialect === 'v3' ? ['--param', `kafkaRestClusterId=${LOCAL.clusterId}`] : []),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: LOCAL.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL.credentials.secretAccessKey,
        AWS_REGION: LOCAL.region,
        SLS_TELEMETRY_DISABLED: '1',
      },
    },
  );
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      offline.kill('SIGINT');
      await Promise.allSettled([
        kafka.close(),
        sink.close(),
        new Promise((resolve) => dynamo.close(resolve)),
      ]);
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

  await waitForHttp(`http://localhost:${LOCAL.httpPort}/`, offline, 120_000);
  say('start', `ready: curl -i -X POST localhost:${LOCAL.httpPort}/hooks/demo -d '{"hello":"world"}'`);

  if (dialect === 'v3') {
    // v3 has no consume API (protocol doc §7): a drain reads over v1 or v2 only.
    say('drain', 'not run: v3 only produces; read the records with curl or start with --dialect v1 or v2');
    return;
  }
  const drainUrl = `http://localhost:${LOCAL.lambdaPort}/2015-03-31/functions/${LOCAL.drainFunctionName}/invocations`;
  for (;;) {
    await sleep(DRAIN_EVERY_MS);
    if (stopping) return;
    try {
      const response = await fetch(drainUrl, { method: 'POST', body: '{}' });
      const text = await response.text();
      if (!response.ok || response.headers.get('x-amz-function-error'))
        say('drain', `failed: ${text.slice(0, 300)}`);
    } catch (error) {
      say('drain', `could not invoke: ${(error as Error).message}`);
    }
  }
};

main().catch((error: unknown) => {
  say('start', `failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
