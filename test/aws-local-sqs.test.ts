import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalSqs, startLocalSqs } from '../dev/aws-local/sqs-server.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { waitUntil } from './helpers/poll.js';

// The local SQS through the real SDK client: what the drain's DLQ, the sinks and the event source rely on.
describe('the local SQS server', () => {
  let clock: number;
  let local: LocalSqs;
  let sqs: SQSClient;

  beforeEach(async () => {
    clock = 1_800_000_000_000;
    local = await startLocalSqs({ now: () => clock });
    sqs = new SQSClient({ ...FAKE_AWS, endpoint: local.endpoint, maxAttempts: 1 });
  });
  afterEach(async () => {
    sqs.destroy();
    await local.close();
  });

  const receive = async (queue: string, input: Partial<ReceiveMessageCommandInput> = {}) =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: local.queueUrl(queue),
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['All'],
          ...input,
        }),
      )
    ).Messages ?? [];
  const sendFifo = (queue: string, body: string, group: string, dedup = body) =>
    sqs.send(
      new SendMessageCommand({
        QueueUrl: local.queueUrl(queue),
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: dedup,
      }),
    );
  const errorOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: Error) => error.name,
    );

  it('creates queues with their URL and ARN, finds and lists them, and reports their attributes', async () => {
    // Act
    const created = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'orders.fifo',
        Attributes: { FifoQueue: 'true', VisibilityTimeout: '45' },
      }),
    );
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders.fifo' }));
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'ord' }));
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: found.QueueUrl, AttributeNames: ['All'] }),
    );

    // Assess
    expect(created.QueueUrl).toBe(`${local.endpoint}/000000000000/orders.fifo`);
    expect(found.QueueUrl).toBe(created.QueueUrl);
    expect(listed.QueueUrls).toEqual([created.QueueUrl]);
    expect(attributes.Attributes).toMatchObject({
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:orders.fifo',
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      VisibilityTimeout: '45',
      MaximumMessageSize: '262144',
      ApproximateNumberOfMessages: '0',
    });
    expect(await errorOf(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })))).toBe('QueueDoesNotExist');
    expect(await errorOf(sqs.send(new CreateQueueCommand({ QueueName: 'plain.fifo' })))).toBe(
      'InvalidParameterValue',
    );
  });

  it('hands a FIFO group out in order and holds it while one of its messages is in flight', async () => {
    // Prepare
    local.createQueue('q.fifo', { FifoQueue: 'true' });
    for (const body of ['a1', 'a2', 'a3']) await sendFifo('q.fifo', body, 'a');
    await sendFifo('q.fifo', 'b1', 'b');

    // Act
    const first = await receive('q.fifo', { MaxNumberOfMessages: 1 });
    const whileLocked = await receive('q.fifo');
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: local.queueUrl('q.fifo'),
        ReceiptHandle: first[0]?.ReceiptHandle,
      }),
    );
    const afterDelete = await receive('q.fifo');

    // Assess
    expect(first.map((m) => m.Body)).toEqual(['a1']);
    expect(whileLocked.map((m) => m.Body)).toEqual(['b1']);
    expect(afterDelete.map((m) => m.Body)).toEqual(['a2', 'a3']);
    expect(afterDelete.map((m) => m.Attributes?.MessageGroupId)).toEqual(['a', 'a']);
    const sequences = afterDelete.map((m) => BigInt(m.Attributes?.SequenceNumber ?? '0'));
    expect(sequences[0]).toBeLessThan(sequences[1] ?? 0n);
  });

  it('drops a FIFO duplicate within 5 minutes (answering the first id) and accepts it after', async () => {
    // Prepare
    local.createQueue('d.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const send = () =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: local.queueUrl('d.fifo'),
          MessageBody: 'same',
          MessageGroupId: 'g',
        }),
      );

    // Act
    const first = await send();
    clock += 299_999;
    const duplicate = await send();
    const heldInWindow = local.messages('d.fifo').length;
    clock += 1;
    const later = await send();

    // Assess
    expect(duplicate.MessageId).toBe(first.MessageId);
    expect(heldInWindow).toBe(1);
    expect(later.MessageId).not.toBe(first.MessageId);
    expect(local.messages('d.fifo').map((m) => m.body)).toEqual(['same', 'same']);
  });

  it('redelivers after the visibility timeout with a new receipt handle; only the latest deletes', async () => {
    // Prepare
    const url = local.createQueue('v', { VisibilityTimeout: '30' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'hello' }));

    // Act
    const [first] = await receive('v');
    const hidden = await receive('v');
    clock += 30_000;
    const [second] = await receive('v');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle }));
    const afterStaleDelete = local.messages('v').length;
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second?.ReceiptHandle }));

    // Assess
    expect(hidden).toEqual([]);
    expect(second?.MessageId).toBe(first?.MessageId);
    expect(second?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second?.Attributes?.ApproximateFirstReceiveTimestamp).toBe(String(clock - 30_000));
    expect(afterStaleDelete).toBe(1);
    expect(local.messages('v')).toEqual([]);
    expect(
      await errorOf(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' }))),
    ).toBe('ReceiptHandleIsInvalid');
  });

  it('releases a message at once with ChangeMessageVisibility 0', async () => {
    // Prepare
    const url = local.createQueue('r');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'back' }));
    const [message] = await receive('r');

    // Act
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );

    // Assess
    expect((await receive('r')).map((m) => m.Body)).toEqual(['back']);
  });

  it('moves a message to the DLQ on the receive past maxReceiveCount', async () => {
    // Prepare
    local.createQueue('dlq');
    const url = local.createQueue('src', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: local.queueArn('dlq'), maxReceiveCount: 2 }),
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));

    // Act
    const counts: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const messages = await receive('src', { VisibilityTimeout: 0 });
      counts.push(...messages.map((m) => m.Attributes?.ApproximateReceiveCount ?? ''));
    }

    // Assess
    expect(counts).toEqual(['1', '2']);
    const [dead] = await receive('dlq');
    expect(dead?.Body).toBe('poison');
    expect(dead?.Attributes?.DeadLetterQueueSourceArn).toBe(local.queueArn('src'));
  });

  it.each([
    { name: 'more than 10 entries', count: 11, ids: undefined, error: 'TooManyEntriesInBatchRequest' },
    { name: 'no entry', count: 0, ids: undefined, error: 'EmptyBatchRequest' },
    { name: 'repeated ids', count: 2, ids: ['x', 'x'], error: 'BatchEntryIdsNotDistinct' },
    { name: 'a bad id', count: 1, ids: ['a b'], error: 'InvalidBatchEntryId' },
  ])('refuses a batch with $name as SQS does', async ({ count, ids, error }) => {
    // Prepare
    const url = local.createQueue('b');
    const entries = Array.from({ length: count }, (_, i) => ({
      Id: ids?.[i] ?? `e${i}`,
      MessageBody: `m${i}`,
    }));

    // Act & Assess
    expect(await errorOf(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries })))).toBe(
      error,
    );
    expect(local.messages('b')).toEqual([]);
  });

  it('fails the entries over the queue’s MaximumMessageSize or with characters SQS refuses, and only them', async () => {
    // Prepare
    const url = local.createQueue('small', { MaximumMessageSize: '1024' });

    // Act
    const output = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok', MessageBody: 'fits' },
          { Id: 'big', MessageBody: 'x'.repeat(1025) },
          { Id: 'nul', MessageBody: 'a\u0000b' },
        ],
      }),
    );

    // Assess
    expect(output.Successful?.map((s) => s.Id)).toEqual(['ok']);
    expect(output.Failed?.map((f) => [f.Id, f.Code, f.SenderFault])).toEqual([
      ['big', 'InvalidParameterValue', true],
      ['nul', 'InvalidMessageContents', true],
    ]);
    expect(await errorOf(receive('small', { MaxNumberOfMessages: 11 }))).toBe('InvalidParameterValue');
  });

  it('returns the message attributes asked for, with their MD5 as SendMessage answered it', async () => {
    // Prepare
    const url = local.createQueue('attrs');
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'with attributes',
        MessageAttributes: {
          topic: { DataType: 'String', StringValue: 'orders' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
        },
      }),
    );

    // Act
    const [message] = await receive('attrs', { MessageAttributeNames: ['All'] });

    // Assess
    expect(message?.MessageAttributes?.topic).toEqual({ DataType: 'String', StringValue: 'orders' });
    expect(Buffer.from(message?.MessageAttributes?.raw?.BinaryValue ?? [])).toEqual(Buffer.from([1, 2, 3]));
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(message?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
  });

  it('answers a long poll with a message sent while it waits', async () => {
    // Prepare
    const url = local.createQueue('long');

    // Act
    const polling = receive('long', { WaitTimeSeconds: 20 });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' }));

    // Assess
    expect((await polling).map((m) => m.Body)).toEqual(['late']);
  });

  it('moves a DLQ back to its source with a message move task, reporting its progress', async () => {
    // Prepare
    local.createQueue('back-dlq');
    local.createQueue('back', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: local.queueArn('back-dlq'), maxReceiveCount: 1 }),
    });
    for (const body of ['m1', 'm2', 'm3']) {
      await sqs.send(new SendMessageCommand({ QueueUrl: local.queueUrl('back'), MessageBody: body }));
    }
    await receive('back', { VisibilityTimeout: 0 });
    await receive('back');
    const sourceArn = local.queueArn('back-dlq');

    // Act
    const started = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn }));
    const list = () => sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn }));
    await waitUntil(async () => (await list()).Results?.[0]?.Status === 'COMPLETED');

    // Assess
    expect(started.TaskHandle).toBeTruthy();
    expect((await list()).Results?.[0]).toMatchObject({
      SourceArn: sourceArn,
      ApproximateNumberOfMessagesMoved: 3,
      ApproximateNumberOfMessagesToMove: 3,
    });
    expect(local.messages('back-dlq')).toEqual([]);
    expect(local.messages('back').map((m) => [m.body, m.receiveCount])).toEqual([
      ['m1', 0],
      ['m2', 0],
      ['m3', 0],
    ]);
    expect(
      await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: local.queueArn('back') }))),
    ).toBe('InvalidParameterValue');
  });

  it('purges a queue once a minute', async () => {
    // Prepare
    const url = local.createQueue('p');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'gone' }));

    // Act
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));

    // Assess
    expect(local.messages('p')).toEqual([]);
    expect(await errorOf(sqs.send(new PurgeQueueCommand({ QueueUrl: url })))).toBe('PurgeQueueInProgress');
  });
});
