import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// A fresh process, because this test process has long loaded the SDKs for the other tests.
const SCRIPT = `
import { createRequire } from 'node:module';
const { createAwsClients, createSink } = await import('./lib/sinks/index.ts');
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
