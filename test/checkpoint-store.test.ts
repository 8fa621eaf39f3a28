import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../lib/core/errors.js';
import type { PartitionKey } from '../lib/drain/checkpoint.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from './helpers/dynalite.js';

const LEASE_MS = 30_000;

describe('checkpoint store (dynalite)', () => {
  let dynamo: LocalDynamo;
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
  beforeEach(() => {
    clock = 1_700_000_000_000;
    store = createCheckpointStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      leaseMs: LEASE_MS,
      now: () => clock,
    });
    // A fresh partition per test: the table is shared by the file.
    n += 1;
    key = { drainId: `d${n}`, topic: 'orders', partition: 0 };
  });

  const codeOf = async (promise: Promise<unknown>): Promise<string> => {
    try {
      await promise;
      return 'resolved';
    } catch (error) {
      return isAppError(error) ? error.code : String(error);
    }
  };

  it('acquires a new partition with no offset yet, and a second owner sees it busy', async () => {
    const first = await store.acquire(key, 'run-a');
    const second = await store.acquire(key, 'run-b');

    expect(first).toMatchObject({
      acquired: true,
      lease: { owner: 'run-a', version: 1, expiresAtMs: clock + LEASE_MS },
      checkpoint: { ...key, nextOffset: undefined, paused: false, lastError: undefined },
    });
    expect(second).toEqual({ acquired: false, holder: { owner: 'run-a', expiresAtMs: clock + LEASE_MS } });
  });

  it('lets exactly one of many racing owners win', async () => {
    const results = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((owner) => store.acquire(key, `run-${owner}`)),
    );

    const winners = results.filter((result) => result.acquired);
    expect(winners).toHaveLength(1);
    expect((await store.get(key))?.lease?.owner).toBe(winners[0]?.acquired ? winners[0].lease.owner : '');
  });

  it('commits an offset, renews the lease and bumps the version', async () => {
    const acquired = await store.acquire(key, 'run-a');
    if (!acquired.acquired) throw new Error('expected the lease');
    clock += 1_000;

    const lease = await store.commit(acquired.lease, { nextOffset: 42 });

    expect(lease).toEqual({ key, owner: 'run-a', version: 2, expiresAtMs: clock + LEASE_MS });
    expect(await store.get(key)).toMatchObject({
      nextOffset: 42,
      version: 2,
      lease: { owner: 'run-a', expiresAtMs: clock + LEASE_MS },
      committedAtMs: clock,
    });
  });

  it('records a last error and skipped records, and a later clean commit clears the error', async () => {
    const acquired = await store.acquire(key, 'run-a');
    if (!acquired.acquired) throw new Error('expected the lease');

    const stopped = await store.commit(acquired.lease, {
      nextOffset: 7,
      skippedRecords: 5,
      lastError: { code: 'ERR_SINK_REJECTED', message: 'rejected for good', offset: 7 },
    });
    const afterError = await store.get(key);
    await store.commit(stopped, { nextOffset: 8, skippedRecords: 2 });

    expect(afterError).toMatchObject({
      nextOffset: 7,
      skippedRecords: 5,
      lastError: { code: 'ERR_SINK_REJECTED', message: 'rejected for good', offset: 7, atMs: clock },
    });
    expect(await store.get(key)).toMatchObject({ nextOffset: 8, skippedRecords: 7, lastError: undefined });
  });

  it('keeps the topic epoch (0 until set) across commits that do not name one', async () => {
    const acquired = await store.acquire(key, 'run-a');
    if (!acquired.acquired) throw new Error('expected the lease');

    const recreated = await store.commit(acquired.lease, { nextOffset: 0, epoch: 1 });
    const afterEpoch = await store.get(key);
    await store.commit(recreated, { nextOffset: 3 });

    expect(acquired.checkpoint.epoch).toBe(0);
    expect(afterEpoch).toMatchObject({ nextOffset: 0, epoch: 1 });
    expect(await store.get(key)).toMatchObject({ nextOffset: 3, epoch: 1 });
  });

  it('lets another owner take an expired lease; the old owner can then neither commit nor release', async () => {
    const a = await store.acquire(key, 'run-a');
    if (!a.acquired) throw new Error('expected the lease');
    const aLease = await store.commit(a.lease, { nextOffset: 10 });

    clock += LEASE_MS - 1;
    const tooEarly = await store.acquire(key, 'run-b');
    clock += 1;
    const b = await store.acquire(key, 'run-b');

    expect(tooEarly.acquired).toBe(false);
    expect(b).toMatchObject({ acquired: true, checkpoint: { nextOffset: 10, lease: { owner: 'run-b' } } });
    expect(await codeOf(store.commit(aLease, { nextOffset: 11 }))).toBe('ERR_LEASE_LOST');
    expect(await codeOf(store.renew(aLease))).toBe('ERR_LEASE_LOST');
    expect(await store.release(aLease)).toBe(false);
    expect(await store.get(key)).toMatchObject({ nextOffset: 10, lease: { owner: 'run-b' } });
  });

  it('rejects a commit made with a stale lease object (version moved on by our own commit)', async () => {
    const a = await store.acquire(key, 'run-a');
    if (!a.acquired) throw new Error('expected the lease');
    await store.commit(a.lease, { nextOffset: 3 });

    expect(await codeOf(store.commit(a.lease, { nextOffset: 4 }))).toBe('ERR_LEASE_LOST');
    expect((await store.get(key))?.nextOffset).toBe(3);
  });

  it('renews without moving the offset', async () => {
    const a = await store.acquire(key, 'run-a');
    if (!a.acquired) throw new Error('expected the lease');
    const committed = await store.commit(a.lease, { nextOffset: 5 });
    clock += 20_000;

    const renewed = await store.renew(committed);

    expect(renewed).toMatchObject({ version: committed.version + 1, expiresAtMs: clock + LEASE_MS });
    expect(await store.get(key)).toMatchObject({ nextOffset: 5, lease: { expiresAtMs: clock + LEASE_MS } });
  });

  it('releases: the next owner acquires at once and keeps the offset', async () => {
    const a = await store.acquire(key, 'run-a');
    if (!a.acquired) throw new Error('expected the lease');
    const lease = await store.commit(a.lease, { nextOffset: 9 });

    const released = await store.release(lease);
    const b = await store.acquire(key, 'run-b');

    expect(released).toBe(true);
    expect(b).toMatchObject({ acquired: true, checkpoint: { nextOffset: 9, lease: { owner: 'run-b' } } });
  });

  it('releases by owner alone (an acquire whose answer never came), and never another owner’s lease', async () => {
    await store.acquire(key, 'run-a');

    const other = await store.releaseOwned(key, 'run-b');
    const own = await store.releaseOwned(key, 'run-a');
    const again = await store.releaseOwned(key, 'run-a');

    expect([other, own, again]).toEqual([false, true, false]);
    expect((await store.acquire(key, 'run-c')).acquired).toBe(true);
  });

  it('operator set-offset makes the current holder fail its next commit, and clears the last error', async () => {
    const a = await store.acquire(key, 'run-a');
    if (!a.acquired) throw new Error('expected the lease');
    await store.commit(a.lease, {
      nextOffset: 20,
      lastError: { code: 'ERR_SINK_REJECTED', message: 'poison', offset: 20 },
    });
    const held = (await store.get(key))?.version ?? 0;

    const set = await store.setOffset(key, 21);

    expect(set).toMatchObject({ nextOffset: 21, lastError: undefined, version: held + 1 });
    const stale = { ...a.lease, version: held };
    expect(await codeOf(store.commit(stale, { nextOffset: 30 }))).toBe('ERR_LEASE_LOST');
    expect((await store.get(key))?.nextOffset).toBe(21);
  });

  it('operator set-offset creates the item for a partition never drained', async () => {
    const set = await store.setOffset(key, 100);

    expect(set).toMatchObject({ ...key, nextOffset: 100, version: 1, lease: undefined, paused: false });
  });

  it('pauses and resumes', async () => {
    const paused = await store.setPaused(key, true);
    const resumed = await store.setPaused(key, false);

    expect(paused).toMatchObject({ paused: true, version: 1 });
    expect(resumed).toMatchObject({ paused: false, version: 2 });
  });

  it('lists checkpoints sorted, optionally of one drain', async () => {
    const drainId = `list-${n}`;
    await store.setOffset({ drainId, topic: 'b', partition: 1 }, 1);
    await store.setOffset({ drainId, topic: 'a', partition: 2 }, 2);
    await store.setOffset({ drainId, topic: 'a', partition: 0 }, 3);
    await store.setOffset({ drainId: `${drainId}-other`, topic: 'a', partition: 0 }, 4);

    const listed = await store.list({ drainId });
    const all = await store.list();

    expect(listed.map((c) => [c.topic, c.partition, c.nextOffset])).toEqual([
      ['a', 0, 3],
      ['a', 2, 2],
      ['b', 1, 1],
    ]);
    expect(all.filter((c) => c.drainId.startsWith(drainId))).toHaveLength(4);
  });

  it('turns an unreachable table into ERR_UPSTREAM_NETWORK', async () => {
    const client = new DynamoDBClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
    });
    const broken = createCheckpointStore({ client, tableName: 't', leaseMs: 1, now: () => clock });

    expect(await codeOf(broken.acquire(key, 'run-a'))).toBe('ERR_UPSTREAM_NETWORK');
    client.destroy();
  });
});
