import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createSink, type DeliveryOutcome } from '../lib/sinks/index.js';
import {
  FAKE_AWS,
  type FakeSqs,
  sinkRecord,
  sqsMessageBytes,
  startFakeSqs,
  TEST_NAMESPACE,
} from './helpers/aws-fakes.js';
import { createMemoryLog } from './helpers/log.js';

const record = sinkRecord;

const entriesPerCall = (fake: FakeSqs) => fake.calls.map((call) => (call.body.Entries as unknown[]).length);
const summary = (outcomes: DeliveryOutcome[]) =>
  outcomes.map((outcome) =>
    outcome.ok
      ? 'ok'
      : `${outcome.error.code}:${outcome.permanent ? 'permanent' : 'retriable'}${outcome.attempted === false ? ':not-attempted' : ''}`,
  );

describe('SQS sink', () => {
  let fake: FakeSqs;
  let aws: ReturnType<typeof createAwsClients>;
  const now = () => Date.now();
  const deadline = () => ({ deadlineMs: Date.now() + 10_000 });

  beforeEach(async () => {
    fake = await startFakeSqs();
    aws = createAwsClients({ ...FAKE_AWS, sqsEndpoint: fake.endpoint });
  });
  afterEach(async () => {
    aws.destroy();
    await fake.close();
  });

  const sqsSink = (name: string, overrides: { maxMessageBytes?: number } = {}) =>
    createSink(
      {
        type: 'sqs',
        queueUrl: fake.queueUrl(name),
        fifo: name.endsWith('.fifo'),
        maxMessageBytes: overrides.maxMessageBytes ?? 262_144,
        maxBatchRecords: 100,
      },
      { aws, log: createMemoryLog(), now },
    );

  it('sends FIFO messages in order, one per call, with MessageGroupId topic-partition and the record id as MessageDeduplicationId', async () => {
    // Prepare
    const sink = sqsSink('orders.fifo');
    const records = [record(7, '{"id":1}'), record(8, '{"id":2}'), record(9, '{"id":3}')];

    // Act
    const outcomes = await sink.deliver(records, deadline());

    // Assess
    expect(summary(outcomes)).toEqual(['ok', 'ok', 'ok']);
    expect(sink.ordered).toBe(true);
    expect(entriesPerCall(fake)).toEqual([1, 1, 1]);
    expect(
      fake.messages.map((m) => [
        m.MessageBody,
        m.MessageGroupId,
        m.MessageDeduplicationId,
        m.MessageAttributes['kafka-record-id']?.StringValue,
        m.queueUrl,
      ]),
    ).toEqual(
      [7, 8, 9].map((offset, i) => [
        `{"id":${i + 1}}`,
        'orders-0',
        `${TEST_NAMESPACE}/orders/0/1/${offset}`,
        `${TEST_NAMESPACE}/orders/0/1/${offset}`,
        fake.queueUrl('orders.fifo'),
      ]),
    );
  });

  it('keeps FIFO ids within 128 characters and distinct for long topic names', async () => {
    // Prepare: two 249-character topics that differ only at the end
    const topicA = `${'t'.repeat(248)}a`;
    const topicB = `${'t'.repeat(248)}b`;
    const sink = sqsSink('long.fifo');

    // Act
    const outcomes = await sink.deliver(
      [record(1, 'a', { topic: topicA }), record(1, 'b', { topic: topicB, partition: 0 })],
      deadline(),
    );

    // Assess
    expect(summary(outcomes)).toEqual(['ok', 'ok']);
    const [a, b] = fake.messages;
    expect(a?.MessageDeduplicationId?.length).toBeLessThanOrEqual(128);
    expect(a?.MessageGroupId?.length).toBeLessThanOrEqual(128);
    expect(a?.MessageDeduplicationId).toMatch(/^sha256:[\w-]{43}$/);
    expect(a?.MessageDeduplicationId).not.toBe(b?.MessageDeduplicationId);
    expect(a?.MessageAttributes['kafka-record-id']?.StringValue).toBe(`${TEST_NAMESPACE}/${topicA}/0/1/1`);
    expect(a?.MessageGroupId).not.toBe(b?.MessageGroupId);
    expect(fake.deduplicated).toEqual([]);
  });

  it('splits 25 records into calls of 10, 10 and 5 entries, in order', async () => {
    // Prepare
    const sink = sqsSink('plain');
    const records = Array.from({ length: 25 }, (_, i) => record(i, `v${i}`));

    // Act
    const outcomes = await sink.deliver(records, deadline());

    // Assess
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(entriesPerCall(fake)).toEqual([10, 10, 5]);
    expect(fake.messages.map((m) => m.MessageBody)).toEqual(records.map((r) => r.value?.toString()));
  });

  it('keeps each call within 1 MiB of messages (body plus attributes)', async () => {
    // Prepare: 250 000-byte values: four fit in 1 MiB, five do not
    const sink = sqsSink('big');
    const records = Array.from({ length: 6 }, (_, i) => record(i, 'x'.repeat(250_000)));

    // Act
    const outcomes = await sink.deliver(records, deadline());

    // Assess
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(entriesPerCall(fake)).toEqual([4, 2]);
    const callBytes = [fake.messages.slice(0, 4), fake.messages.slice(4)].map((batch) =>
      batch.reduce((sum, m) => sum + sqsMessageBytes(m), 0),
    );
    expect(Math.max(...callBytes)).toBeLessThanOrEqual(1_048_576);
    expect(fake.messages.map((m) => m.MessageAttributes['kafka.offset']?.StringValue)).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
    ]);
  });

  it.each([
    {
      name: 'standard queue: only the oversized record fails, the others go',
      queue: 'plain',
      expected: ['ok', 'ERR_PAYLOAD_TOO_LARGE:permanent', 'ok'],
      sent: ['0', '2'],
    },
    {
      name: 'FIFO queue: records after the oversized one are not attempted',
      queue: 'plain.fifo',
      expected: ['ok', 'ERR_PAYLOAD_TOO_LARGE:permanent', 'ERR_SINK_FAILED:retriable:not-attempted'],
      sent: ['0'],
    },
  ])(
    'rejects a message over the queue limit for good without sending it ($name)',
    async ({ queue, expected, sent }) => {
      // Prepare
      const sink = sqsSink(queue, { maxMessageBytes: 2_000 });
      const records = [record(0, 'small'), record(1, 'y'.repeat(3_000)), record(2, 'small too')];

      // Act
      const outcomes = await sink.deliver(records, deadline());

      // Assess
      expect(summary(outcomes)).toEqual(expected);
      expect(fake.messages.map((m) => m.MessageAttributes['kafka.offset']?.StringValue)).toEqual(sent);
    },
  );

  it.each([
    { name: 'UTF-8 text', value: Buffer.from('héllo wörld'), body: 'héllo wörld', encoding: 'utf-8' },
    { name: 'invalid UTF-8', value: Buffer.from([0xff, 0xfe, 0x00]), body: '//4A', encoding: 'base64' },
    {
      name: 'UTF-8 with a NUL (SQS refuses it)',
      value: Buffer.from('a\u0000b'),
      body: 'YQBi',
      encoding: 'base64',
    },
    { name: 'a tombstone', value: null, body: '-', encoding: 'null' },
    { name: 'an empty value', value: Buffer.alloc(0), body: '-', encoding: 'empty' },
  ])('carries $name with kafka.value-encoding=$encoding', async ({ value, body, encoding }) => {
    // Act
    const outcomes = await sqsSink('plain').deliver([record(3, value)], deadline());

    // Assess
    expect(summary(outcomes)).toEqual(['ok']);
    expect(fake.messages[0]?.MessageBody).toBe(body);
    expect(fake.messages[0]?.MessageAttributes['kafka.value-encoding']?.StringValue).toBe(encoding);
  });

  it.each([
    { name: 'a null key', key: null, attributes: [] },
    { name: 'a binary key', key: Buffer.from([1, 2, 0xff]), attributes: ['kafka.key'] },
    { name: 'an empty key', key: Buffer.alloc(0), attributes: ['kafka.key-empty'] },
  ])('sends coordinates as attributes, with $name', async ({ key, attributes }) => {
    // Act
    await sqsSink('plain').deliver([record(42, 'v', { topic: 'payments', partition: 3, key })], deadline());

    // Assess
    const sent = fake.messages[0]?.MessageAttributes ?? {};
    expect(Object.keys(sent).sort()).toEqual(
      [
        'kafka-record-id',
        'kafka.offset',
        'kafka.partition',
        'kafka.topic',
        'kafka.value-encoding',
        ...attributes,
      ].sort(),
    );
    expect(sent['kafka-record-id']?.StringValue).toBe(`${TEST_NAMESPACE}/payments/3/1/42`);
    expect([sent['kafka.topic'], sent['kafka.partition'], sent['kafka.offset']]).toEqual([
      { DataType: 'String', StringValue: 'payments' },
      { DataType: 'Number', StringValue: '3' },
      { DataType: 'Number', StringValue: '42' },
    ]);
    if (key !== null && key.length > 0) expect(sent['kafka.key']?.BinaryValue).toEqual(key);
  });

  it('reports per-entry failures of a standard queue independently: SenderFault permanent, others retriable', async () => {
    // Prepare
    fake.failEntries((entry) => {
      const offset = entry.MessageAttributes['kafka.offset']?.StringValue;
      if (offset === '1') return { code: 'InternalError', senderFault: false, message: 'try later' };
      if (offset === '2') return { code: 'KmsInvalidKeyUsage', senderFault: true };
      return undefined;
    });

    // Act
    const outcomes = await sqsSink('plain').deliver(
      [0, 1, 2, 3].map((i) => record(i, `v${i}`)),
      deadline(),
    );

    // Assess
    expect(summary(outcomes)).toEqual([
      'ok',
      'ERR_SINK_FAILED:retriable',
      'ERR_SINK_REJECTED:permanent',
      'ok',
    ]);
    expect(outcomes[1]?.ok === false && outcomes[1].error.message).toContain('InternalError');
    expect(fake.messages.map((m) => m.MessageBody)).toEqual(['v0', 'v3']);
  });

  it('never sends a FIFO message before the one before it in its group is accepted: one entry failing keeps the queue in order', async () => {
    // Prepare: offset 1 fails once. Were 1, 2 and 3 in one call, SQS would keep 2 and 3, and the resent 1
    // would land after them
    let failures = 0;
    fake.failEntries((entry) =>
      entry.MessageAttributes['kafka.offset']?.StringValue === '1' && failures++ === 0
        ? { code: 'ServiceUnavailable', senderFault: false }
        : undefined,
    );
    const sink = sqsSink('orders.fifo');
    const records = [0, 1, 2, 3].map((i) => record(i, `v${i}`));

    // Act
    const first = await sink.deliver(records, deadline());
    const second = await sink.deliver(records.slice(1), deadline());

    // Assess
    expect(summary(first)).toEqual([
      'ok',
      'ERR_SINK_FAILED:retriable',
      'ERR_SINK_FAILED:retriable:not-attempted',
      'ERR_SINK_FAILED:retriable:not-attempted',
    ]);
    expect(summary(second)).toEqual(['ok', 'ok', 'ok']);
    expect(fake.groups('orders.fifo')).toEqual({ 'orders-0': ['v0', 'v1', 'v2', 'v3'] });
    expect(fake.deduplicated).toEqual([]);
  });

  it('packs FIFO messages of different groups into one call, one per group', async () => {
    // Prepare
    const records = [
      record(0, 'a0'),
      record(0, 'b0', { partition: 1 }),
      record(1, 'a1'),
      record(1, 'b1', { partition: 1 }),
      record(2, 'a2'),
    ];

    // Act
    const outcomes = await sqsSink('orders.fifo').deliver(records, deadline());

    // Assess
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(entriesPerCall(fake)).toEqual([2, 2, 1]);
    expect(fake.groups('orders.fifo')).toEqual({ 'orders-0': ['a0', 'a1', 'a2'], 'orders-1': ['b0', 'b1'] });
  });

  it('keeps two lives of a topic apart: offset 0 of a re-created topic is not dropped as a duplicate', async () => {
    // Prepare: the same topic, partition and offset, in the topic's first and second incarnation
    const sink = sqsSink('orders.fifo');

    // Act
    const outcomes = [
      ...(await sink.deliver([record(0, 'old life', { epoch: 1 })], deadline())),
      ...(await sink.deliver([record(0, 'new life', { epoch: 2 })], deadline())),
    ];

    // Assess
    expect(summary(outcomes)).toEqual(['ok', 'ok']);
    expect(fake.messages.map((m) => m.MessageBody)).toEqual(['old life', 'new life']);
    expect(fake.deduplicated).toEqual([]);
  });

  it('delivers to a standard queue unordered: a failed entry does not hold back the later ones', async () => {
    // Prepare: standard queues keep no order, so holding records back would buy a receiver nothing
    fake.failEntries((entry) =>
      entry.MessageAttributes['kafka.offset']?.StringValue === '0'
        ? { code: 'ThrottlingException', senderFault: false }
        : undefined,
    );
    const sink = sqsSink('plain');

    // Act
    const outcomes = await sink.deliver(
      [0, 1, 2, 3].map((i) => record(i, `v${i}`)),
      deadline(),
    );

    // Assess
    expect(sink.ordered).toBe(false);
    expect(summary(outcomes)).toEqual(['ERR_SINK_FAILED:retriable', 'ok', 'ok', 'ok']);
    expect(entriesPerCall(fake)).toEqual([4]);
  });

  it('fails the whole call retriably and attempts nothing after it', async () => {
    // Prepare
    fake.failCalls({ kind: 'error', status: 500, type: 'InternalError', message: 'boom' });
    const records = Array.from({ length: 15 }, (_, i) => record(i, `v${i}`));

    // Act
    const outcomes = await sqsSink('plain').deliver(records, deadline());

    // Assess
    expect(summary(outcomes)).toEqual([
      ...Array(10).fill('ERR_SINK_FAILED:retriable'),
      ...Array(5).fill('ERR_SINK_FAILED:retriable:not-attempted'),
    ]);
    expect(outcomes[0]?.ok === false && outcomes[0].error.message).toContain('InternalError');
    expect(fake.calls.map((call) => call.status)).toEqual([500]);
    expect(fake.messages).toEqual([]);
  });

  it('reports a call that outlives the deadline as a retriable timeout', async () => {
    // Prepare
    fake.failCalls({ kind: 'delay', ms: 3_000 });

    // Act: time enough for the call to reach the fake on a loaded machine (50 ms was not always).
    const outcomes = await sqsSink('plain').deliver([record(0, 'v')], { deadlineMs: Date.now() + 500 });

    // Assess
    expect(summary(outcomes)).toEqual(['ERR_UPSTREAM_TIMEOUT:retriable']);
    expect(fake.calls).toHaveLength(1);
  });

  it('sends nothing once the deadline has passed', async () => {
    // Act
    const outcomes = await sqsSink('plain').deliver([record(0, 'v'), record(1, 'w')], {
      deadlineMs: Date.now() - 1,
    });

    // Assess
    expect(summary(outcomes)).toEqual([
      'ERR_DEADLINE:retriable:not-attempted',
      'ERR_DEADLINE:retriable:not-attempted',
    ]);
    expect(fake.calls).toEqual([]);
  });

  it('answers an empty input without a call', async () => {
    // Act
    const outcomes = await sqsSink('plain').deliver([], deadline());

    // Assess
    expect(outcomes).toEqual([]);
    expect(fake.calls).toEqual([]);
  });
});
