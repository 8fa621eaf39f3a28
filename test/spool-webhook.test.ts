import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { httpApiEvent, lambdaContext } from './fixtures/api-gateway.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { checkedAgainstOpenApi } from './helpers/openapi.js';
import { waitUntil } from './helpers/poll.js';
import { SPOOL_BUCKET, SPOOL_KEYS, SPOOL_QUEUE, type SpoolStack, startSpoolStack } from './helpers/spool.js';

const UNSIGNED = { scheme: 'none' };
const ROUTES = {
  orders: { topic: 'orders', verify: UNSIGNED, key: { jsonPointer: '/id' }, onUpstreamFailure: 'spool' },
  loose: { topic: 'orders', verify: UNSIGNED, onUpstreamFailure: 'spool' },
  strict: { topic: 'orders', verify: UNSIGNED, key: { jsonPointer: '/id' } },
  deduped: {
    topic: 'orders',
    verify: UNSIGNED,
    key: { jsonPointer: '/id' },
    onUpstreamFailure: 'spool',
    idempotency: { from: 'header', header: 'webhook-id' },
  },
};

const dynamo = dynaliteForFile();
let stack: SpoolStack | undefined;

const start = async (env: Record<string, string> = {}, spoolQueue?: string): Promise<SpoolStack> => {
  stack = await startSpoolStack(
    dynamo(),
    {
      WEBHOOK_ROUTES: JSON.stringify(ROUTES),
      IDEMPOTENCY_TABLE: dynamo().tableName,
      SPOOL_PRODUCE_BUDGET_MS: '300',
      ...env,
    },
    spoolQueue === undefined ? {} : { spoolQueue },
  );
  return stack;
};

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** The proxy refuses every produce with a 503 until the faults are cleared. */
const proxyDown = (s: SpoolStack) => s.kafka.inject({ kind: 'status', status: 503, times: 10_000 });

const post = async (s: SpoolStack, route: string, body: string, headers: Record<string, string> = {}) => {
  const response = await checkedAgainstOpenApi(s.webhook)(
    httpApiEvent(`/hooks/${route}`, body, { headers }),
    lambdaContext(),
  );
  return { ...response, json: JSON.parse(response.body ?? '{}') as Record<string, unknown> };
};

const records = (s: SpoolStack) => [0, 1, 2, 3].flatMap((partition) => s.kafka.records('orders', partition));

const markers = async (): Promise<number> =>
  (await dynamo().client.send(new ScanCommand({ TableName: SPOOL_KEYS }))).Items?.length ?? 0;

describe('a spooling webhook route', () => {
  it('produces straight to Kafka while the proxy answers, and spools nothing', async () => {
    const s = await start();

    const response = await post(s, 'orders', '{"id":"a-1"}');

    expect(response.statusCode).toBe(202);
    expect(response.json).toEqual({ topic: 'orders', partition: expect.any(Number), offset: 0 });
    expect(response.headers?.spooled).toBeUndefined();
    expect(s.sqs.messages(SPOOL_QUEUE)).toEqual([]);
  });

  it('spools a record the proxy cannot take, answers 202 with a receipt, and backfills it byte for byte', async () => {
    const s = await start();
    proxyDown(s);
    const body = '{"id":"a-1","amount":12}';

    const response = await post(s, 'orders', body);

    expect(response.statusCode).toBe(202);
    expect(response.headers?.spooled).toBe('true');
    expect(response.json).toEqual({
      status: 'spooled',
      receipt: expect.stringMatching(/^spl_/),
      topic: 'orders',
    });
    const [message, ...others] = s.sqs.messages(SPOOL_QUEUE);
    expect(others).toEqual([]);
    expect(message?.deduplicationId).toBe(response.json.receipt);
    expect(message?.groupId).toMatch(/^k-/);
    expect(await markers()).toBe(1);
    expect(records(s)).toEqual([]);

    s.kafka.clearFaults();
    s.eventSource().start();
    await waitUntil(() => records(s).length === 1 && s.sqs.messages(SPOOL_QUEUE).length === 0);

    const [record] = records(s);
    expect(record?.value?.toString()).toBe(body);
    expect(record?.key?.toString()).toBe('a-1');
    expect(await markers()).toBe(0);
  });

  it('keeps a key in order across the outage: its next request is spooled behind, other keys go straight to Kafka', async () => {
    const s = await start();
    proxyDown(s);
    expect((await post(s, 'orders', '{"id":"k","n":1}')).headers?.spooled).toBe('true');
    s.kafka.clearFaults();

    // The proxy answers again, but "k" still has a record in the spool.
    const behind = await post(s, 'orders', '{"id":"k","n":2}');
    const other = await post(s, 'orders', '{"id":"other","n":1}');

    expect(behind.headers?.spooled).toBe('true');
    expect(other.json.offset).toEqual(expect.any(Number));
    s.eventSource().start();
    await waitUntil(() => s.sqs.messages(SPOOL_QUEUE).length === 0 && records(s).length === 3);
    // Once the spool has produced k's records, k goes straight to Kafka again, after them.
    const after = await post(s, 'orders', '{"id":"k","n":3}');
    expect(after.headers?.spooled).toBeUndefined();
    const ofK = records(s)
      .filter((record) => record.key?.toString() === 'k')
      .sort((a, b) => a.offset - b.offset)
      .map((record) => JSON.parse(record.value?.toString() ?? '{}').n);
    expect(ofK).toEqual([1, 2, 3]);
  });

  it('spools key-less records without an order marker, over several groups', async () => {
    const s = await start();
    proxyDown(s);

    for (let n = 0; n < 12; n += 1) expect((await post(s, 'loose', `{"n":${n}}`)).statusCode).toBe(202);

    expect(await markers()).toBe(0);
    const groups = new Set(s.sqs.messages(SPOOL_QUEUE).map((message) => message.groupId));
    expect(groups.size).toBeGreaterThan(1);
    expect([...groups].every((group) => group?.startsWith('u-'))).toBe(true);
  });

  it('keeps a body too large for one message in the bucket, backfills it exactly and deletes the object', async () => {
    const s = await start();
    proxyDown(s);
    const body = JSON.stringify({ id: 'big', pad: 'x'.repeat(400_000) });

    const response = await post(s, 'orders', body);

    expect(response.headers?.spooled).toBe('true');
    const key = `spool/orders/${response.json.receipt}`;
    expect(s.s3.object(SPOOL_BUCKET, key)?.body.toString()).toBe(body);
    const message = JSON.parse(s.sqs.messages(SPOOL_QUEUE)[0]?.body ?? '{}');
    expect(message.valueObject).toEqual({ key, bytes: body.length, sha256: expect.any(String) });
    expect(message.value).toBeUndefined();

    s.kafka.clearFaults();
    s.eventSource().start();
    await waitUntil(() => records(s).length === 1 && s.s3.object(SPOOL_BUCKET, key) === undefined);
    expect(records(s)[0]?.value?.toString()).toBe(body);
  });

  it('answers 503 for a body too large for one message when no bucket is set: nothing is kept', async () => {
    const s = await start({ SPOOL_BUCKET: '' });
    proxyDown(s);

    const response = await post(s, 'orders', JSON.stringify({ id: 'big', pad: 'x'.repeat(400_000) }));

    expect(response.statusCode).toBe(503);
    expect(response.json.code).toBe('ERR_SPOOL_FAILED');
    expect(response.headers?.['retry-after']).toMatch(/^\d+$/);
    expect(s.sqs.messages(SPOOL_QUEUE)).toEqual([]);
    expect(await markers()).toBe(0);
  });

  it('answers 503, never 202, when SQS refuses the spool message too, and releases the order marker', async () => {
    // A queue the local SQS does not have: the send is refused (QueueDoesNotExist).
    const s = await start({}, 'missing.fifo');
    proxyDown(s);

    const response = await post(s, 'orders', '{"id":"a-1"}');

    expect(response.statusCode).toBe(503);
    expect(response.json.code).toBe('ERR_SPOOL_FAILED');
    expect(await markers()).toBe(0);
  });

  it('answers 503 when SQS cannot be reached, and keeps the marker: the message may be in the queue', async () => {
    const s = await start({ SQS_ENDPOINT: 'http://127.0.0.1:9' });
    proxyDown(s);

    const response = await post(s, 'orders', '{"id":"a-1"}');

    expect(response.statusCode).toBe(503);
    expect(response.json.code).toBe('ERR_SPOOL_FAILED');
    // Its key stays held: should the send have arrived, a later request of the key waits behind it.
    expect(await markers()).toBe(1);
  });

  it('answers a caller mistake with its 4xx and spools nothing', async () => {
    const s = await start();
    proxyDown(s);

    const response = await post(s, 'orders', 'not json');

    expect(response.statusCode).toBe(400);
    expect(s.sqs.messages(SPOOL_QUEUE)).toEqual([]);
  });

  it('gives a repeated delivery of an idempotent route the same receipt, spooled once', async () => {
    const s = await start();
    proxyDown(s);

    const first = await post(s, 'deduped', '{"id":"d-1"}', { 'webhook-id': 'msg_1' });
    const second = await post(s, 'deduped', '{"id":"d-1"}', { 'webhook-id': 'msg_1' });

    expect(first.json.receipt).toEqual(expect.stringMatching(/^spl_/));
    expect(second.json).toEqual(first.json);
    expect(second.headers?.['idempotent-replayed']).toBe('true');
    expect(s.sqs.messages(SPOOL_QUEUE)).toHaveLength(1);
  });
});

describe('the upstream breaker', () => {
  const BREAKER = {
    UPSTREAM_BREAKER_MIN_ATTEMPTS: '2',
    UPSTREAM_BREAKER_FAILURE_PERCENT: '50',
    UPSTREAM_BREAKER_OPEN_MS: '60000',
  };
  const produceRequests = (s: SpoolStack) =>
    s.kafka.requests.filter((request) => request.method === 'POST' && request.path.startsWith('/topics/'))
      .length;

  it('once open, spools at once on spooling routes and answers 503 at once on the others, without trying the proxy', async () => {
    const s = await start(BREAKER);
    proxyDown(s);
    await post(s, 'orders', '{"id":"a"}');
    await post(s, 'orders', '{"id":"b"}');
    const triedBefore = produceRequests(s);

    const spooled = await post(s, 'orders', '{"id":"c"}');
    const rejected = await post(s, 'strict', '{"id":"c"}');

    expect(spooled.headers?.spooled).toBe('true');
    expect(rejected.statusCode).toBe(503);
    expect(Number(rejected.headers?.['retry-after'])).toBeGreaterThan(1);
    expect(produceRequests(s)).toBe(triedBefore);
    expect(s.webhookDeps.breaker?.state()).toBe('open');
    expect(
      s.log.lines.some(
        (line) => line.message === 'webhook record spooled' && line.attributes.reason === 'breaker-open',
      ),
    ).toBe(true);
  });

  it('does not open for records refused for good, which say nothing about the proxy', async () => {
    const s = await start(BREAKER);
    s.kafka.inject({ kind: 'record-errors', errors: { 0: { code: 50002, message: 'too large' } }, times: 4 });

    for (let n = 0; n < 4; n += 1) expect((await post(s, 'strict', `{"id":"r${n}"}`)).statusCode).toBe(422);

    expect(s.webhookDeps.breaker?.state()).toBe('closed');
  });
});
