import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DynamoFaultProxy } from '../dev/dynamodb-fault-proxy.js';
import { isAppError } from '../lib/core/errors.js';
import type { Lease, PartitionKey } from '../lib/drain/checkpoint.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { type FaultyDynamo, type LocalDynamo, startDynalite, startFaultyDynamo } from './helpers/dynalite.js';

const LEASE_MS = 30_000;

/**
 * The checkpoint store behind the DynamoDB fault proxy (dev/dynamodb-fault-proxy.ts) in front of dynalite:
 * writes applied with their answer lost, so the SDK's retry meets our own write, and answers that come
 * too late. The SDK client is the one a drain uses (3 attempts), pointed at the proxy.
 */
describe('checkpoint store through DynamoDB faults', () => {
  let dynamo: LocalDynamo;
  let proxy: DynamoFaultProxy;
  let client: DynamoDBClient;
  let faulty: FaultyDynamo;
  let clock: number;
  let store: CheckpointStore;
  let key: PartitionKey;
  let n = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    faulty = await startFaultyDynamo(dynamo);
    ({ proxy, client } = faulty);
    clock = 1_700_000_000_000;
    store = createCheckpointStore({
      client,
      tableName: dynamo.tableName,
      leaseMs: LEASE_MS,
      now: () => clock,
    });
    n += 1;
    key = { drainId: `faults-${n}`, topic: 'orders', partition: 0 };
  });
  afterEach(async () => {
    await faulty.close();
  });

  const inTime = () => ({ deadlineMs: clock + 10_000 });
  /** 150 ms from now, on the store's clock. */
  const late = () => ({ deadlineMs: clock + 150 });

  const held = async (): Promise<Lease> => {
    const acquired = await store.acquire(key, 'run-a', inTime());
    if (!acquired.acquired) throw new Error('expected the lease');
    return acquired.lease;
  };

  const outcomeOf = async (promise: Promise<unknown>): Promise<unknown> =>
    promise.then(
      (value) => value,
      (error: unknown) => (isAppError(error) ? error.code : String(error)),
    );

  it('takes a lease whose acquire was applied with its answer lost, instead of seeing itself busy', async () => {
    // Prepare
    proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem' });

    // Act
    const acquired = await store.acquire(key, 'run-a', inTime());

    // Assess
    expect(proxy.stats().faults['lose-answer']).toBe(1);
    expect(acquired).toMatchObject({
      acquired: true,
      lease: { owner: 'run-a', version: 1, expiresAtMs: clock + LEASE_MS },
    });
    expect((await store.get(key))?.lease?.owner).toBe('run-a');
  });

  it('keeps the lease of a commit applied with its answer lost, and commits on with it', async () => {
    // Prepare
    const lease = await held();
    proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem' });

    // Act
    const committed = await outcomeOf(store.commit(lease, { nextOffset: 42 }, inTime()));
    const next = await outcomeOf(store.commit(committed as Lease, { nextOffset: 50 }, inTime()));

    // Assess
    expect(committed).toEqual({ ...lease, version: lease.version + 1, expiresAtMs: clock + LEASE_MS });
    expect(next).toMatchObject({ version: lease.version + 2 });
    expect(await store.get(key)).toMatchObject({ nextOffset: 50, lease: { owner: 'run-a' } });
  });

  it('keeps the lease of a renew applied with its answer lost', async () => {
    // Prepare
    const lease = await held();
    clock += 20_000;
    proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem' });

    // Act
    const renewed = await outcomeOf(store.renew(lease, inTime()));

    // Assess
    expect(renewed).toEqual({ ...lease, version: lease.version + 1, expiresAtMs: clock + LEASE_MS });
  });

  it('reports a release applied with its answer lost as released', async () => {
    // Prepare
    const lease = await held();
    proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem' });

    // Act
    const released = await store.release(lease, inTime());

    // Assess
    expect(released).toBe(true);
    expect((await store.get(key))?.lease).toBeUndefined();
  });

  it('finds its own commit when no attempt got an answer at all (every retry cut too)', async () => {
    // Prepare: the first attempt is applied; the retries' answers (condition failures) are lost as well.
    const lease = await held();
    proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem', times: 3 });

    // Act
    const committed = await outcomeOf(store.commit(lease, { nextOffset: 7 }, inTime()));

    // Assess
    expect(proxy.stats().faults['lose-answer']).toBe(3);
    expect(committed).toMatchObject({ version: lease.version + 1 });
    expect((await store.get(key))?.nextOffset).toBe(7);
  });

  it('still loses the lease when the write that beat ours was an operator’s, answer lost or not', async () => {
    // Prepare: the operator moves the offset while we hold the lease (owner kept, version + 1).
    const lease = await held();
    await store.setOffset(key, 100);
    proxy.inject({ kind: 'lose-answer', operation: 'UpdateItem' });

    // Act
    const committed = await outcomeOf(store.commit(lease, { nextOffset: 5 }, inTime()));

    // Assess: owner and version look like ours would, but the write is not ours.
    expect(committed).toBe('ERR_LEASE_LOST');
    expect((await store.get(key))?.nextOffset).toBe(100);
  });

  it.each([
    {
      name: 'commit',
      operation: 'UpdateItem',
      call: (lease: Lease) => store.commit(lease, { nextOffset: 1 }, late()),
    },
    { name: 'renew', operation: 'UpdateItem', call: (lease: Lease) => store.renew(lease, late()) },
    { name: 'get', operation: 'GetItem', call: () => store.get(key, late()) },
  ])(
    'ends a $name whose answer is delayed, at its deadline, with ERR_DEADLINE',
    async ({ operation, call }) => {
      // Prepare
      const lease = await held();
      proxy.inject({ kind: 'delay', operation, ms: 3_000 });
      const startedAt = performance.now();

      // Act
      const outcome = await outcomeOf(call(lease));

      // Assess
      const elapsedMs = performance.now() - startedAt;
      expect(outcome).toBe('ERR_DEADLINE');
      expect(elapsedMs).toBeGreaterThanOrEqual(140);
      expect(elapsedMs).toBeLessThan(1_000);
    },
  );

  it('does not call DynamoDB at all once the deadline has passed', async () => {
    // Prepare
    const lease = await held();
    const before = proxy.stats().requests.UpdateItem ?? 0;

    // Act
    const outcome = await outcomeOf(store.commit(lease, { nextOffset: 3 }, { deadlineMs: clock }));

    // Assess
    expect(outcome).toBe('ERR_DEADLINE');
    expect(proxy.stats().requests.UpdateItem ?? 0).toBe(before);
  });
});
