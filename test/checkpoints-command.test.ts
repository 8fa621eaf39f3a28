import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCheckpointsCommand } from '../cli/checkpoints-command.js';
import { type KafkaRestServer, startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import type { KafkaRestClient } from '../lib/kafka-rest/types.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';

const LEASE_MS = 60_000;

describe('checkpoints operator command (dynalite, the local Kafka REST server)', () => {
  let dynamo: LocalDynamo;
  let server: KafkaRestServer;
  let kafka: KafkaRestClient;
  let store: CheckpointStore;
  let clock: number;
  let out: string[];
  let err: string[];
  let drainId: string;
  let n = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    // `orders` holds 70 records in partition 0, none in 1 and 2 (three partitions in all).
    server = await startKafkaRestServer({ topics: { orders: 3 } });
    kafka = createKafkaRest({ baseUrl: server.url, allowHttp: true, auth: noAuth() });
    await kafka.produce(
      'orders',
      Array.from({ length: 70 }, (_, i) => ({ key: null, value: Buffer.from(`r${i}`), partition: 0 })),
      { deadlineMs: Date.now() + 10_000 },
    );
  });
  afterAll(async () => {
    await kafka.close();
    await Promise.all([dynamo.close(), server.close()]);
  });
  beforeEach(() => {
    clock = 1_700_000_000_000;
    store = createCheckpointStore({
      client: dynamo.client,
      tableName: dynamo.tableName,
      leaseMs: LEASE_MS,
      now: () => clock,
    });
    out = [];
    err = [];
    n += 1;
    drainId = `cli${n}`;
  });

  const run = (...argv: string[]) =>
    runCheckpointsCommand(
      {
        store,
        drains: [{ id: drainId, topic: 'orders', partitions: 'all', startFrom: 'earliest' }],
        kafka,
        now: () => clock,
        operator: 'os:tester',
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
      argv,
    );
  const withoutProxy = (...argv: string[]) =>
    runCheckpointsCommand(
      {
        store,
        drains: [{ id: drainId, topic: 'orders', partitions: 'all', startFrom: 'earliest' }],
        now: () => clock,
        operator: 'os:tester',
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
      argv,
    );
  const key = (partition: number) => ({ drainId, topic: 'orders', partition });

  it('sets an offset inside the log, then replays and skips, and says what the next run delivers', async () => {
    const codes = [
      await run('set-offset', drainId, '0', '10'),
      await run('set-offset', drainId, '0', '4'),
      await run('set-offset', drainId, '0', '12'),
    ];

    expect(codes).toEqual([0, 0, 0]);
    expect(out).toEqual([
      `${drainId}/orders/0: next offset (none) → 10 (set)`,
      'the next run delivers from offset 10: 60 record(s) up to the log end 70',
      `${drainId}/orders/0: next offset 10 → 4 (replay)`,
      'the next run delivers from offset 4: 66 record(s) up to the log end 70',
      `${drainId}/orders/0: next offset 4 → 12 (skip)`,
      'the next run delivers from offset 12: 58 record(s) up to the log end 70',
    ]);
    expect(await store.get(key(0))).toMatchObject({ nextOffset: 12 });
  });

  it('refuses a skip past the log end, which the next run would reset and replay from 0', async () => {
    // Act
    const code = await run('set-offset', drainId, '0', '500');

    // Assess
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('500 is past the log end 70 (the log holds 0..69)');
    expect(err.join('\n')).toContain('--to-end');
    expect(await store.get(key(0))).toBeUndefined();
  });

  it('clamps a target past the end with --to-end, saying so', async () => {
    const code = await run('set-offset', drainId, '0', '500', '--to-end');

    expect(code).toBe(0);
    expect(out).toEqual([
      `${drainId}/orders/0: next offset (none) → 70 (set, clamped to the log end 70)`,
      'the next run delivers nothing until new records arrive (the log ends at 70)',
    ]);
    expect(await store.get(key(0))).toMatchObject({ nextOffset: 70 });
  });

  it.each([
    { target: 'earliest', offset: 0, says: 'the log start' },
    { target: 'latest', offset: 70, says: 'the log end' },
  ])('takes $target as $says', async ({ target, offset, says }) => {
    const code = await run('set-offset', drainId, '0', target);

    expect(code).toBe(0);
    expect(out[0]).toBe(`${drainId}/orders/0: next offset (none) → ${offset} (set, ${says})`);
  });

  it('refuses a time, which no dialect the bridge speaks can turn into an offset', async () => {
    const code = await run('set-offset', drainId, '0', '2026-11-30T10:00:00Z');

    expect(code).toBe(2);
    expect(err.join('\n')).toContain('can look an offset up by time');
  });

  it('refuses to set an offset it cannot check without the proxy, unless --force', async () => {
    const refused = await withoutProxy('set-offset', drainId, '0', '10');
    const forced = await withoutProxy('set-offset', drainId, '0', '10', '--force');

    expect([refused, forced]).toEqual([1, 0]);
    expect(err.join('\n')).toContain('without KAFKA_REST_URL');
    expect(await store.get(key(0))).toMatchObject({ nextOffset: 10 });
  });

  it('set-offset on a held partition makes the holder lose its lease, and says so', async () => {
    const acquired = await store.acquire(key(1), 'run-a');
    if (!acquired.acquired) throw new Error('expected the lease');
    clock += 15_000;

    const code = await run('set-offset', drainId, '1', '0');
    const holderCommit = await store
      .commit(acquired.lease, { nextOffset: 99 })
      .catch((error: { code: string }) => error.code);

    expect(code).toBe(0);
    expect(out[0]).toContain(
      'run run-a holds the lease: it stops at its next commit, the partition resumes after 45 s',
    );
    expect(holderCommit).toBe('ERR_LEASE_LOST');
    expect((await store.get(key(1)))?.nextOffset).toBe(0);
  });

  it('pauses and resumes a partition, taking the topic from its row when DRAINS does not name the drain', async () => {
    // Prepare: a row of a drain this environment's DRAINS does not configure
    const other = { drainId: `${drainId}-elsewhere`, topic: 'payments', partition: 2 };
    await store.setOffset(other, 3);

    const paused = await run('pause', other.drainId, '2');
    const afterPause = await store.get(other);
    const resumed = await run('resume', other.drainId, '2');

    expect([paused, resumed]).toEqual([0, 0]);
    expect(afterPause?.paused).toBe(true);
    expect((await store.get(other))?.paused).toBe(false);
    expect(out).toEqual([`${other.drainId}/payments/2: paused`, `${other.drainId}/payments/2: resumed`]);
  });

  it.each([
    {
      name: 'an unknown drain',
      argv: ['pause', 'nowhere', '0'],
      problem: 'has no checkpoints and is not configured in DRAINS here',
    },
    {
      name: 'a partition the topic does not have',
      argv: ['pause', 'DRAIN', '7'],
      problem: 'topic orders has no partition 7 (it has 3)',
    },
  ])('refuses $name and creates no row, unless --force', async ({ argv, problem }) => {
    const args = argv.map((arg) => (arg === 'DRAIN' ? drainId : arg));

    const refused = await run(...args);
    const rowsAfterRefusal = await store.list({ drainId: args[1] as string });

    expect(refused).toBe(1);
    expect(err.join('\n')).toContain(problem);
    expect(rowsAfterRefusal).toEqual([]);
  });

  it('creates a row for a drain it does not know only with --topic and --force', async () => {
    const code = await run('pause', 'elsewhere', '0', '--topic', 'payments', '--force');

    expect(code).toBe(0);
    expect((await store.get({ drainId: 'elsewhere', topic: 'payments', partition: 0 }))?.paused).toBe(true);
  });

  it('forgets a row, so the next run starts the partition afresh; refuses while a run holds it', async () => {
    // Prepare
    await store.setOffset(key(2), 0);
    const acquired = await store.acquire(key(2), 'run-b');
    if (!acquired.acquired) throw new Error('expected the lease');

    // Act
    const whileHeld = await run('forget', drainId, '2');
    const forced = await run('forget', drainId, '2', '--force');
    const again = await run('forget', drainId, '2');

    // Assess
    expect([whileHeld, forced, again]).toEqual([1, 0, 0]);
    expect(err.join('\n')).toContain('not forgotten; run run-b holds the lease');
    expect(out[0]).toContain(
      `${drainId}/orders/2: forgotten (it was at 0); the next run starts it at the log start`,
    );
    expect(out[1]).toBe(`${drainId}/orders/2: no checkpoint row: nothing to forget`);
    expect(await store.get(key(2))).toBeUndefined();
  });

  it('records who ran each command, when, before and after; history shows them; list shows checkpoints only', async () => {
    // Act
    expect(await run('set-offset', drainId, '0', '42')).toBe(0);
    clock += 1_000;
    expect(await run('pause', drainId, '0')).toBe(0);
    clock += 1_000;
    expect(await run('resume', drainId, '0')).toBe(0);
    await store.setOffset(key(1), 3);
    clock += 1_000;
    expect(await run('forget', drainId, '1')).toBe(0);
    // A refused command changes nothing, so it records nothing.
    expect(await run('set-offset', drainId, '0', '71')).toBe(1);
    out = [];
    const code = await run('history', drainId);
    const lines = out;
    out = [];
    await run('history', drainId, '0', '--json');

    // Assess
    expect(code).toBe(0);
    expect(lines).toEqual([
      `2023-11-14T22:13:20.000Z  orders/0  set-offset 42  (no row) → 42  by os:tester`,
      `2023-11-14T22:13:21.000Z  orders/0  pause  42 → 42 paused  by os:tester`,
      `2023-11-14T22:13:22.000Z  orders/0  resume  42 paused → 42  by os:tester`,
      `2023-11-14T22:13:23.000Z  orders/1  forget  3 → (no row)  by os:tester`,
    ]);
    const entries = JSON.parse(out.join('\n')) as { action: string; before?: unknown; after?: unknown }[];
    expect(entries.map((entry) => entry.action)).toEqual(['set-offset 42', 'pause', 'resume']);
    expect(entries[1]).toMatchObject({
      before: { nextOffset: 42, paused: false },
      after: { nextOffset: 42, paused: true },
    });
    // The audit entries share the table, never the checkpoints' listing.
    expect((await store.list({ drainId })).map((checkpoint) => checkpoint.partition)).toEqual([0]);
  });

  it('lists checkpoints with topic epochs, leases, pause flags and last errors', async () => {
    const acquired = await store.acquire(key(0), 'run-z');
    if (!acquired.acquired) throw new Error('expected the lease');
    await store.commit(acquired.lease, {
      nextOffset: 5,
      lastError: { code: 'ERR_SINK_REJECTED', message: 'HTTP 400', offset: 5 },
      epoch: 2,
    });
    await store.setPaused(key(1), true);

    const code = await run('list', '--drain', drainId);
    const json = await run('list', '--drain', drainId, '--json');

    expect([code, json]).toEqual([0, 0]);
    const lines = (out[0] ?? '').split('\n');
    expect(lines[0]).toMatch(
      /^drain\s+topic\s+partition\s+next offset\s+epoch\s+paused\s+lease\s+skipped\s+last error$/,
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^${drainId}\\s+orders\\s+0\\s+5\\s+2\\s+no\\s+run-z \\(60 s left\\)\\s+0\\s+ERR_SINK_REJECTED at 5: HTTP 400$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^${drainId}\\s+orders\\s+1\\s+-\\s+0\\s+yes\\s+-\\s+0\\s+-$`));
    expect(JSON.parse(out[1] ?? '')).toHaveLength(2);
  });

  it.each([
    { name: 'no command', argv: [], problem: 'Usage' },
    { name: 'unknown command', argv: ['drop'], problem: 'unknown command drop' },
    {
      name: 'missing target',
      argv: ['set-offset', 'x', '0'],
      problem: 'set-offset takes <drain> <partition> <target>',
    },
    { name: 'bad partition', argv: ['pause', 'x', 'one'], problem: 'partition must be an integer ≥ 0' },
    {
      name: 'bad target',
      argv: ['set-offset', 'DRAIN', '0', '1.5'],
      problem: 'target must be an offset (an integer ≥ 0), earliest or latest',
    },
    { name: 'unknown option', argv: ['list', '--all'], problem: "Unknown option '--all'" },
  ])('rejects $name with exit code 2 and the usage', async ({ argv, problem }) => {
    const code = await run(...argv.map((arg) => (arg === 'DRAIN' ? drainId : arg)));

    expect(code).toBe(2);
    expect([...out, ...err].join('\n')).toContain(problem);
  });
});
