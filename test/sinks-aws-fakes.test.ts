import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_AWS,
  type FakeEventBridge,
  type FakeSqs,
  SQS_DEDUPLICATION_WINDOW_MS,
  startFakeEventBridge,
  startFakeSqs,
} from './helpers/aws-fakes.js';

// The sink tests trust these fakes to refuse what AWS refuses; this proves it through the real SDK clients.
describe('AWS fakes', () => {
  let sqsFake: FakeSqs;
  let eventsFake: FakeEventBridge;
  let sqs: SQSClient;
  let events: EventBridgeClient;

  beforeAll(async () => {
    sqsFake = await startFakeSqs();
    eventsFake = await startFakeEventBridge();
    sqs = new SQSClient({ ...FAKE_AWS, endpoint: sqsFake.endpoint, maxAttempts: 1 });
    events = new EventBridgeClient({ ...FAKE_AWS, endpoint: eventsFake.endpoint, maxAttempts: 1 });
  });
  afterAll(async () => {
    sqs.destroy();
    events.destroy();
    await sqsFake.close();
    await eventsFake.close();
  });

  const entry = (
    i: number,
    overrides: Partial<SendMessageBatchRequestEntry> = {},
  ): SendMessageBatchRequestEntry => ({
    Id: `e${i}`,
    MessageBody: `body ${i}`,
    ...overrides,
  });
  const sendBatch = (queue: string, entries: SendMessageBatchRequestEntry[]) =>
    sqs.send(new SendMessageBatchCommand({ QueueUrl: sqsFake.queueUrl(queue), Entries: entries }));

  it('receives SendMessageBatch as AWS JSON 1.0 with the AmazonSQS target', async () => {
    // Act
    const output = await sendBatch('q', [entry(1)]);

    // Assess
    expect(output.Successful?.map((s) => s.Id)).toEqual(['e1']);
    const call = sqsFake.calls.at(-1);
    expect(call?.headers['x-amz-target']).toBe('AmazonSQS.SendMessageBatch');
    expect(call?.headers['content-type']).toBe('application/x-amz-json-1.0');
  });

  it.each([
    {
      name: 'more than 10 entries',
      entries: () => Array.from({ length: 11 }, (_, i) => entry(i)),
      error: 'TooManyEntriesInBatchRequest',
    },
    {
      name: 'more than 1 MiB in one call',
      entries: () => Array.from({ length: 5 }, (_, i) => entry(i, { MessageBody: 'x'.repeat(250_000) })),
      error: 'BatchRequestTooLong',
    },
    { name: 'repeated ids', entries: () => [entry(1), entry(1)], error: 'BatchEntryIdsNotDistinct' },
  ])('refuses a whole SQS call with $name', async ({ entries, error }) => {
    // Act + Assess
    await expect(sendBatch('q', entries())).rejects.toMatchObject({ name: error });
  });

  it.each([
    {
      name: 'a FIFO entry without a group',
      queue: 'q.fifo',
      entry: entry(1, { MessageDeduplicationId: 'd' }),
      code: 'MissingParameter',
    },
    {
      name: 'a FIFO entry without a deduplication id',
      queue: 'q.fifo',
      entry: entry(1, { MessageGroupId: 'g' }),
      code: 'InvalidParameterValue',
    },
    {
      name: 'a FIFO id over 128 characters',
      queue: 'q.fifo',
      entry: entry(1, { MessageGroupId: 'g', MessageDeduplicationId: 'd'.repeat(129) }),
      code: 'InvalidParameterValue',
    },
    {
      name: 'a deduplication id on a standard queue',
      queue: 'q',
      entry: entry(1, { MessageDeduplicationId: 'd' }),
      code: 'InvalidParameterValue',
    },
    {
      name: 'a NUL in the body',
      queue: 'q',
      entry: entry(1, { MessageBody: 'a\u0000b' }),
      code: 'InvalidMessageContents',
    },
    {
      name: 'a message over 256 KiB',
      queue: 'q',
      entry: entry(1, { MessageBody: 'x'.repeat(262_145) }),
      code: 'InvalidParameterValue',
    },
    {
      name: 'an empty attribute value',
      queue: 'q',
      entry: entry(1, { MessageAttributes: { a: { DataType: 'String', StringValue: '' } } }),
      code: 'InvalidParameterValue',
    },
  ])('fails $name as a sender fault', async ({ queue, entry: sent, code }) => {
    // Act
    const output = await sendBatch(queue, [sent]);

    // Assess
    expect(output.Failed?.map((f) => [f.Code, f.SenderFault])).toEqual([[code, true]]);
  });

  it('deduplicates a FIFO deduplication id within 5 minutes per queue, answering success with the first message id', async () => {
    // Prepare: a fake of its own, with a clock the test moves
    let clock = 1_000_000;
    const fake = await startFakeSqs({ now: () => clock });
    const client = new SQSClient({ ...FAKE_AWS, endpoint: fake.endpoint, maxAttempts: 1 });
    const send = (queue: string, body: string, dedup: string) =>
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: fake.queueUrl(queue),
          Entries: [entry(1, { MessageBody: body, MessageGroupId: 'g', MessageDeduplicationId: dedup })],
        }),
      );
    try {
      // Act
      const first = await send('a.fifo', 'one', 'd1');
      clock += SQS_DEDUPLICATION_WINDOW_MS - 1;
      const copy = await send('a.fifo', 'one again', 'd1');
      await send('b.fifo', 'one in b', 'd1');
      clock += 1;
      await send('a.fifo', 'one after the window', 'd1');

      // Assess
      expect(copy.Successful?.[0]?.MessageId).toBe(first.Successful?.[0]?.MessageId);
      expect(fake.messages.map((m) => m.MessageBody)).toEqual(['one', 'one in b', 'one after the window']);
      expect(fake.deduplicated.map((m) => m.MessageBody)).toEqual(['one again']);
      expect(fake.messages.map((m) => m.sequenceNumber)).toEqual([
        '00000000000000000001',
        '00000000000000000001',
        '00000000000000000002',
      ]);
    } finally {
      client.destroy();
      await fake.close();
    }
  });

  it('deduplicates by body only on a queue with content-based deduplication', async () => {
    // Prepare
    const fake = await startFakeSqs({ contentBasedDeduplication: ['content.fifo'] });
    const client = new SQSClient({ ...FAKE_AWS, endpoint: fake.endpoint, maxAttempts: 1 });
    const send = (queue: string, body: string) =>
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: fake.queueUrl(queue),
          Entries: [entry(1, { MessageBody: body, MessageGroupId: 'g' })],
        }),
      );
    try {
      // Act
      const outputs = [
        await send('content.fifo', 'same'),
        await send('content.fifo', 'same'),
        await send('content.fifo', 'other'),
        await send('plain.fifo', 'same'),
      ];

      // Assess
      expect(outputs.map((output) => output.Failed?.[0]?.Code ?? 'ok')).toEqual([
        'ok',
        'ok',
        'ok',
        'InvalidParameterValue',
      ]);
      expect(fake.groups('content.fifo')).toEqual({ g: ['same', 'other'] });
    } finally {
      client.destroy();
      await fake.close();
    }
  });

  it('keeps each FIFO group in acceptance order, and accepts later entries of a group after a failed one as SQS does', async () => {
    // Prepare: SQS judges every entry of a call on its own, so a failed entry does not hold back its group
    sqsFake.failEntries((sent) =>
      sent.MessageBody === 'a1' ? { code: 'ServiceUnavailable', senderFault: false } : undefined,
    );
    const fifo = (body: string, group: string) =>
      entry(0, { Id: body, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: body });

    // Act
    try {
      await sendBatch('order.fifo', [fifo('a0', 'a'), fifo('b0', 'b'), fifo('a1', 'a'), fifo('a2', 'a')]);
    } finally {
      sqsFake.failEntries(() => undefined);
    }

    // Assess
    expect(sqsFake.groups('order.fifo')).toEqual({ a: ['a0', 'a2'], b: ['b0'] });
  });

  const putEvents = (entries: PutEventsRequestEntry[]) =>
    events.send(new PutEventsCommand({ Entries: entries }));
  const event = (detail = '{}'): PutEventsRequestEntry => ({
    Source: 's',
    DetailType: 'd',
    Detail: detail,
    EventBusName: 'b',
  });

  it('receives PutEvents as AWS JSON 1.1 with the AWSEvents target', async () => {
    // Act
    const output = await putEvents([event()]);

    // Assess
    expect(output.FailedEntryCount).toBe(0);
    expect(eventsFake.calls.at(-1)?.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(eventsFake.calls.at(-1)?.headers['content-type']).toBe('application/x-amz-json-1.1');
  });

  it.each([
    { name: 'more than 10 entries', entries: () => Array.from({ length: 11 }, () => event()) },
    {
      name: 'more than 256 KB',
      entries: () => [
        event(JSON.stringify({ a: 'x'.repeat(140_000) })),
        event(JSON.stringify({ a: 'x'.repeat(140_000) })),
      ],
    },
  ])('refuses a whole PutEvents call with $name', async ({ entries }) => {
    // Act + Assess
    await expect(putEvents(entries())).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('fails an entry whose Detail is not a JSON object', async () => {
    // Act
    const output = await putEvents([event('[1,2]'), event('{"ok":1}')]);

    // Assess
    expect(output.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['MalformedDetail', 'ok']);
  });
});
