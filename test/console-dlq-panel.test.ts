import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDlqQueues } from '../cli/dlq-queue.js';
import { type LocalSqs, startLocalSqs } from '../dev/aws-local/sqs-server.js';
import { createDlqPanel } from '../dev/console/dlq-panel.js';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createLog } from '../lib/core/log.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { createDeadLetterQueue, createSink, type Sink, toRecordId } from '../lib/sinks/index.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';

// The console's DLQ panel on the local SQS, a local HTTP sink and dynalite: letters written by the drain's
// own DLQ code, read and redriven through npm run dlq's.
describe("the console's DLQ panel", () => {
  const dynamo = dynaliteForFile();
  let sqs: LocalSqs;
  let sink: HttpSink;
  let client: SQSClient;
  let aws: ReturnType<typeof createAwsClients>;
  let queue: string;
  let n = 0;
  const sinks: Sink[] = [];
  const log = createLog('ERROR');
  const NOW_MS = Date.parse('2026-12-03T12:00:00Z');

  beforeAll(async () => {
    sqs = await startLocalSqs();
    sink = await startHttpSink();
    client = new SQSClient({ ...FAKE_AWS, endpoint: sqs.endpoint });
    aws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: sqs.endpoint });
  });
  afterAll(async () => {
    for (const made of sinks.splice(0)) await made.close?.();
    client.destroy();
    aws.destroy();
    await Promise.all([sqs.close(), sink.close()]);
  });
  beforeEach(() => {
    n += 1;
    queue = `panel${n}-dlq`;
    sqs.createQueue(queue);
    sink.received.length = 0;
  });

  /** Two drains sharing one DLQ, and one without a DLQ; `now` is the clock of ages and sink deadlines. */
  const panel = (now: () => number) =>
    createDlqPanel({
      queues: createDlqQueues(client),
      drains: parseDrainsConfig(
        createEnvReader({
          CHECKPOINT_TABLE: dynamo().tableName,
          DRAINS: JSON.stringify(
            ['a', 'b', 'no-dlq'].map((name) => ({
              id: `panel${n}-${name}`,
              topic: 'orders',
              partitions: 'all',
              sink: { type: 'http', url: `${sink.url}/${name}`, allowHttp: true },
              ...(name === 'no-dlq' ? {} : { dlq: { queueUrl: sqs.queueUrl(queue) } }),
            })),
          ),
        }),
      ).drains,
      sinkFor: (drain) => {
        const made = createSink(drain.sink, { aws, log, now: Date.now });
        sinks.push(made);
        return made;
      },
      store: createCheckpointStore({
        client: dynamo().client,
        tableName: dynamo().tableName,
        leaseMs: 60_000,
        now: Date.now,
      }),
      now,
      operator: 'console:tester',
      sleep: async () => {},
    });

  /** A dead letter as the drain writes it (lib/sinks/dead-letter-queue.ts), failed at `failedAtMs`. */
  const deadLetter = async (drain: string, offset: number, failedAtMs: number) => {
    const dlq = createDeadLetterQueue(
      { queueUrl: sqs.queueUrl(queue), fifo: false, maxMessageBytes: 262_144 },
      { aws, log, now: () => failedAtMs },
    );
    await dlq.send(
      {
        drainId: `panel${n}-${drain}`,
        id: toRecordId({ namespace: 'test-stage', topic: 'orders', partition: 0, epoch: 1, offset }),
        topic: 'orders',
        partition: 0,
        offset,
        key: null,
        value: Buffer.from(`<i>v${offset}</i>`),
        attempts: 3,
        lastError: { code: 'ERR_SINK_REJECTED', message: 'HTTP 400 from the sink' },
      },
      { deadlineMs: Date.now() + 10_000 },
    );
  };

  it('shows each drain its own letters, in redrive order, and leaves every message visible', async () => {
    // Prepare: drain a's letters out of order, one of drain b, and a message no drain wrote
    await deadLetter('a', 9, NOW_MS - 30_000);
    await deadLetter('a', 4, NOW_MS - 90_000);
    await deadLetter('b', 1, NOW_MS - 5_000);
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl(queue), MessageBody: 'not a letter' }));

    // Act
    const views = await panel(() => NOW_MS).read();

    // Assess
    expect(views.map((view) => [view.drainId, view.queue, view.count, view.oldestAgeMs])).toEqual([
      [`panel${n}-a`, queue, 2, 90_000],
      [`panel${n}-b`, queue, 1, 5_000],
    ]);
    expect(views[0]?.letters.map((letter) => [letter.offset, letter.attempts, letter.value])).toEqual([
      [4, 3, '"<i>v4</i>"'],
      [9, 3, '"<i>v9</i>"'],
    ]);
    expect(views[0]?.letters[0]?.error).toEqual({
      code: 'ERR_SINK_REJECTED',
      message: 'HTTP 400 from the sink',
    });
    expect(sqs.messages(queue).map((message) => message.inFlight)).toEqual([false, false, false, false]);
  });

  it('reads beside a redrive without hiding the letters from it', async () => {
    // Prepare
    await deadLetter('a', 2, NOW_MS);
    await deadLetter('a', 3, NOW_MS);
    const console = panel(Date.now);

    // Act: a refresh and a redrive at the same moment (the page's Redrive runs npm run dlq redrive's code)
    const [read, redrive] = await Promise.all([console.read(), console.redrive(`panel${n}-a`)]);

    // Assess: the read went first and saw both; the redrive still found both and delivered them
    expect(read[0]?.count).toBe(2);
    expect(redrive).toEqual({
      ok: true,
      lines: [expect.stringMatching(/^redrive: 2 of 2 records \(2 delivered, 0 failed again, 0 kept\)/)],
    });
    expect(sink.received.map((request) => [request.path, request.headers['kafka-offset']])).toEqual([
      ['/a', '2'],
      ['/a', '3'],
    ]);
    expect((await console.read())[0]?.count).toBe(0);
  });

  it("answers a drain without a DLQ with npm run dlq's own refusal", async () => {
    // Act
    const outcome = await panel(Date.now).redrive(`panel${n}-no-dlq`);

    // Assess
    expect(outcome).toEqual({ ok: false, message: `drain panel${n}-no-dlq has no "dlq"` });
  });
});
