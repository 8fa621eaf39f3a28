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
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../lib/dynamodb-table.js';
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

const main = async (): Promise<void> => {
  // serverless offline loads whatever handler file it finds first: drop bundles of an earlier build.
  await rm(new URL('../.esbuild', import.meta.url), { recursive: true, force: true });
  const kafka = await startKafkaRestServer({
    port: LOCAL.kafkaRestPort,
    topics: LOCAL.topics,
    apiKey: LOCAL.apiKey,
    unknownTopic: '404',
    log: (line) => say('kafka-rest', line),
  });
  say('kafka-rest', `Kafka REST v1 at ${kafka.url} (topics ${Object.keys(LOCAL.topics).join(', ')})`);

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
    [require.resolve('serverless/bin/serverless.js'), 'offline', 'start', '--stage', 'local'],
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
