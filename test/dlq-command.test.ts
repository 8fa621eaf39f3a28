import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DlqCommandDeps, runDlqCommand } from '../cli/dlq-command.js';
import { createDlqQueues } from '../cli/dlq-queue.js';
import { type LocalSqs, startLocalSqs } from '../dev/aws-local/sqs-server.js';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createLog } from '../lib/core/log.js';
import { createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import {
  createDeadLetterQueue,
  createSink,
  type DeadLetterBody,
  type Sink,
  toRecordId,
} from '../lib/sinks/index.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';

// npm run dlq against the local SQS, a local HTTP sink and dynalite: letters written by the drain's own
// DLQ code, delivered by the drain's own sink, audited in the checkpoint table.
describe('npm run dlq', () => {
  const dynamo = dynaliteForFile();
  let sqs: LocalSqs;
  let sink: HttpSink;
  let client: SQSClient;
  let aws: ReturnType<typeof createAwsClients>;
  let drainId: string;
  let out: string[];
  let err: string[];
  let stopAfter: number | undefined;
  const sinks: Sink[] = [];
  let n = 0;
  const log = createLog('ERROR');

  beforeAll(async () => {
    sqs = await startLocalSqs();
    sink = await startHttpSink();
    client = new SQSClient({ ...FAKE_AWS, endpoint: sqs.endpoint });
    aws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: sqs.endpoint });
  });
  afterAll(async () => {
    client.destroy();
    aws.destroy();
    await Promise.all([sqs.close(), sink.close()]);
  });
  beforeEach(() => {
    n += 1;
    drainId = `dlq${n}`;
    sqs.createQueue(`${drainId}-dlq`);
    out = [];
    err = [];
    stopAfter = undefined;
    sink.received.length = 0;
    sink.clearFaults();
  });
  afterEach(async () => {
    for (const made of sinks.splice(0)) await made.close?.();
  });

  const settings = () =>
    parseDrainsConfig(
      createEnvReader({
        CHECKPOINT_TABLE: dynamo().tableName,
        DRAINS: JSON.stringify([
          {
            id: drainId,
            topic: 'orders',
            partitions: 'all',
            sink: { type: 'http', url: `${sink.url}/records`, allowHttp: true },
            dlq: { queueUrl: sqs.queueUrl(`${drainId}-dlq`) },
          },
        ]),
      }),
    );
  const store = () =>
    createCheckpointStore({
      client: dynamo().client,
      tableName: dynamo().tableName,
      leaseMs: 60_000,
      now: Date.now,
    });

  const run = (...argv: string[]) => {
    const deps: DlqCommandDeps = {
      // The local SQS answers a short poll with everything: no second's wait per read.
      queues: createDlqQueues(client, { waitSeconds: 0 }),
      drains: settings().drains,
      sinkFor: (drain) => {
        const made = createSink(drain.sink, { aws, log, now: Date.now });
        sinks.push(made);
        return made;
      },
      store: store(),
      now: Date.now,
      operator: 'os:tester',
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      stopRequested: () => stopAfter !== undefined && sink.received.length >= stopAfter,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 10))),
    };
    return runDlqCommand(deps, argv);
  };

  /** A dead letter as the drain writes it (lib/sinks/dead-letter-queue.ts). */
  const deadLetter = async (partition: number, offset: number, value = `v${offset}`, attempts = 3) => {
    const dlq = createDeadLetterQueue(
      { queueUrl: sqs.queueUrl(`${drainId}-dlq`), fifo: false, maxMessageBytes: 262_144 },
      { aws, log, now: Date.now },
    );
    await dlq.send(
      {
        drainId,
        id: toRecordId({ namespace: 'test-stage', topic: 'orders', partition, epoch: 1, offset }),
        topic: 'orders',
        partition,
        offset,
        key: null,
        value: Buffer.from(value),
        attempts,
        lastError: { code: 'ERR_SINK_REJECTED', message: 'HTTP 400 from the sink' },
      },
      { deadlineMs: Date.now() + 10_000 },
    );
  };
  const letters = () => sqs.messages(`${drainId}-dlq`).map((m) => JSON.parse(m.body) as DeadLetterBody);
  const delivered = () =>
    sink.received
      .filter((request) => request.status === 200)
      .map((request) => `${request.headers['kafka-partition']}@${request.headers['kafka-offset']}`);

  it('lists the letters by partition and error, and leaves them in the queue, visible', async () => {
    // Prepare
    await deadLetter(0, 7);
    await deadLetter(0, 3);
    await deadLetter(1, 5);

    // Act
    const code = await run('list');

    // Assess
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^3 dead letter\(s\); oldest /);
    expect(out).toContain(`  ${drainId} orders/0: 2`);
    expect(out).toContain(`  ${drainId} orders/1: 1`);
    expect(out).toContain('  ERR_SINK_REJECTED: 3');
    expect(sqs.messages(`${drainId}-dlq`).map((m) => m.inFlight)).toEqual([false, false, false]);
  });

  it('shows one letter with a value preview, and the value itself only with --value', async () => {
    // Prepare
    await deadLetter(2, 11, `{"order":11,"note":"${'x'.repeat(200)}"}`);
    const [letter] = letters();

    // Act
    const code = await run('show', letter?.id ?? '');
    const preview = [...out];
    out.length = 0;
    await run('show', letter?.id ?? '', '--value');

    // Assess
    expect(code).toBe(0);
    expect(preview).toContain(`at        ${drainId} orders/2@11`);
    expect(preview).toContain(`attempts  3, failed at ${letter?.failedAt}`);
    expect(preview).toContain('error     ERR_SINK_REJECTED: HTTP 400 from the sink');
    expect(preview.find((line) => line.startsWith('value'))).toMatch(
      /^value {5}"\{\\"order\\":11.*… \(222 bytes\)$/,
    );
    expect(preview.join('\n')).not.toContain('x'.repeat(200));
    expect(out.at(-1)).toBe(`{"order":11,"note":"${'x'.repeat(200)}"}`);
  });

  it('redrives each letter to the drain’s sink in offset order per partition, deleting each once delivered', async () => {
    // Prepare
    for (const [partition, offset] of [
      [0, 9],
      [1, 4],
      [0, 3],
      [0, 5],
      [1, 2],
    ] as const)
      await deadLetter(partition, offset);

    // Act
    const code = await run('redrive');

    // Assess
    expect(code).toBe(0);
    expect(delivered()).toEqual(['0@3', '0@5', '0@9', '1@2', '1@4']);
    const ids = sink.received.map((request) => request.headers['idempotency-key']);
    expect(ids[0]).toBe(
      toRecordId({ namespace: 'test-stage', topic: 'orders', partition: 0, epoch: 1, offset: 3 }),
    );
    expect(sink.received[0]?.body.toString()).toBe('v3');
    expect(letters()).toEqual([]);
    expect(out.at(-1)).toMatch(
      /^redrive: 5 of 5 records \(5 delivered, 0 failed again, 0 kept\), .*\/s, 0 remaining$/,
    );
    const history = await store().history({ drainId });
    expect(history.map((entry) => [entry.partition, entry.action, entry.who])).toEqual([
      [0, 'dlq redrive offsets 3-9: 3 delivered, 0 failed again, 0 kept', 'os:tester'],
      [1, 'dlq redrive offsets 2-4: 2 delivered, 0 failed again, 0 kept', 'os:tester'],
    ]);
  });

  it('keeps a record that fails again with its attempts raised, and the partition’s later ones untried', async () => {
    // Prepare
    await deadLetter(0, 1);
    await deadLetter(0, 2);
    await deadLetter(1, 8);
    sink.inject({ kind: 'status', status: 503 });

    // Act
    const code = await run('redrive', '--max', '10');

    // Assess
    expect(code).toBe(1);
    expect(delivered()).toEqual(['1@8']);
    const left = letters().sort((a, b) => a.offset - b.offset);
    expect(left.map((letter) => [letter.offset, letter.attempts])).toEqual([
      [1, 4],
      [2, 3],
    ]);
    expect(left[0]?.lastError.code).toMatch(/^ERR_/);
    expect(left[0]?.value).toBe(Buffer.from('v1').toString('base64'));
    expect(err).toContain(
      `${drainId} orders/0@1: failed again (${left[0]?.lastError.code}): back in the DLQ, attempt 4`,
    );
    expect(sqs.messages(`${drainId}-dlq`).every((m) => !m.inFlight)).toBe(true);
  });

  it('takes only --partition and at most --max letters, lowest offsets first', async () => {
    // Prepare
    for (const offset of [6, 2, 4]) await deadLetter(3, offset);
    await deadLetter(0, 1);

    // Act
    await run('redrive', '--partition', '3', '--max', '2');

    // Assess
    expect(delivered()).toEqual(['3@2', '3@4']);
    expect(
      letters()
        .map((letter) => `${letter.partition}@${letter.offset}`)
        .sort(),
    ).toEqual(['0@1', '3@6']);
  });

  it('stops on request after the record in hand, deleting nothing undelivered', async () => {
    // Prepare
    for (const offset of [1, 2, 3]) await deadLetter(0, offset);
    stopAfter = 1;

    // Act
    const code = await run('redrive');

    // Assess
    expect(code).toBe(1);
    expect(delivered()).toEqual(['0@1']);
    expect(
      letters()
        .map((letter) => letter.offset)
        .sort(),
    ).toEqual([2, 3]);
    expect(sqs.messages(`${drainId}-dlq`).every((m) => !m.inFlight)).toBe(true);
    expect(out).toContain('redrive: stopped; what was not delivered stays in the DLQ');
  });

  it('purges only with --yes, and audits it', async () => {
    // Prepare
    await deadLetter(0, 1);
    await deadLetter(0, 4);

    // Act
    const unconfirmed = await run('purge');
    const leftUnconfirmed = letters().length;
    const confirmed = await run('purge', '--yes');

    // Assess
    expect(unconfirmed).toBe(1);
    expect(err).toContain('purge would delete 2 dead letter(s) for good: run again with --yes');
    expect(leftUnconfirmed).toBe(2);
    expect(confirmed).toBe(0);
    expect(letters()).toEqual([]);
    expect((await store().history({ drainId })).map((entry) => entry.action)).toEqual([
      'dlq purge: 2 letter(s) deleted, offsets 1-4',
    ]);
  });

  it('redrives an ingestion DLQ back to its source with a message move task, reporting progress', async () => {
    // Prepare
    const dlqName = `${drainId}-ingest-dlq`;
    sqs.createQueue(dlqName);
    const source = sqs.createQueue(`${drainId}-ingest`, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: sqs.queueArn(dlqName), maxReceiveCount: 1 }),
    });
    for (const body of ['a', 'b'])
      await client.send(new SendMessageCommand({ QueueUrl: source, MessageBody: body }));
    const queues = createDlqQueues(client, { waitSeconds: 0 });
    await queues.release(await queues.hold(source, 30, 10));
    await queues.hold(source, 30, 10);

    // Act
    const code = await run('redrive', '--queue', dlqName);

    // Assess
    expect(code).toBe(0);
    expect(out.at(-1)).toMatch(/COMPLETED, 2 of 2 moved, .*\/s, 0 remaining$/);
    expect(sqs.messages(dlqName)).toEqual([]);
    expect(sqs.messages(`${drainId}-ingest`).map((m) => m.body)).toEqual(['a', 'b']);
    const [entry] = await store().history({ drainId: `queue:${dlqName}` });
    expect(entry?.action).toBe('dlq redrive (move task to the source queues): COMPLETED, 2 moved');
  });

  it('says what is wrong with the arguments', async () => {
    expect(await run('redrive', '--partition', 'x')).toBe(2);
    expect(err[0]).toMatch(/^--partition must be an integer ≥ 0, got x/);
    expect(await run('list', '--drain', 'nope')).toBe(1);
    expect(err).toContain('no drain nope in DRAINS');
  });
});
