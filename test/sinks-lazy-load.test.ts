import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';
import { type LocalSecretsManager, startSecretsManager } from './helpers/secrets-manager.js';

const root = fileURLToPath(new URL('..', import.meta.url));

// A fresh process, because this test process has long loaded the SDKs for the other tests.
const SCRIPT = `
import { createRequire } from 'node:module';
const { createSink } = await import('./lib/sinks/index.ts');
const { createAwsClients } = await import('./lib/aws/sdk-clients.ts');
const { startHttpSink } = await import('./dev/http-sink.ts');
const require = createRequire(import.meta.url);
const sdkLoaded = () => Object.keys(require.cache).filter((p) => /@aws-sdk[\\\\/]client-/.test(p)).length > 0;
const server = await startHttpSink();
const aws = createAwsClients({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const log = { debug() {}, info() {}, warn() {}, error() {} };
const config = { type: 'http', url: new URL(server.url), mode: 'single', timeoutMs: 5000, headers: {}, allowHttp: true,
  contentType: 'text/plain', maxBatchRecords: 10, maxBatchBytes: 100000, connections: 1, retryStatuses: [] };
const sink = createSink(config, { aws, log, now: Date.now });
const outcomes = await sink.deliver([{ topic: 't', partition: 0, offset: 1, key: null, value: Buffer.from('x') }], { deadlineMs: Date.now() + 5000 });
const afterHttp = sdkLoaded();
const undiciIndex = Object.keys(require.cache).some((p) => /undici[\\\\/]index\\.js$/.test(p));
createSink({ type: 'sqs', queueUrl: 'http://127.0.0.1:1/000000000000/q', fifo: false, maxMessageBytes: 262144, maxBatchRecords: 10 }, { aws, log, now: Date.now });
const afterCreate = sdkLoaded();
await aws.sqs();
const afterUse = sdkLoaded();
aws.destroy();
await sink.close();
await server.close();
process.stdout.write(JSON.stringify({ delivered: outcomes.map((o) => o.ok), received: server.received.length, undiciIndex, afterHttp, afterCreate, afterUse }));
`;

describe('AWS SDK loading', () => {
  it('loads no AWS SDK client (nor all of undici) for an HTTP sink, and the SQS client only on first use', async () => {
    // Act
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--no-warnings', '-e', SCRIPT],
      { cwd: root },
    );

    // Assess
    expect(JSON.parse(stdout)).toEqual({
      delivered: [true],
      received: 1,
      undiciIndex: false,
      afterHttp: false,
      afterCreate: false,
      afterUse: true,
    });
  });
});

// The stores and the secrets read, each through its first call, in a fresh process: the dynalite table and
// the Secrets Manager stand-in are set up here, where the SDK may load.
const STORES_SCRIPT = `
import { createRequire } from 'node:module';
const { createDynamoDb } = await import('./lib/aws/dynamodb.ts');
const { createCheckpointStore } = await import('./lib/drain/checkpoint-store.ts');
const { createLazyIdempotencyStore } = await import('./lib/wiring/idempotency-store.ts');
const { createSecretsCacheFromConfig } = await import('./lib/wiring/secrets.ts');
const require = createRequire(import.meta.url);
const sdkLoaded = () => Object.keys(require.cache).filter((p) => /@aws-sdk[\\\\/]client-/.test(p));
const { DYNAMO, TABLE, SECRETS } = process.env;
const dynamo = createDynamoDb({ endpoint: DYNAMO });
const store = createCheckpointStore({ client: dynamo, tableName: TABLE, leaseMs: 1000, now: Date.now });
const acquired = await store.acquire({ drainId: 'd', topic: 't', partition: 0 }, 'run', { deadlineMs: Date.now() + 5000 });
const idempotency = createLazyIdempotencyStore({ tableName: TABLE, endpoint: DYNAMO, inProgressTtlMs: 60000, now: Date.now });
const claim = await idempotency.begin({ route: 'r', key: 's:k', payloadHash: 'h', windowSeconds: 60, deadlineMs: Date.now() + 5000 });
const secrets = createSecretsCacheFromConfig({ secrets: { source: 'sdk', endpoint: new URL(SECRETS), cacheTtlMs: 1000 } });
const secret = await secrets.get('s');
await dynamo.close();
idempotency.destroy();
process.stdout.write(JSON.stringify({ acquired: acquired.acquired, claim: claim.state, secret, sdk: sdkLoaded() }));
`;

describe('AWS SDK loading by the stores and the secrets read', () => {
  let dynamo: LocalDynamo;
  let secretsManager: LocalSecretsManager;

  beforeAll(async () => {
    dynamo = await startDynalite('lazy-load');
    secretsManager = await startSecretsManager({ s: 'the-value' });
  });
  afterAll(async () => {
    await secretsManager.close();
    await dynamo.close();
  });

  it('loads no AWS SDK client for checkpoints, idempotency claims or a Secrets Manager read', async () => {
    // Act
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--no-warnings', '-e', STORES_SCRIPT],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_SESSION_TOKEN: 'session-token',
          DYNAMO: dynamo.endpoint,
          TABLE: dynamo.tableName,
          SECRETS: secretsManager.endpoint,
        },
      },
    );

    // Assess
    expect(JSON.parse(stdout)).toEqual({ acquired: true, claim: 'new', secret: 'the-value', sdk: [] });
  });
});
