import { afterEach, describe, expect, it } from 'vitest';
import { makeHandler as makeSpoolHandler } from '../handlers/spool.js';
import { createS3Objects } from '../lib/aws/s3-objects.js';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { sqsEvent, sqsRecord } from './fixtures/sqs.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { SPOOL_BUCKET, SPOOL_DLQ, SPOOL_QUEUE, type SpoolStack, startSpoolStack } from './helpers/spool.js';

const ROUTES = {
  orders: {
    topic: 'orders',
    verify: { scheme: 'none' },
    key: { jsonPointer: '/id' },
    onUpstreamFailure: 'spool',
  },
};

const dynamo = dynaliteForFile();
let stack: SpoolStack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/**
 * Spools `bodies` through the webhook with the proxy down, then answers the spool function's batch of
 * them as the event source mapping would deliver it (one FIFO record per spool message, in queue order).
 */
const spooledBatch = async (bodies: readonly string[]) => {
  stack = await startSpoolStack(dynamo(), {
    WEBHOOK_ROUTES: JSON.stringify(ROUTES),
    SPOOL_PRODUCE_BUDGET_MS: '200',
  });
  const s = stack;
  s.kafka.inject({ kind: 'status', status: 503, times: 10_000 });
  for (const body of bodies) {
    const response = await s.webhook(httpApiEvent('/hooks/orders', body), lambdaContext());
    expect(response.headers?.spooled).toBe('true');
  }
  s.kafka.clearFaults();
  const messages = s.sqs.messages(SPOOL_QUEUE);
  const event = sqsEvent(
    messages.map((message, n) =>
      sqsRecord(message.body, {
        messageId: `m-${n}`,
        ...(message.groupId === undefined ? {} : { groupId: message.groupId }),
      }),
    ),
  );
  return { s, event, messages };
};

const produced = (s: SpoolStack) =>
  [0, 1, 2, 3]
    .flatMap((partition) => s.kafka.records('orders', partition))
    .map((record) => record.value?.toString());

describe('the spool function', () => {
  it('moves a record refused for good to the spool DLQ at once, and holds back the later ones of its group', async () => {
    const { s, event } = await spooledBatch(['{"id":"a","n":1}', '{"id":"a","n":2}', '{"id":"b","n":1}']);
    // The first produce request fails for good: it is a's first record (groups are produced in batch order).
    s.kafka.inject({ kind: 'record-errors', errors: { 0: { code: 50002, message: 'too large' } }, times: 1 });

    const answer = await s.backfill(event, lambdaContext());

    // a's first is dead-lettered (not delivered again), a's second comes back, b is produced.
    expect(answer.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m-1']);
    expect(produced(s)).toEqual(['{"id":"b","n":1}']);
    const [letter, ...others] = s.sqs.messages(SPOOL_DLQ);
    expect(others).toEqual([]);
    expect(letter?.body).toBe(event.Records[0]?.body);
    expect(letter?.groupId).toBe(event.Records[0]?.attributes.MessageGroupId);
    expect(letter?.attributes['spool.error.code']?.StringValue).toBe('ERR_RECORD_REJECTED');
  });

  it('reports a failed record and the later ones of its group without a DLQ to move it to', async () => {
    const { s, event } = await spooledBatch(['{"id":"a","n":1}', '{"id":"a","n":2}', '{"id":"b","n":1}']);
    s.kafka.inject({ kind: 'record-errors', errors: { 0: { code: 50002, message: 'too large' } }, times: 1 });
    const noDlq = makeSpoolHandler(() => ({ ...s.backfillDeps, deadLetters: undefined }));

    const answer = await noDlq(event, lambdaContext());

    expect(answer.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['m-0', 'm-1']);
    expect(produced(s)).toEqual(['{"id":"b","n":1}']);
  });

  it('acknowledges a message whose object is gone without producing it again: an earlier delivery produced it', async () => {
    const big = JSON.stringify({ id: 'big', pad: 'y'.repeat(300_000) });
    const { s, event, messages } = await spooledBatch([big]);
    const { valueObject } = JSON.parse(messages[0]?.body ?? '{}');
    const objects = createS3Objects({ bucket: SPOOL_BUCKET, endpoint: s.s3.endpoint, region: 'us-east-1' });
    await objects.delete(valueObject.key);
    await objects.close();

    const answer = await s.backfill(event, lambdaContext());

    expect(answer.batchItemFailures).toEqual([]);
    expect(produced(s)).toEqual([]);
    expect(s.log.lines.some((line) => line.message.startsWith('spool message already produced'))).toBe(true);
  });

  it('refuses an object that is not the body that was spooled', async () => {
    const big = JSON.stringify({ id: 'big', pad: 'z'.repeat(300_000) });
    const { s, event, messages } = await spooledBatch([big]);
    const { valueObject } = JSON.parse(messages[0]?.body ?? '{}');
    const objects = createS3Objects({ bucket: SPOOL_BUCKET, endpoint: s.s3.endpoint, region: 'us-east-1' });
    await objects.put(valueObject.key, Buffer.from(big.replace('z', 'Z')));
    await objects.close();

    const answer = await s.backfill(event, lambdaContext());

    expect(answer.batchItemFailures).toEqual([]);
    expect(produced(s)).toEqual([]);
    expect(
      s.sqs.messages(SPOOL_DLQ).map((letter) => letter.attributes['spool.error.code']?.StringValue),
    ).toEqual(['ERR_PAYLOAD_INVALID']);
  });

  it('moves a message it cannot read to the spool DLQ, and produces the rest', async () => {
    const { s, event } = await spooledBatch(['{"id":"a"}']);
    const unreadable = sqsRecord('{"v":9}', { messageId: 'm-bad', groupId: 'k-other' });

    const answer = await s.backfill(sqsEvent([unreadable, ...event.Records]), lambdaContext());

    expect(answer.batchItemFailures).toEqual([]);
    expect(produced(s)).toEqual(['{"id":"a"}']);
    expect(s.sqs.messages(SPOOL_DLQ).map((letter) => letter.body)).toEqual(['{"v":9}']);
  });

  it('keeps a batch whose proxy is still down: every message comes back, in order', async () => {
    const { s, event } = await spooledBatch(['{"id":"a","n":1}', '{"id":"a","n":2}']);
    s.kafka.inject({ kind: 'status', status: 503, times: 10_000 });

    const answer = await s.backfill(event, lambdaContext());

    expect(answer.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m-0', 'm-1']);
    expect(produced(s)).toEqual([]);
    // The proxy being down may mend: nothing goes to the DLQ for it.
    expect(s.sqs.messages(SPOOL_DLQ)).toEqual([]);
  });
});
