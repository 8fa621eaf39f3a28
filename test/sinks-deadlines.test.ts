import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import { createDeadLetterQueue, createSink, type DeliveryOutcome } from '../lib/sinks/index.js';
import {
  FAKE_AWS,
  type FakeEventBridge,
  type FakeSqs,
  sinkRecord,
  startFakeEventBridge,
  startFakeSqs,
} from './helpers/aws-fakes.js';
import { createMemoryLog } from './helpers/log.js';

// The SDK clients set no request timeout of their own: only the deadline's abort signal bounds an AWS
// answer that sends its headers and then trickles its body.
describe('AWS sink calls end by their deadline', () => {
  let sqs: FakeSqs;
  let eventBridge: FakeEventBridge;
  let aws: ReturnType<typeof createAwsClients>;
  const deps = () => ({ aws, log: createMemoryLog(), now: Date.now });

  beforeEach(async () => {
    sqs = await startFakeSqs();
    eventBridge = await startFakeEventBridge();
    aws = createAwsClients({
      ...FAKE_AWS,
      sqsEndpoint: sqs.endpoint,
      eventBridgeEndpoint: eventBridge.endpoint,
    });
  });
  afterEach(async () => {
    aws.destroy();
    await sqs.close();
    await eventBridge.close();
  });

  const timed = async <T>(run: () => Promise<T>): Promise<{ result: T | unknown; elapsedMs: number }> => {
    const started = Date.now();
    let result: T | unknown;
    try {
      result = await run();
    } catch (error) {
      result = error;
    }
    return { result, elapsedMs: Date.now() - started };
  };
  const codes = (outcomes: DeliveryOutcome[]) => outcomes.map((o) => (o.ok ? 'ok' : o.error.code));

  it.each([
    { name: 'an SQS standard queue', queue: 'plain' },
    { name: 'an SQS FIFO queue', queue: 'plain.fifo' },
  ])('a SendMessageBatch answer that trickles, to $name', async ({ queue }) => {
    // Prepare
    sqs.failCalls({ kind: 'trickle', intervalMs: 100 });
    const sink = createSink(
      {
        type: 'sqs',
        queueUrl: sqs.queueUrl(queue),
        fifo: queue.endsWith('.fifo'),
        maxMessageBytes: 262_144,
        maxBatchRecords: 10,
      },
      deps(),
    );

    // Act
    const { result, elapsedMs } = await timed(() =>
      sink.deliver([sinkRecord(0, 'a'), sinkRecord(1, 'b')], { deadlineMs: Date.now() + 400 }),
    );

    // Assess
    expect(codes(result as DeliveryOutcome[])[0]).toBe('ERR_UPSTREAM_TIMEOUT');
    expect(elapsedMs).toBeLessThan(1_500);
  });

  it('a PutEvents answer that trickles', async () => {
    // Prepare
    eventBridge.failCalls({ kind: 'trickle', intervalMs: 100 });
    const sink = createSink(
      { type: 'eventbridge', busName: 'bus', source: 'kafka', detailType: 'record', maxBatchRecords: 10 },
      deps(),
    );

    // Act
    const { result, elapsedMs } = await timed(() =>
      sink.deliver([sinkRecord(0, '{}')], { deadlineMs: Date.now() + 400 }),
    );

    // Assess
    expect(codes(result as DeliveryOutcome[])).toEqual(['ERR_UPSTREAM_TIMEOUT']);
    expect(elapsedMs).toBeLessThan(1_500);
  });

  it('a DLQ answer that trickles', async () => {
    // Prepare
    sqs.failCalls({ kind: 'trickle', intervalMs: 100 });
    const dlq = createDeadLetterQueue(
      { queueUrl: sqs.queueUrl('dlq'), fifo: false, maxMessageBytes: 262_144 },
      deps(),
    );
    const record = sinkRecord(0, 'poison');

    // Act
    const { result, elapsedMs } = await timed(() =>
      dlq.send(
        { ...record, drainId: 'd', attempts: 5, lastError: { code: 'ERR_SINK_REJECTED', message: 'no' } },
        { deadlineMs: Date.now() + 400 },
      ),
    );

    // Assess
    expect(result).toMatchObject({ code: 'ERR_UPSTREAM_TIMEOUT' });
    expect(elapsedMs).toBeLessThan(1_500);
  });
});
