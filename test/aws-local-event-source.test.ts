import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createSqsEventSource,
  type SqsEventSource,
  type SqsInvoke,
} from '../dev/aws-local/sqs-event-source.js';
import { type LocalSqs, startLocalSqs } from '../dev/aws-local/sqs-server.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { waitUntil } from './helpers/poll.js';

// Lambda's SQS event source mapping with ReportBatchItemFailures, against the local SQS: what the queue
// function (and the spool function after it) relies on.
describe('the local SQS event source', () => {
  let clock: number;
  let local: LocalSqs;
  let sqs: SQSClient;
  let source: SqsEventSource | undefined;
  let events: SQSEvent[];

  beforeEach(async () => {
    clock = 1_800_000_000_000;
    events = [];
    local = await startLocalSqs({ now: () => clock });
    sqs = new SQSClient({ ...FAKE_AWS, endpoint: local.endpoint, maxAttempts: 1 });
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    sqs.destroy();
    await local.close();
  });

  const run = (queue: string, invoke: SqsInvoke, options: { batchSize?: number; windowMs?: number } = {}) => {
    source = createSqsEventSource({
      endpoint: local.endpoint,
      region: FAKE_AWS.region,
      credentials: FAKE_AWS.credentials,
      queueUrl: local.queueUrl(queue),
      invoke: (event) => {
        events.push(event);
        return invoke(event);
      },
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.windowMs === undefined ? {} : { maximumBatchingWindowMs: options.windowMs }),
    });
    source.start();
  };
  const send = async (queue: string, bodies: readonly string[], group?: (body: string) => string) => {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: local.queueUrl(queue),
        Entries: bodies.map((body, i) => ({
          Id: `e${i}`,
          MessageBody: body,
          ...(group === undefined ? {} : { MessageGroupId: group(body), MessageDeduplicationId: body }),
        })),
      }),
    );
  };
  const bodiesOf = (event: SQSEvent | undefined) => event?.Records.map((record) => record.body);
  const failing =
    (...bodies: string[]): SqsInvoke =>
    async (event) => ({
      batchItemFailures: event.Records.filter((r) => bodies.includes(r.body)).map((r) => ({
        itemIdentifier: r.messageId,
      })),
    });
  /** Past the queue's visibility timeout (30 s), so what is in flight comes back. */
  const afterVisibilityTimeout = () => {
    clock += 30_000;
  };

  it('builds the SQSEvent as Lambda does, FIFO attributes and camelCase message attributes included', async () => {
    // Prepare
    local.createQueue('shape.fifo', { FifoQueue: 'true' });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: local.queueUrl('shape.fifo'),
        MessageBody: 'hello',
        MessageGroupId: 'g1',
        MessageDeduplicationId: 'd1',
        MessageAttributes: {
          topic: { DataType: 'String', StringValue: 'orders' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from('bytes') },
        },
      }),
    );

    // Act
    run('shape.fifo', async () => ({ batchItemFailures: [] }));
    await waitUntil(() => local.messages('shape.fifo').length === 0);

    // Assess
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      body: 'hello',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:shape.fifo',
      awsRegion: 'us-east-1',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(clock),
        ApproximateFirstReceiveTimestamp: String(clock),
        MessageGroupId: 'g1',
        MessageDeduplicationId: 'd1',
        SequenceNumber: expect.stringMatching(/^\d+$/),
      },
      messageAttributes: {
        topic: { stringValue: 'orders', stringListValues: [], binaryListValues: [], dataType: 'String' },
        raw: {
          binaryValue: Buffer.from('bytes').toString('base64'),
          stringListValues: [],
          binaryListValues: [],
          dataType: 'Binary',
        },
      },
    });
    expect(record?.md5OfBody).toBe('5d41402abc4b2a76b9719d911017c592');
    expect(record?.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
  });

  it('deletes the messages not reported failed, and redelivers the failed ones after the visibility timeout', async () => {
    // Prepare
    local.createQueue('std');
    await send('std', ['a', 'b', 'c']);
    let answer = failing('b');

    // Act
    run('std', (event) => answer(event));
    await waitUntil(() => local.messages('std').length === 1);
    answer = failing();
    afterVisibilityTimeout();
    await waitUntil(() => local.messages('std').length === 0);

    // Assess
    expect(events.map(bodiesOf)).toEqual([['a', 'b', 'c'], ['b']]);
    expect(events[1]?.Records[0]?.attributes.ApproximateReceiveCount).toBe('2');
  });

  it.each([
    { name: 'a thrown invoke', first: (async () => Promise.reject(new Error('boom'))) as SqsInvoke },
    {
      name: 'an answer naming an item not in the batch',
      first: (async () => ({ batchItemFailures: [{ itemIdentifier: 'not-a-message' }] })) as SqsInvoke,
    },
  ])('leaves the whole batch to come back after $name', async ({ first }) => {
    // Prepare
    local.createQueue('whole');
    await send('whole', ['x', 'y']);
    let invoke = first;

    // Act
    run('whole', (event) => invoke(event));
    await waitUntil(() => events.length === 1 && local.messages('whole').every((m) => m.inFlight));
    invoke = async () => ({ batchItemFailures: [] });
    afterVisibilityTimeout();
    await waitUntil(() => local.messages('whole').length === 0);

    // Assess
    expect(events.map(bodiesOf)).toEqual([
      ['x', 'y'],
      ['x', 'y'],
    ]);
  });

  it('keeps each FIFO group in order through a partial failure that reports the rest of the group', async () => {
    // Prepare
    local.createQueue('orders.fifo', { FifoQueue: 'true' });
    await send('orders.fifo', ['g1', 'g2', 'h1', 'g3', 'h2', 'g4'], (body) => body.slice(0, 1));
    const processed: string[] = [];
    let failOnce = true;
    // As the queue function does: after a group's first failure its later messages are reported too.
    const invoke: SqsInvoke = async (event): Promise<SQSBatchResponse> => {
      const stopped = new Set<string>();
      const batchItemFailures: { itemIdentifier: string }[] = [];
      for (const record of event.Records) {
        const group = record.attributes.MessageGroupId ?? '';
        if (stopped.has(group) || (failOnce && record.body === 'g2')) {
          stopped.add(group);
          batchItemFailures.push({ itemIdentifier: record.messageId });
        } else {
          processed.push(record.body);
        }
      }
      return { batchItemFailures };
    };

    // Act
    run('orders.fifo', invoke);
    await waitUntil(() => local.messages('orders.fifo').length === 3);
    failOnce = false;
    afterVisibilityTimeout();
    await waitUntil(() => local.messages('orders.fifo').length === 0);

    // Assess
    expect(processed.filter((body) => body.startsWith('g'))).toEqual(['g1', 'g2', 'g3', 'g4']);
    expect(processed.filter((body) => body.startsWith('h'))).toEqual(['h1', 'h2']);
    expect(bodiesOf(events[1])).toEqual(['g2', 'g3', 'g4']);
  });

  it('gathers a batch over 10 messages within the batching window', async () => {
    // Prepare
    local.createQueue('wide');
    const bodies = Array.from({ length: 15 }, (_, i) => `m${i}`);
    await send('wide', bodies.slice(0, 10));
    await send('wide', bodies.slice(10));

    // Act
    run('wide', async () => ({ batchItemFailures: [] }), { batchSize: 15, windowMs: 2_000 });
    await waitUntil(() => local.messages('wide').length === 0);

    // Assess
    expect(events.map(bodiesOf)).toEqual([bodies]);
  });

  it('waits in stop() for the invocation in flight and settles its batch', async () => {
    // Prepare
    local.createQueue('slow');
    await send('slow', ['only']);
    let finish: () => void = () => undefined;
    run('slow', () => new Promise((resolve) => (finish = () => resolve({ batchItemFailures: [] }))));
    await waitUntil(() => events.length === 1);

    // Act
    let stopped = false;
    const stopping = source?.stop().then(() => {
      stopped = true;
    });
    // Time for a stop that did not wait to have ended; it may not end before the invocation does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stoppedBeforeTheInvokeEnded = stopped;
    finish();
    await stopping;
    source = undefined;

    // Assess
    expect(stoppedBeforeTheInvokeEnded).toBe(false);
    expect(local.messages('slow')).toEqual([]);
  });

  it('refuses a batch size over 10 without a batching window, as Lambda does', () => {
    expect(() =>
      createSqsEventSource({
        endpoint: local.endpoint,
        region: FAKE_AWS.region,
        credentials: FAKE_AWS.credentials,
        queueUrl: local.queueUrl('any'),
        invoke: async () => undefined,
        batchSize: 11,
      }),
    ).toThrow('a batchSize over 10 needs a maximumBatchingWindowMs');
  });
});
