import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createDeadLetterQueue, type DeadLetter, type DeadLetterBody } from '../lib/sinks/index.js';
import { FAKE_AWS, type FakeSqs, sqsMessageBytes, startFakeSqs } from './helpers/aws-fakes.js';
import { createMemoryLog } from './helpers/log.js';

const ID = 'prod-eu/orders/4/3/1234';
const letter = (overrides: Partial<DeadLetter> = {}): DeadLetter => ({
  drainId: 'orders-to-http',
  id: ID,
  topic: 'orders',
  partition: 4,
  offset: 1_234,
  key: Buffer.from('user-7'),
  value: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
  attempts: 5,
  lastError: { code: 'ERR_SINK_REJECTED', message: 'HTTP sink example.com answered 422' },
  ...overrides,
});

describe('dead-letter queue', () => {
  let fake: FakeSqs;
  let aws: ReturnType<typeof createAwsClients>;
  let log: ReturnType<typeof createMemoryLog>;
  const clock = Date.parse('2031-02-03T04:05:06.789Z');
  const now = () => clock;
  const deadline = { deadlineMs: clock + 10_000 };

  beforeEach(async () => {
    fake = await startFakeSqs();
    aws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: fake.endpoint });
    log = createMemoryLog();
  });
  afterEach(async () => {
    aws.destroy();
    await fake.close();
  });

  const dlq = (name: string, maxMessageBytes = 262_144) =>
    createDeadLetterQueue(
      { queueUrl: fake.queueUrl(name), fifo: name.endsWith('.fifo'), maxMessageBytes },
      { aws, log, now },
    );
  const bodies = () => fake.messages.map((m) => JSON.parse(m.MessageBody) as DeadLetterBody);

  it('sends one JSON message with coordinates, key and value (base64), attempts, last error and time', async () => {
    // Act
    await dlq('dlq').send(letter(), deadline);

    // Assess
    expect(bodies()).toEqual([
      {
        drainId: 'orders-to-http',
        id: ID,
        topic: 'orders',
        partition: 4,
        offset: 1_234,
        key: 'dXNlci03',
        value: '3q2+7w==',
        keyBytes: 6,
        valueBytes: 4,
        attempts: 5,
        lastError: { code: 'ERR_SINK_REJECTED', message: 'HTTP sink example.com answered 422' },
        failedAt: '2031-02-03T04:05:06.789Z',
      },
    ]);
    expect(fake.messages[0]?.MessageAttributes).toEqual({
      'kafka-record-id': { DataType: 'String', StringValue: ID },
      'kafka.topic': { DataType: 'String', StringValue: 'orders' },
      'kafka.partition': { DataType: 'Number', StringValue: '4' },
      'kafka.offset': { DataType: 'Number', StringValue: '1234' },
      'drain.id': { DataType: 'String', StringValue: 'orders-to-http' },
    });
  });

  it('keeps null key and value as null', async () => {
    // Act
    await dlq('dlq').send(letter({ key: null, value: null }), deadline);

    // Assess
    expect(
      bodies().map(({ key, value, keyBytes, valueBytes }) => ({ key, value, keyBytes, valueBytes })),
    ).toEqual([{ key: null, value: null, keyBytes: null, valueBytes: null }]);
  });

  it('uses drain-topic-partition as the FIFO group and deduplicates a resend of the same record only', async () => {
    // Act: a resend, another drain's letter for the record, and the same offset in a re-created topic
    await dlq('dlq.fifo').send(letter(), deadline);
    await dlq('dlq.fifo').send(letter(), deadline);
    await dlq('dlq.fifo').send(letter({ drainId: 'orders-to-sqs' }), deadline);
    await dlq('dlq.fifo').send(letter({ id: 'prod-eu/orders/4/4/1234' }), deadline);

    // Assess
    expect(fake.messages.map((m) => [m.MessageGroupId, m.MessageDeduplicationId])).toEqual([
      ['orders-to-http-orders-4', `orders-to-http/${ID}`],
      ['orders-to-sqs-orders-4', `orders-to-sqs/${ID}`],
      ['orders-to-http-orders-4', 'orders-to-http/prod-eu/orders/4/4/1234'],
    ]);
    expect(fake.deduplicated).toHaveLength(1);
  });

  it('leaves the value (then the key) out of a letter too large for the queue, and says so', async () => {
    // Prepare
    const big = letter({ value: Buffer.alloc(300_000, 7), key: Buffer.from('k') });
    const huge = letter({ value: Buffer.alloc(300_000, 7), key: Buffer.alloc(300_000, 8) });

    // Act
    await dlq('dlq').send(big, deadline);
    await dlq('dlq').send(huge, deadline);

    // Assess
    expect(
      bodies().map(({ key, value, valueOmitted, keyOmitted, valueBytes, keyBytes }) => ({
        key,
        value,
        valueOmitted,
        keyOmitted,
        valueBytes,
        keyBytes,
      })),
    ).toEqual([
      {
        key: 'aw==',
        value: null,
        valueOmitted: true,
        keyOmitted: undefined,
        valueBytes: 300_000,
        keyBytes: 1,
      },
      {
        key: null,
        value: null,
        valueOmitted: true,
        keyOmitted: true,
        valueBytes: 300_000,
        keyBytes: 300_000,
      },
    ]);
    expect(fake.messages.every((m) => sqsMessageBytes(m) <= 262_144)).toBe(true);
    expect(log.lines.filter((line) => line.level === 'warn')).toHaveLength(2);
    expect(log.text()).not.toContain(Buffer.alloc(16, 7).toString('base64'));
  });

  it('truncates a long last-error message', async () => {
    // Act
    await dlq('dlq').send(
      letter({ lastError: { code: 'ERR_SINK_FAILED', message: 'e'.repeat(5_000) } }),
      deadline,
    );

    // Assess
    expect(bodies()[0]?.lastError.message).toHaveLength(1_000);
  });

  it.each([
    {
      name: 'a failed entry',
      arrange: (sqs: FakeSqs) => sqs.failEntries(() => ({ code: 'KmsThrottled', senderFault: false })),
      code: 'ERR_SINK_FAILED',
      message: /KmsThrottled/,
    },
    {
      name: 'a failed call',
      arrange: (sqs: FakeSqs) =>
        sqs.failCalls({ kind: 'error', status: 400, type: 'QueueDoesNotExist', message: 'no such queue' }),
      code: 'ERR_SINK_FAILED',
      message: /400/,
    },
    {
      name: 'a dropped connection',
      arrange: (sqs: FakeSqs) => sqs.failCalls({ kind: 'drop' }),
      code: 'ERR_UPSTREAM_NETWORK',
      message: /ECONNRESET/,
    },
  ])('throws on $name so that the drain keeps its checkpoint', async ({ arrange, code, message }) => {
    // Prepare
    arrange(fake);

    // Act + Assess
    await expect(dlq('dlq').send(letter(), deadline)).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
    expect(fake.calls).toHaveLength(1);
    expect(fake.messages).toEqual([]);
  });

  it('throws ERR_DEADLINE without a call once the deadline has passed', async () => {
    // Act + Assess
    await expect(dlq('dlq').send(letter(), { deadlineMs: clock })).rejects.toMatchObject({
      code: 'ERR_DEADLINE',
    });
    expect(fake.calls).toEqual([]);
  });
});
