import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { type AttributeValue, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../dev/dynamodb-fault-proxy.js';
import { ensureTable } from '../dev/dynamodb-table.js';
import { AppError, ERROR_CODES, isAppError, UpstreamError } from '../lib/core/errors.js';
import {
  type IdempotencyConfig,
  type IdempotencyStore,
  runIdempotent,
  toPayloadHash,
  withIdempotency,
} from '../lib/ingest/webhook/idempotency/index.js';
import { createIdempotencyStore, toIdempotencyPk } from '../lib/ingest/webhook/idempotency/store.js';
import { toAcceptedResponse, toErrorResponse } from '../lib/ingest/webhook/respond.js';
import { createLazyIdempotencyStore } from '../lib/wiring/idempotency-store.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from './helpers/dynalite.js';
import { type KafkaRestFixture, startKafkaRestWithClient } from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';

type Response = APIGatewayProxyStructuredResultV2;

const IN_PROGRESS_TTL_MS = 60_000;
const WINDOW_SECONDS = 3_600;
const START_MS = 1_700_000_000_000;
const CONFIG: IdempotencyConfig = { from: 'header', header: 'webhook-id', windowSeconds: WINDOW_SECONDS };
const PAYLOAD_HASH = toPayloadHash({ key: null, value: Buffer.from('{"n":1}') });
const DEADLINE_MS = 10_000;

/** A produce stand-in that counts its calls and answers like the webhook does (202 with an offset). */
const createCountingProduce = () => {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    produce: async (): Promise<Response> => {
      calls += 1;
      return toAcceptedResponse({ topic: 'orders', partition: 0, offset: 100 + calls });
    },
  };
};

/** A promise the test resolves when it chooses: no timers, so no timing in the assertions. */
const createGate = () => {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
};

const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

describe('webhook idempotency (dynalite)', () => {
  let dynamo: LocalDynamo;
  let clock: number;
  let store: IdempotencyStore;
  let log: ReturnType<typeof createMemoryLog>;
  let route: string;
  let n = 0;

  const deps = () => ({ idempotency: store, log, now: () => clock });
  /** One delivery of `key` with the payload `payloadHash` stands for, due within the deadline. */
  const delivery = (key: string, payloadHash = PAYLOAD_HASH) => ({
    route,
    key,
    payloadHash,
    windowSeconds: WINDOW_SECONDS,
    deadlineMs: clock + DEADLINE_MS,
  });
  const run = (key: string, produce: () => Promise<Response>, payloadHash = PAYLOAD_HASH) =>
    runIdempotent(deps(), { ...delivery(key, payloadHash), requestId: 'req' }, produce);
  const item = async (key: string): Promise<Record<string, AttributeValue> | undefined> =>
    (
      await dynamo.client.send(
        new GetItemCommand({
          TableName: dynamo.tableName,
          Key: { pk: { S: toIdempotencyPk(route, key) } },
          ConsistentRead: true,
        }),
      )
    ).Item;

  beforeAll(async () => {
    dynamo = await startDynalite('webhook-idempotency');
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(() => {
    clock = START_MS;
    log = createMemoryLog();
    store = createIdempotencyStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      now: () => clock,
      inProgressTtlMs: IN_PROGRESS_TTL_MS,
    });
    // A fresh route per test: the table is shared by the file.
    n += 1;
    route = `hook-${n}`;
  });

  it('produces the first delivery, stores its answer, and replays it to a repeat without producing', async () => {
    const counter = createCountingProduce();

    const first = await run('msg_1', counter.produce);
    clock += 10 * 60_000;
    const repeat = await run('msg_1', counter.produce);

    expect(counter.calls).toBe(1);
    expect(first).toMatchObject({ statusCode: 202, body: '{"topic":"orders","partition":0,"offset":101}' });
    expect(repeat).toEqual({
      statusCode: 202,
      headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' },
      body: first.body,
    });
    expect(await item('msg_1')).toMatchObject({
      state: { S: 'DONE' },
      statusCode: { N: '202' },
      body: { S: first.body },
      // Epoch seconds, from the completion time: what DynamoDB TTL reads.
      expiresAt: { N: String(START_MS / 1_000 + WINDOW_SECONDS) },
    });
    expect(log.lines.map((line) => line.message)).toEqual([
      'webhook delivery is a duplicate: replaying the first answer',
    ]);
    // The key can come from the payload: it is not logged.
    expect(log.text()).not.toContain('msg_1');
  });

  it('produces again once the window has passed, and keys are per route', async () => {
    const counter = createCountingProduce();
    await run('msg_2', counter.produce);

    clock += WINDOW_SECONDS * 1_000 - 1_000;
    const inWindow = await run('msg_2', counter.produce);
    const otherRoute = await runIdempotent(
      deps(),
      { ...delivery('msg_2'), route: `${route}-other`, requestId: 'r' },
      counter.produce,
    );
    clock += 1_000;
    const afterWindow = await run('msg_2', counter.produce);

    expect(inWindow.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    expect(otherRoute).toMatchObject({ statusCode: 202, body: expect.stringContaining('"offset":102') });
    expect(afterWindow).toMatchObject({ statusCode: 202, body: expect.stringContaining('"offset":103') });
    expect(afterWindow.headers).not.toHaveProperty('idempotent-replayed');
    expect(counter.calls).toBe(3);
  });

  it('keeps an id bound to its payload after a claim whose answer was never stored lapses', async () => {
    // Prepare: acknowledged, but its answer never stored (store outage after the produce), then the claim
    // lapses. The record is in Kafka under this id: another payload must not be acknowledged under it too.
    const counter = createCountingProduce();
    const claimed = await store.begin(delivery('msg_unstored'));
    clock += IN_PROGRESS_TTL_MS;
    const otherPayload = toPayloadHash({ key: null, value: Buffer.from('{"n":3}') });

    // Act
    const other = await run('msg_unstored', counter.produce, otherPayload).catch((error: unknown) => error);
    const same = await run('msg_unstored', counter.produce);
    clock += WINDOW_SECONDS * 1_000;
    const afterWindow = await run('msg_unstored', counter.produce, otherPayload);

    // Assess
    expect(claimed.state).toBe('new');
    expect(other).toMatchObject({ code: 'ERR_IDEMPOTENCY_MISMATCH' });
    expect(same.statusCode).toBe(202);
    expect(afterWindow.statusCode).toBe(202);
    expect(counter.calls).toBe(2);
  });

  it.each([
    { when: 'after the first completed', completeFirst: true },
    { when: 'while the first still runs', completeFirst: false },
  ])(
    'refuses a repeated id with another payload $when: ERR_IDEMPOTENCY_MISMATCH, logged, never produced',
    async ({ completeFirst }) => {
      // Prepare
      const counter = createCountingProduce();
      if (completeFirst) await run('msg_mismatch', counter.produce);
      else await store.begin(delivery('msg_mismatch'));
      const otherPayload = toPayloadHash({ key: null, value: Buffer.from('{"n":2}') });

      // Act
      const outcome = await run('msg_mismatch', counter.produce, otherPayload).catch(
        (error: unknown) => error,
      );

      // Assess
      expect(isAppError(outcome)).toBe(true);
      expect(outcome).toMatchObject({ code: 'ERR_IDEMPOTENCY_MISMATCH', retriable: false });
      expect(toErrorResponse(outcome, 'r')).toMatchObject({ statusCode: 422 });
      expect(counter.calls).toBe(completeFirst ? 1 : 0);
      expect(log.lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: 'webhook delivery reuses an idempotency id with a different payload: refused',
        }),
      );
      expect(log.text()).not.toContain('msg_mismatch');
      // The first answer stays the one replayed to its own payload.
      if (completeFirst) {
        expect((await run('msg_mismatch', counter.produce)).headers).toMatchObject({
          'idempotent-replayed': 'true',
        });
      }
    },
  );

  it('lets exactly one of concurrent deliveries produce; the others get 409 with Retry-After', async () => {
    const gate = createGate();
    const counter = createCountingProduce();
    const slowProduce = async () => {
      const response = await counter.produce();
      await gate.opened;
      return response;
    };

    // Whichever delivery wins the claim blocks on the gate, so the others all answer while it is still
    // producing; the gate opens once they have. Which one wins is up to the race.
    const answered: Response[] = [];
    const deliveries = Array.from({ length: 5 }, () =>
      run('msg_3', slowProduce).then((response) => {
        answered.push(response);
        if (answered.length === 4) gate.open();
        return response;
      }),
    );
    const answers = await Promise.all(deliveries);
    const whileWinnerProduced = answered.slice(0, 4);

    expect(counter.calls).toBe(1);
    expect(answers.filter((answer) => answer.statusCode === 202)).toHaveLength(1);
    expect(whileWinnerProduced.map((answer) => answer.statusCode)).toEqual([409, 409, 409, 409]);
    for (const other of whileWinnerProduced) {
      expect(other.headers).toMatchObject({ 'retry-after': '5' });
      expect(other.headers).toMatchObject({ 'content-type': 'application/problem+json' });
      expect(JSON.parse(other.body ?? '')).toEqual({
        type: 'about:blank',
        title: 'Conflict',
        status: 409,
        detail: 'a delivery with the same idempotency key is being processed; retry later',
        code: 'ERR_IDEMPOTENCY_IN_PROGRESS',
        requestId: 'req',
      });
    }
    expect((await run('msg_3', slowProduce)).headers).toMatchObject({ 'idempotent-replayed': 'true' });
  });

  it('lets the racing claims of one id elect exactly one winner', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => store.begin(delivery('msg_race'))));

    expect(results.filter((result) => result.state === 'new')).toHaveLength(1);
    expect(results.filter((result) => result.state === 'in-progress')).toHaveLength(7);
  });

  it('drops the claim when the produce fails, so the retry produces', async () => {
    const counter = createCountingProduce();
    const outage = new UpstreamError(ERROR_CODES.UPSTREAM_STATUS, 'proxy answered 503', { status: 503 });

    await expect(
      run('msg_4', async () => {
        throw outage;
      }),
    ).rejects.toBe(outage);
    const claimAfterFailure = await item('msg_4');
    const retry = await run('msg_4', counter.produce);

    expect(claimAfterFailure).toBeUndefined();
    expect(retry.statusCode).toBe(202);
    expect(counter.calls).toBe(1);
  });

  it('drops the claim and passes through an answer that is not a 202', async () => {
    const rejected: Response = toErrorResponse(
      new AppError(ERROR_CODES.RECORD_REJECTED, 'record rejected'),
      'r-1',
    );

    const answer = await run('msg_5', async () => rejected);
    const retry = await run('msg_5', createCountingProduce().produce);

    expect(answer).toBe(rejected);
    expect(retry.statusCode).toBe(202);
  });

  it('lets a redelivery produce after a crash, once the claim has expired (a duplicate, never a loss)', async () => {
    const crashed = await store.begin(delivery('msg_6'));
    const counter = createCountingProduce();

    clock += IN_PROGRESS_TTL_MS - 1_000;
    const whileClaimed = await run('msg_6', counter.produce);
    clock += 1_000;
    const afterExpiry = await run('msg_6', counter.produce);

    expect(crashed.state).toBe('new');
    expect(whileClaimed).toMatchObject({ statusCode: 409, headers: { 'retry-after': '1' } });
    expect(afterExpiry.statusCode).toBe(202);
    expect(counter.calls).toBe(1);
  });

  it('never lets a stale delivery drop a newer claim or a completed answer', async () => {
    const stale = await store.begin(delivery('msg_7'));
    clock += IN_PROGRESS_TTL_MS;
    const fresh = await store.begin(delivery('msg_7'));
    if (stale.state !== 'new' || fresh.state !== 'new') throw new Error('both claims should have been new');

    const staleAbandon = await store.abandon(delivery('msg_7'), stale.token);
    const whileFreshRuns = await store.begin(delivery('msg_7'));
    await store.complete(delivery('msg_7'), { statusCode: 202, body: '{"offset":7}' });
    const freshAbandonAfterDone = await store.abandon(delivery('msg_7'), fresh.token);

    expect(staleAbandon).toBe(false);
    expect(whileFreshRuns).toEqual({ state: 'in-progress', expiresAtMs: clock + IN_PROGRESS_TTL_MS });
    expect(freshAbandonAfterDone).toBe(false);
    expect(await store.begin(delivery('msg_7'))).toEqual({
      state: 'done',
      response: { statusCode: 202, body: '{"offset":7}' },
    });
  });

  it('answers 202 anyway when the answer cannot be stored, and warns', async () => {
    // Over the stored-body bound, so the real complete fails after a real produce.
    const big = toAcceptedResponse({ topic: 'orders', partition: 0, offset: 1 });
    const huge: Response = { ...big, body: JSON.stringify({ padding: 'x'.repeat(5_000) }) };

    const answer = await run('msg_8', async () => huge);

    expect(answer).toBe(huge);
    expect(log.lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        message:
          'idempotency answer not stored; a redelivery after the claim expires may duplicate the record',
        attributes: expect.objectContaining({
          error: expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' }),
        }),
      }),
    ]);
    expect((await item('msg_8'))?.state).toEqual({ S: 'IN_PROGRESS' });
  });

  it('produces exactly one record in the topic for three deliveries of one id (local Kafka REST server)', async () => {
    let kafka: KafkaRestFixture | undefined;
    try {
      kafka = await startKafkaRestWithClient({ server: { topics: { orders: 1 } } });
      const client = kafka.client;
      const webhookRoute = { name: route, idempotency: CONFIG };
      const deliver = (body: string) =>
        withIdempotency(
          deps(),
          {
            request: { route: webhookRoute, headers: { 'webhook-id': 'msg_9' }, body: Buffer.from(body) },
            record: { key: null, value: Buffer.from(body) },
            requestId: 'r',
            deadlineMs: clock + DEADLINE_MS,
          },
          async () => {
            const [result] = await client.produce('orders', [{ key: null, value: Buffer.from(body) }], {
              deadlineMs: Date.now() + 5_000,
            });
            if (result === undefined || !result.ok) throw new Error('produce failed');
            return toAcceptedResponse({ topic: 'orders', ...result });
          },
        );

      const answers = [await deliver('{"n":1}'), await deliver('{"n":1}'), await deliver('{"n":1}')];

      expect(kafka.server.records('orders', 0).map((record) => record.value?.toString())).toEqual([
        '{"n":1}',
      ]);
      expect(answers.map((answer) => answer.body)).toEqual([
        '{"topic":"orders","partition":0,"offset":0}',
        '{"topic":"orders","partition":0,"offset":0}',
        '{"topic":"orders","partition":0,"offset":0}',
      ]);
      expect(answers.map((answer) => answer.headers?.['idempotent-replayed'])).toEqual([
        undefined,
        'true',
        'true',
      ]);
    } finally {
      await kafka?.close();
    }
  });

  it('produces directly for a route without idempotency, and needs no store for it', async () => {
    const counter = createCountingProduce();
    const request = { route: { name: route }, headers: {}, body: Buffer.from('{}') };
    const noStore = { idempotency: undefined, log, now: () => clock };

    const input = { request, record: { value: request.body }, requestId: 'r', deadlineMs: DEADLINE_MS };
    await withIdempotency(noStore, input, counter.produce);
    await withIdempotency(noStore, input, counter.produce);

    expect(counter.calls).toBe(2);
  });

  it.each([
    {
      name: 'the key source is missing',
      headers: {},
      withStore: true,
      code: 'ERR_PAYLOAD_INVALID',
      message: 'the idempotency header webhook-id is missing or empty',
    },
    {
      name: 'no table is configured',
      headers: { 'webhook-id': 'msg_10' },
      withStore: false,
      code: 'ERR_CONFIG',
      message: expect.stringContaining('sets "idempotency" but no IDEMPOTENCY_TABLE is configured'),
    },
  ])('rejects, producing and storing nothing, when $name', async ({ headers, withStore, code, message }) => {
    const counter = createCountingProduce();
    const request = { route: { name: route, idempotency: CONFIG }, headers, body: Buffer.from('{}') };

    const outcome = withIdempotency(
      { idempotency: withStore ? store : undefined, log, now: () => clock },
      { request, record: { value: request.body }, requestId: 'r', deadlineMs: clock + DEADLINE_MS },
      counter.produce,
    );

    await expect(outcome).rejects.toMatchObject({ code, message });
    expect(counter.calls).toBe(0);
    expect(await item('msg_10')).toBeUndefined();
  });

  it('creates the table once and can use it (ensureTable is idempotent)', async () => {
    await ensureTable(dynamo.client, 'created-here');
    await ensureTable(dynamo.client, 'created-here');
    const own = createIdempotencyStore({
      client: dynamo.client,
      tableName: 'created-here',
      now: () => clock,
      inProgressTtlMs: IN_PROGRESS_TTL_MS,
    });

    expect((await own.begin(delivery('msg_11'))).state).toBe('new');
    expect((await own.begin(delivery('msg_11'))).state).toBe('in-progress');
  });

  it('works through the lazily loaded store against the same table', async () => {
    const lazy = createLazyIdempotencyStore({
      tableName: dynamo.tableName,
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      now: () => clock,
      inProgressTtlMs: IN_PROGRESS_TTL_MS,
    });
    try {
      const counter = createCountingProduce();
      const lazyDeps = { idempotency: lazy, log, now: () => clock };
      const request = { ...delivery('msg_12'), requestId: 'r' };

      await runIdempotent(lazyDeps, request, counter.produce);
      const repeat = await runIdempotent(lazyDeps, request, counter.produce);

      expect(counter.calls).toBe(1);
      expect(repeat.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    } finally {
      lazy.destroy();
    }
  });
});

describe('webhook idempotency with DynamoDB down', () => {
  let lazy: ReturnType<typeof createLazyIdempotencyStore>;

  afterEach(() => {
    lazy.destroy();
  });

  it('fails the claim with a retriable error (503 + Retry-After) and produces nothing', async () => {
    lazy = createLazyIdempotencyStore({
      tableName: 'webhook-idempotency',
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      now: Date.now,
      inProgressTtlMs: IN_PROGRESS_TTL_MS,
      maxAttempts: 1,
    });
    const counter = createCountingProduce();
    let thrown: unknown;

    try {
      await runIdempotent(
        { idempotency: lazy, log: createMemoryLog(), now: Date.now },
        {
          route: 'stripe',
          key: 's:evt_1',
          payloadHash: PAYLOAD_HASH,
          deadlineMs: Date.now() + DEADLINE_MS,
          windowSeconds: WINDOW_SECONDS,
          requestId: 'r-down',
        },
        counter.produce,
      );
    } catch (error) {
      thrown = error;
    }

    expect(counter.calls).toBe(0);
    expect(isAppError(thrown)).toBe(true);
    expect(thrown).toMatchObject({
      code: 'ERR_UPSTREAM_NETWORK',
      retriable: true,
      message: expect.stringMatching(/^idempotency table begin failed: /),
    });
    expect((thrown as Error).message).not.toContain('evt_1');
    expect(toErrorResponse(thrown, 'r-down')).toMatchObject({
      statusCode: 503,
      headers: { 'retry-after': '5' },
    });
  });
});

describe('webhook idempotency through the DynamoDB fault proxy', () => {
  let dynamo: LocalDynamo;
  let faults: DynamoFaultProxy;
  let client: DynamoDBClient;
  let store: IdempotencyStore;
  let log: ReturnType<typeof createMemoryLog>;
  let n = 0;
  let route: string;

  beforeAll(async () => {
    dynamo = await startDynalite('webhook-idempotency-faults');
    faults = await startDynamoFaultProxy(dynamo.endpoint);
    // The SDK's own retry is what meets our own write after a lost answer.
    client = new DynamoDBClient({
      endpoint: faults.endpoint,
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      maxAttempts: 3,
    });
    store = createIdempotencyStore({
      client,
      tableName: dynamo.tableName,
      now: Date.now,
      inProgressTtlMs: IN_PROGRESS_TTL_MS,
    });
  });
  afterAll(async () => {
    client.destroy();
    await faults.close();
    await dynamo.close();
  });
  beforeEach(() => {
    faults.clear();
    log = createMemoryLog();
    n += 1;
    route = `faulty-${n}`;
  });

  const run = (key: string, produce: () => Promise<Response>, deadlineMs = Date.now() + DEADLINE_MS) =>
    runIdempotent(
      { idempotency: store, log, now: Date.now },
      { route, key, payloadHash: PAYLOAD_HASH, windowSeconds: WINDOW_SECONDS, requestId: 'r', deadlineMs },
      produce,
    );

  it('keeps its own claim when the put applied but its answer was lost: 202, not 409', async () => {
    // Prepare
    const counter = createCountingProduce();
    faults.inject({ kind: 'lose-answer', operation: 'PutItem' });

    // Act
    const answer = await run('msg_lost_claim', counter.produce);

    // Assess
    expect(faults.stats().faults['lose-answer']).toBe(1);
    expect(answer.statusCode).toBe(202);
    expect(counter.calls).toBe(1);
    expect((await run('msg_lost_claim', counter.produce)).headers).toMatchObject({
      'idempotent-replayed': 'true',
    });
  });

  it('stores the answer when the completing put applied but its answer was lost', async () => {
    // Prepare: the claim goes through; the fault is armed for the completion only.
    const counter = createCountingProduce();
    const produce = async () => {
      faults.inject({ kind: 'lose-answer', operation: 'PutItem' });
      return counter.produce();
    };

    // Act
    const answer = await run('msg_lost_done', produce);
    const repeat = await run('msg_lost_done', produce);

    // Assess
    expect(faults.stats().faults['lose-answer']).toBeGreaterThanOrEqual(1);
    expect(answer.statusCode).toBe(202);
    expect(log.lines.filter((line) => line.level === 'warn')).toEqual([]);
    expect(repeat).toMatchObject({ body: answer.body, headers: { 'idempotent-replayed': 'true' } });
    expect(counter.calls).toBe(1);
  });

  it('drops its own claim when the delete applied but its answer was lost, so a retry produces', async () => {
    // Prepare
    const counter = createCountingProduce();
    const failing = async (): Promise<Response> => {
      faults.inject({ kind: 'lose-answer', operation: 'DeleteItem' });
      throw new UpstreamError(ERROR_CODES.UPSTREAM_STATUS, 'proxy answered 503', { status: 503 });
    };

    // Act
    await expect(run('msg_lost_abandon', failing)).rejects.toMatchObject({ code: 'ERR_UPSTREAM_STATUS' });
    const retry = await run('msg_lost_abandon', counter.produce);

    // Assess
    expect(retry.statusCode).toBe(202);
    expect(counter.calls).toBe(1);
  });

  it.each(['PutItem', 'GetItem'])(
    'ends a claim whose %s hangs by the request deadline: ERR_DEADLINE (503), nothing produced',
    async (operation) => {
      // Prepare: a GetItem only follows a claim whose condition failed.
      const counter = createCountingProduce();
      if (operation === 'GetItem') {
        await store.begin({
          route,
          key: 'msg_slow',
          payloadHash: PAYLOAD_HASH,
          windowSeconds: WINDOW_SECONDS,
          deadlineMs: Date.now() + DEADLINE_MS,
        });
      }
      faults.inject({ kind: 'delay', operation, ms: 3_000 });
      const startedAt = Date.now();

      // Act
      const outcome = await run('msg_slow', counter.produce, startedAt + 300).catch(
        (error: unknown) => error,
      );

      // Assess
      const tookMs = Date.now() - startedAt;
      expect(outcome).toMatchObject({ code: 'ERR_DEADLINE', retriable: true });
      expect(toErrorResponse(outcome, 'r')).toMatchObject({ statusCode: 503 });
      expect(tookMs).toBeGreaterThanOrEqual(290);
      expect(tookMs).toBeLessThan(800);
      expect(counter.calls).toBe(0);
    },
  );

  it('answers the 202 by the deadline when storing the answer hangs, and warns', async () => {
    // Prepare
    const counter = createCountingProduce();
    const startedAt = Date.now();
    const produce = async () => {
      faults.inject({ kind: 'delay', operation: 'PutItem', ms: 3_000 });
      return counter.produce();
    };

    // Act
    // A deadline the claim's real write still meets on a loaded machine, well before the hang ends.
    const answer = await run('msg_slow_done', produce, startedAt + 1_500);

    // Assess
    expect(answer.statusCode).toBe(202);
    expect(Date.now() - startedAt).toBeLessThan(2_500);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        attributes: expect.objectContaining({ error: expect.objectContaining({ code: 'ERR_DEADLINE' }) }),
      }),
    );
  });
});
