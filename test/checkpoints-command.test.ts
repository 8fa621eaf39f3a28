import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import { runCheckpointsCommand } from '../lib/drain/checkpoints-command.js';
import { type LocalDynamo, startDynalite } from './helpers/dynalite.js';

const LEASE_MS = 60_000;

describe('checkpoints operator command (dynalite)', () => {
  let dynamo: LocalDynamo;
  let store: CheckpointStore;
  let clock: number;
  let out: string[];
  let err: string[];
  let drainId: string;
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
    out = [];
    err = [];
    n += 1;
    drainId = `cli${n}`;
  });

  const run = (...argv: string[]) =>
    runCheckpointsCommand(
      {
        store,
        drains: [{ id: drainId, topic: 'orders' }],
        now: () => clock,
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
      argv,
    );

  it('sets an offset on a new partition, then replays and skips', async () => {
    const codes = [
      await run('set-offset', drainId, '0', '10'),
      await run('set-offset', drainId, '0', '4'),
      await run('set-offset', drainId, '0', '12'),
    ];

    expect(codes).toEqual([0, 0, 0]);
    expect(out).toEqual([
      `${drainId}/orders/0: next offset (none) → 10 (set)`,
      `${drainId}/orders/0: next offset 10 → 4 (replay)`,
      `${drainId}/orders/0: next offset 4 → 12 (skip)`,
    ]);
    expect(await store.get({ drainId, topic: 'orders', partition: 0 })).toMatchObject({ nextOffset: 12 });
  });

  it('set-offset on a held partition makes the holder lose its lease, and says so', async () => {
    const key = { drainId, topic: 'orders', partition: 1 };
    const acquired = await store.acquire(key, 'run-a');
    if (!acquired.acquired) throw new Error('expected the lease');
    clock += 15_000;

    const code = await run('set-offset', drainId, '1', '7');
    const holderCommit = await store
      .commit(acquired.lease, { nextOffset: 99 })
      .catch((error: { code: string }) => error.code);

    expect(code).toBe(0);
    expect(out[0]).toContain(
      'run run-a holds the lease: it stops at its next commit, the partition resumes after 45 s',
    );
    expect(holderCommit).toBe('ERR_LEASE_LOST');
    expect((await store.get(key))?.nextOffset).toBe(7);
  });

  it('pauses and resumes a partition', async () => {
    const key = { drainId, topic: 'orders', partition: 2 };

    const paused = await run('pause', drainId, '2');
    const afterPause = await store.get(key);
    const resumed = await run('resume', drainId, '2');

    expect([paused, resumed]).toEqual([0, 0]);
    expect(afterPause?.paused).toBe(true);
    expect((await store.get(key))?.paused).toBe(false);
    expect(out).toEqual([`${drainId}/orders/2: paused`, `${drainId}/orders/2: resumed`]);
  });

  it('lists checkpoints with topic epochs, leases, pause flags and last errors', async () => {
    const key = { drainId, topic: 'orders', partition: 0 };
    const acquired = await store.acquire(key, 'run-z');
    if (!acquired.acquired) throw new Error('expected the lease');
    await store.commit(acquired.lease, {
      nextOffset: 5,
      lastError: { code: 'ERR_SINK_REJECTED', message: 'HTTP 400', offset: 5 },
      epoch: 2,
    });
    await store.setPaused({ drainId, topic: 'orders', partition: 1 }, true);

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

  it('uses --topic for a drain not configured here', async () => {
    const code = await run('pause', 'elsewhere', '0', '--topic', 'payments');

    expect(code).toBe(0);
    expect((await store.get({ drainId: 'elsewhere', topic: 'payments', partition: 0 }))?.paused).toBe(true);
  });

  it.each([
    { name: 'no command', argv: [], problem: 'Usage' },
    { name: 'unknown command', argv: ['drop'], problem: 'unknown command drop' },
    {
      name: 'missing offset',
      argv: ['set-offset', 'x', '0'],
      problem: 'set-offset takes <drain> <partition> <offset>',
    },
    { name: 'bad partition', argv: ['pause', 'x', 'one'], problem: 'partition must be an integer ≥ 0' },
    { name: 'bad offset', argv: ['set-offset', 'x', '0', '1.5'], problem: 'offset must be an integer ≥ 0' },
    { name: 'unknown option', argv: ['list', '--all'], problem: "Unknown option '--all'" },
    { name: 'unknown drain', argv: ['pause', 'nowhere', '0'], problem: 'pass --topic <topic>' },
  ])('rejects $name with exit code 2 and the usage', async ({ argv, problem }) => {
    const code = await run(...argv);

    expect(code).toBe(2);
    expect([...out, ...err].join('\n')).toContain(problem);
  });
});
