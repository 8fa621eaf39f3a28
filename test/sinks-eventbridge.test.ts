import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createSink, type DeliveryOutcome } from '../lib/sinks/index.js';
import {
  eventBridgeEntryBytes,
  FAKE_AWS,
  type FakeEventBridge,
  sinkRecord,
  startFakeEventBridge,
  TEST_NAMESPACE,
} from './helpers/aws-fakes.js';
import { createMemoryLog } from './helpers/log.js';

const record = (
  offset: number,
  value: Buffer | string | null,
  overrides: Parameters<typeof sinkRecord>[2] = {},
) => sinkRecord(offset, value, { partition: 1, ...overrides });
const ID = `${TEST_NAMESPACE}/orders/1/1/9`;

const summary = (outcomes: DeliveryOutcome[]) =>
  outcomes.map((outcome) =>
    outcome.ok
      ? 'ok'
      : `${outcome.error.code}:${outcome.permanent ? 'permanent' : 'retriable'}${outcome.attempted === false ? ':not-attempted' : ''}`,
  );

describe('EventBridge sink', () => {
  let fake: FakeEventBridge;
  let aws: ReturnType<typeof createAwsClients>;
  const deadline = () => ({ deadlineMs: Date.now() + 10_000 });

  beforeEach(async () => {
    fake = await startFakeEventBridge();
    aws = createAwsClients({ ...FAKE_AWS, eventBridgeEndpoint: fake.endpoint });
  });
  afterEach(async () => {
    aws.destroy();
    await fake.close();
  });

  const sink = () =>
    createSink(
      {
        type: 'eventbridge',
        busName: 'bridge-bus',
        source: 'kafka.bridge',
        detailType: 'kafka.record',
        maxBatchRecords: 100,
      },
      { aws, log: createMemoryLog(), now: Date.now },
    );
  const offsetsOf = (events: FakeEventBridge['events']) =>
    events.map((event) => (JSON.parse(event.Detail ?? '{}') as { offset: number }).offset);

  it('puts one event per record on the configured bus, source and detail type', async () => {
    // Act
    const outcomes = await sink().deliver([record(5, '{"a":1}'), record(6, '{"a":2}')], deadline());

    // Assess
    expect(summary(outcomes)).toEqual(['ok', 'ok']);
    expect(fake.calls.map((call) => call.operation)).toEqual(['PutEvents']);
    expect(
      fake.events.map(({ EventBusName, Source, DetailType }) => [EventBusName, Source, DetailType]),
    ).toEqual([
      ['bridge-bus', 'kafka.bridge', 'kafka.record'],
      ['bridge-bus', 'kafka.bridge', 'kafka.record'],
    ]);
    expect(offsetsOf(fake.events)).toEqual([5, 6]);
  });

  it.each([
    {
      name: 'a JSON value embedded verbatim (big numbers keep their digits)',
      value: Buffer.from(' {"amount": 12345678901234567890} '),
      key: Buffer.from('k1'),
      detail: `{"id":"${ID}","topic":"orders","partition":1,"offset":9,"key":"azE=","value":{"amount": 12345678901234567890}}`,
    },
    {
      name: 'a JSON string value',
      value: Buffer.from('"just text"'),
      key: null,
      detail: `{"id":"${ID}","topic":"orders","partition":1,"offset":9,"key":null,"value":"just text"}`,
    },
    {
      name: 'non-JSON text as valueBase64',
      value: Buffer.from('plain text'),
      key: null,
      detail: `{"id":"${ID}","topic":"orders","partition":1,"offset":9,"key":null,"valueBase64":"cGxhaW4gdGV4dA=="}`,
    },
    {
      name: 'binary as valueBase64',
      value: Buffer.from([0xff, 0x00]),
      key: null,
      detail: `{"id":"${ID}","topic":"orders","partition":1,"offset":9,"key":null,"valueBase64":"/wA="}`,
    },
    {
      name: 'a tombstone',
      value: null,
      key: Buffer.from('k'),
      detail: `{"id":"${ID}","topic":"orders","partition":1,"offset":9,"key":"aw==","value":null,"tombstone":true}`,
    },
  ])('sends $name as Detail', async ({ value, key, detail }) => {
    // Act
    const outcomes = await sink().deliver([record(9, value, { key })], deadline());

    // Assess
    expect(summary(outcomes)).toEqual(['ok']);
    expect(fake.events.map((event) => event.Detail)).toEqual([detail]);
  });

  it('splits 25 records into calls of 10, 10 and 5 entries, in order', async () => {
    // Act
    const outcomes = await sink().deliver(
      Array.from({ length: 25 }, (_, i) => record(i, `{"i":${i}}`)),
      deadline(),
    );

    // Assess
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(fake.calls.map((call) => (call.body.Entries as unknown[]).length)).toEqual([10, 10, 5]);
    expect(offsetsOf(fake.events)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('keeps each call within 256 KB as EventBridge counts entry sizes', async () => {
    // Prepare: ~100 KB events: two fit in one call, three do not
    const records = Array.from({ length: 5 }, (_, i) => record(i, JSON.stringify('z'.repeat(100_000))));

    // Act
    const outcomes = await sink().deliver(records, deadline());

    // Assess
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(fake.calls.map((call) => (call.body.Entries as unknown[]).length)).toEqual([2, 2, 1]);
    for (const call of fake.calls) {
      const entries = call.body.Entries as Parameters<typeof eventBridgeEntryBytes>[0][];
      expect(entries.reduce((sum, entry) => sum + eventBridgeEntryBytes(entry), 0)).toBeLessThanOrEqual(
        262_144,
      );
    }
    expect(offsetsOf(fake.events)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects an event over 256 KB for good without sending it, and still sends the others', async () => {
    // Act
    const outcomes = await sink().deliver(
      [record(0, '{"ok":true}'), record(1, Buffer.alloc(200_000, 1)), record(2, '{"ok":true}')],
      deadline(),
    );

    // Assess
    expect(summary(outcomes)).toEqual(['ok', 'ERR_PAYLOAD_TOO_LARGE:permanent', 'ok']);
    expect(offsetsOf(fake.events)).toEqual([0, 2]);
  });

  it('delivers unordered: a throttled entry does not hold back the later ones, each outcome stands alone', async () => {
    // Prepare: EventBridge delivers to targets in no order, so holding records back would buy nothing
    fake.failEntries((entry) =>
      (JSON.parse(entry.Detail ?? '{}') as { offset: number }).offset === 0
        ? { code: 'ThrottlingException' }
        : undefined,
    );
    const eventBridge = sink();

    // Act
    const outcomes = await eventBridge.deliver(
      [0, 1, 2, 3].map((i) => record(i, '{}')),
      deadline(),
    );

    // Assess
    expect(eventBridge.ordered).toBe(false);
    expect(summary(outcomes)).toEqual(['ERR_SINK_FAILED:retriable', 'ok', 'ok', 'ok']);
    expect(fake.calls).toHaveLength(1);
  });

  it('carries the record id in Detail, the same on a resend, so targets can drop duplicates', async () => {
    // Act: the same record twice (a resend after a lost answer), and its namesake in a re-created topic
    const eventBridge = sink();
    await eventBridge.deliver([record(9, '{}')], deadline());
    await eventBridge.deliver([record(9, '{}')], deadline());
    await eventBridge.deliver([record(9, '{}', { epoch: 2 })], deadline());

    // Assess
    const ids = fake.events.map((event) => (JSON.parse(event.Detail ?? '{}') as { id: string }).id);
    expect(ids).toEqual([ID, ID, `${TEST_NAMESPACE}/orders/1/2/9`]);
    expect(new Set(fake.events.map((event) => event.eventId)).size).toBe(3);
  });

  it('maps per-entry error codes: validation errors are permanent, others retriable', async () => {
    // Prepare
    fake.failEntries((entry) => {
      const offset = (JSON.parse(entry.Detail ?? '{}') as { offset: number }).offset;
      if (offset === 1) return { code: 'ThrottlingException', message: 'Rate exceeded' };
      if (offset === 2) return { code: 'MalformedDetail', message: 'Detail is malformed.' };
      if (offset === 3) return { code: 'InternalFailure' };
      return undefined;
    });

    // Act
    const outcomes = await sink().deliver(
      [0, 1, 2, 3, 4].map((i) => record(i, '{}')),
      deadline(),
    );

    // Assess
    expect(summary(outcomes)).toEqual([
      'ok',
      'ERR_SINK_FAILED:retriable',
      'ERR_SINK_REJECTED:permanent',
      'ERR_SINK_FAILED:retriable',
      'ok',
    ]);
    expect(outcomes[1]?.ok === false && outcomes[1].error.message).toContain('ThrottlingException');
    expect(offsetsOf(fake.events)).toEqual([0, 4]);
  });

  it('fails the whole call retriably and attempts nothing after it', async () => {
    // Prepare
    fake.failCalls({ kind: 'error', status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });

    // Act
    const outcomes = await sink().deliver(
      Array.from({ length: 12 }, (_, i) => record(i, '{}')),
      deadline(),
    );

    // Assess
    expect(summary(outcomes)).toEqual([
      ...Array(10).fill('ERR_SINK_FAILED:retriable'),
      ...Array(2).fill('ERR_SINK_FAILED:retriable:not-attempted'),
    ]);
    expect(fake.calls.map((call) => call.status)).toEqual([400]);
    expect(fake.events).toEqual([]);
  });

  it('reports a dropped connection as a retriable failure', async () => {
    // Prepare
    fake.failCalls({ kind: 'drop' });

    // Act
    const outcomes = await sink().deliver([record(0, '{}')], deadline());

    // Assess
    expect(summary(outcomes)).toEqual(['ERR_UPSTREAM_NETWORK:retriable']);
    expect(fake.calls.map((call) => call.status)).toEqual([null]);
  });
});
