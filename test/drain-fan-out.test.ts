import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import type { KafkaRestServer } from '../dev/kafka-rest/types.js';
import { makeHandler } from '../handlers/drain.js';
import type { PartitionKey } from '../lib/drain/checkpoint.js';
import { type CheckpointStore, createCheckpointStore } from '../lib/drain/checkpoint-store.js';
import {
  type CoordinatorReport,
  FAN_OUT_METRICS,
  type GroupEvent,
  type GroupReport,
  splitIntoGroups,
} from '../lib/drain/fan-out.js';
import type { DrainRunReport } from '../lib/drain/run-drains.js';
import { createDrainDeps, type DrainHandlerDeps } from '../lib/wiring/drain.js';
import { loadDrainConfig } from '../lib/wiring/settings/drain.js';
import {
  records,
  type ScriptedSink,
  type SinkAnswer,
  type SinkRequest,
  startScriptedSink,
} from './fixtures/drain.js';
import { localDrainEnv } from './helpers/drain-worker.js';
import { dynaliteForFile } from './helpers/dynalite-file.js';
import { type FakeLambda, type LambdaInvocation, startFakeLambda } from './helpers/lambda-fake.js';
import { captureOutput, createMemoryLog } from './helpers/log.js';
import { waitUntil } from './helpers/poll.js';

const FUNCTION = 'kafka-rest-bridge-test-drain';
const PARTITIONS = 8;
const PER_PARTITION = 5;
const LEASE_MS = 60_000;
/** The groups of 8 partitions by 2, none of them held: the coordinator keeps the first, invokes for the rest. */
const EVERY_GROUP_GOES = [
  [[0, 1], 'kept'],
  [[2, 3], 'dispatched'],
  [[4, 5], 'dispatched'],
  [[6, 7], 'dispatched'],
];

/** A gate: whatever awaits `opened` waits until `open()` is called. */
const gate = () => {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
};

/**
 * The fan-out end to end: the drain handler on the real wiring (`createDrainDeps` from the environment),
 * the local Kafka REST server, dynalite, the real HTTP sink into a scripted endpoint, and a fake of Lambda's
 * Invoke API that runs each queued group through the same handler, as Lambda would.
 */
describe('drain fan-out across invocations', () => {
  const dynamo = dynaliteForFile();
  let kafkaServer: KafkaRestServer;
  let sink: ScriptedSink;
  let respond: (request: SinkRequest) => SinkAnswer | Promise<SinkAnswer>;
  let lambda: FakeLambda & { runErrors: unknown[] };
  let store: CheckpointStore;
  let closers: (() => Promise<void>)[];
  /** Every worker run's report, in the order they ended. */
  let workerReports: DrainRunReport[];
  let drainId: string;
  let n = 0;
  let requestId = 0;

  beforeEach(async () => {
    closers = [];
    workerReports = [];
    n += 1;
    drainId = `fan-out-${n}`;
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    kafkaServer = await startKafkaRestServer({ topics: { orders: PARTITIONS } });
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      kafkaServer.append('orders', partition, records(PER_PARTITION, `p${partition}-`));
    }
    respond = () => ({});
    sink = await startScriptedSink((request) => respond(request));
    store = createCheckpointStore({
      client: dynamo().client,
      tableName: dynamo().tableName,
      leaseMs: LEASE_MS,
      now: Date.now,
    });
    const worker = build();
    lambda = await startFakeLambda({
      functions: [FUNCTION],
      run: async (payload) => {
        workerReports.push(await worker.handler(payload, context()));
      },
    });
  });
  afterEach(async () => {
    await lambda.settled();
    for (const close of closers.reverse()) await close();
    await lambda.close();
    await sink.close();
    await kafkaServer.close();
    vi.unstubAllEnvs();
  });

  const context = () => ({ getRemainingTimeInMillis: () => 20_000, awsRequestId: `req-${++requestId}` });

  const drainSpec = (id = drainId, topic = 'orders') => ({
    id,
    topic,
    partitions: 'all',
    batchSize: 2,
    resetPolicy: 'earliest',
    sink: { type: 'http', url: sink.url, allowHttp: true },
  });
  /** One container: the handler on deps built from the environment, as `handlers/drain.ts` builds them. */
  const build = (
    env: Record<string, string> = {},
    adjust: (deps: DrainHandlerDeps) => DrainHandlerDeps = (d) => d,
  ) => {
    const config = loadDrainConfig(
      localDrainEnv({
        kafkaRestUrl: kafkaServer.url,
        dynamo: dynamo(),
        drains: [drainSpec()],
        functionName: FUNCTION,
        lambdaEndpoint: lambda?.endpoint ?? 'http://127.0.0.1:9',
        partitionsPerInvocation: 2,
        extra: { DRAIN_LEASE_MS: String(LEASE_MS), ...env },
      }),
    );
    const created = createDrainDeps(config);
    closers.push(async () => created.close?.());
    const deps = adjust({ ...created, metrics: { publish: () => {} } });
    return { deps, handler: makeHandler(() => deps) };
  };
  /** The coordinator: a container of its own, pointed at the fake Lambda. */
  const coordinator = (adjust?: (deps: DrainHandlerDeps) => DrainHandlerDeps) => build({}, adjust);
  const schedule = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

  const keyOf = (partition: number): PartitionKey => ({ drainId, topic: 'orders', partition });
  const offsetsOf = async () =>
    Promise.all(Array.from({ length: PARTITIONS }, async (_, p) => (await store.get(keyOf(p)))?.nextOffset));
  const everyRecord = () =>
    Array.from({ length: PARTITIONS }, (_, p) =>
      records(PER_PARTITION, `p${p}-`).map((r) => r.value.toString()),
    ).flat();
  const acceptedOf = (partition: number) =>
    sink.requests.filter((r) => r.partition === partition && r.status === 200).map((r) => r.offset);
  const outcomes = (groups: readonly GroupReport[]) => groups.map((g) => [g.partitions, g.outcome]);
  const invokedGroups = () =>
    lambda.invocations.filter((i) => i.status === 202).map((i) => (i.payload as GroupEvent).partitions);
  const deliveredBy = (reports: readonly DrainRunReport[], partition: number) =>
    reports.flatMap((r) => r.drains.flatMap((d) => d.partitions)).filter((p) => p.partition === partition);

  it('splits the partitions into consecutive groups of the configured size, the last one shorter', () => {
    expect(splitIntoGroups([4, 0, 2, 1, 3, 2], 2)).toEqual([[0, 1], [2, 3], [4]]);
    expect(splitIntoGroups([], 3)).toEqual([]);
  });

  it('keeps the first group, queues one asynchronous invocation per other group, and every record arrives once', async () => {
    const { handler } = coordinator();

    const report = (await handler(schedule, context())) as CoordinatorReport;
    await lambda.settled();

    expect(outcomes(report.groups)).toEqual(EVERY_GROUP_GOES);
    // Sent at once, so they may arrive in any order.
    const first = (invocation: LambdaInvocation) => (invocation.payload as GroupEvent).partitions[0] ?? -1;
    const byFirstPartition = [...lambda.invocations].sort((a, b) => first(a) - first(b));
    expect(byFirstPartition.map((i) => [i.functionName, i.invocationType, i.payload])).toEqual([
      [FUNCTION, 'Event', { drainId, partitions: [2, 3] }],
      [FUNCTION, 'Event', { drainId, partitions: [4, 5] }],
      [FUNCTION, 'Event', { drainId, partitions: [6, 7] }],
    ]);
    expect(lambda.runErrors).toEqual([]);
    expect(report.drains.flatMap((d) => d.partitions.map((p) => p.partition))).toEqual([0, 1]);
    expect(sink.accepted().sort()).toEqual(everyRecord().sort());
    expect(await offsetsOf()).toEqual(Array(PARTITIONS).fill(PER_PARTITION));
    for (const partition of [0, 1, 2, 3, 4, 5, 6, 7]) expect(acceptedOf(partition)).toEqual([0, 1, 2, 3, 4]);
  });

  it('two coordinators at once: both dispatch every group, the leases let one run at a time drain each partition, nothing is lost or repeated', async () => {
    // Both read the checkpoints before either takes a lease, so both see every group free.
    let reads = 0;
    const bothRead = gate();
    const held = (deps: DrainHandlerDeps): DrainHandlerDeps => ({
      ...deps,
      checkpoints: {
        ...deps.checkpoints,
        getMany: async (...args) => {
          reads += 1;
          if (reads === 2) bothRead.open();
          await bothRead.opened;
          return deps.checkpoints.getMany(...args);
        },
      },
    });
    // Deliveries wait until every run has started, so the runs of a partition overlap.
    const allStarted = gate();
    respond = async () => {
      await allStarted.opened;
      return {};
    };
    const first = coordinator(held);
    const second = coordinator(held);

    const running = Promise.all([first.handler(schedule, context()), second.handler(schedule, context())]);
    await waitUntil(() => lambda.invocations.length === 6);
    allStarted.open();
    const reports = (await running) as unknown as CoordinatorReport[];
    await lambda.settled();

    for (const report of reports) {
      expect(outcomes(report.groups).map(([, outcome]) => outcome)).toEqual([
        'kept',
        'dispatched',
        'dispatched',
        'dispatched',
      ]);
    }
    expect(invokedGroups().sort()).toEqual([
      [2, 3],
      [2, 3],
      [4, 5],
      [4, 5],
      [6, 7],
      [6, 7],
    ]);
    const runs = [...reports, ...workerReports];
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      const ofPartition = deliveredBy(runs, partition);
      // Two runs were asked; exactly one delivered, the other found it leased (or already drained).
      expect(ofPartition).toHaveLength(2);
      expect(ofPartition.map((p) => p.delivered).sort()).toEqual([0, PER_PARTITION]);
      expect(ofPartition.find((p) => p.delivered === 0)?.outcome).toMatch(/^(busy|caught-up)$/);
      expect(acceptedOf(partition)).toEqual([0, 1, 2, 3, 4]);
    }
    expect(sink.accepted().sort()).toEqual(everyRecord().sort());
    expect(await offsetsOf()).toEqual(Array(PARTITIONS).fill(PER_PARTITION));
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      expect((await store.get(keyOf(partition)))?.lease).toBeUndefined();
    }
  });

  it('a group dispatched again while a worker still holds one of its partitions: the second worker skips that one and reports it busy', async () => {
    // Partition 2 stalls at offset 3 (offsets 0-1 delivered and committed, 2 delivered) until released.
    const release = gate();
    respond = async (request) => {
      if (request.partition === 2 && request.offset === 3) await release.opened;
      return {};
    };
    const { handler } = coordinator();
    const firstRun = handler(schedule, context());
    await waitUntil(async () => sink.requests.some((r) => r.partition === 2 && r.offset === 3));
    await waitUntil(
      async () =>
        (await store.get(keyOf(3)))?.lease === undefined && (await store.get(keyOf(3)))?.nextOffset === 5,
    );
    await firstRun;
    // Every other group of the first round has ended: only partition 2 is still leased.
    await waitUntil(() => workerReports.length === 2);

    // The next schedule: partition 2 is still leased, 3 is free, so the group is not all held.
    const second = (await handler(schedule, context())) as CoordinatorReport;
    const secondWorker = () =>
      workerReports.slice(2).find((r) => r.drains[0]?.partitions.some((p) => p.partition === 2));
    await waitUntil(() => secondWorker() !== undefined);
    const again = secondWorker() as DrainRunReport;
    release.open();
    await lambda.settled();

    expect(outcomes(second.groups)).toEqual(EVERY_GROUP_GOES);
    expect(again.drains[0]?.partitions.map((p) => [p.partition, p.outcome, p.delivered])).toEqual([
      [2, 'busy', 0],
      [3, 'caught-up', 0],
    ]);
    expect(again.failed).toBe(false);
    // Every offset once: the held partition was never delivered by two runs.
    for (const partition of [0, 1, 2, 3, 4, 5, 6, 7]) expect(acceptedOf(partition)).toEqual([0, 1, 2, 3, 4]);
    expect(await offsetsOf()).toEqual(Array(PARTITIONS).fill(PER_PARTITION));
  });

  it('queues no invocation for a group whose partitions are all leased or paused; an expired lease counts as free', async () => {
    const other = 'another-run/1';
    await store.acquire(keyOf(2), other);
    await store.acquire(keyOf(3), other);
    await store.setPaused(keyOf(4), true);
    await store.acquire(keyOf(5), other);
    const past = createCheckpointStore({
      client: dynamo().client,
      tableName: dynamo().tableName,
      leaseMs: LEASE_MS,
      now: () => Date.now() - 2 * LEASE_MS,
    });
    await past.acquire(keyOf(6), 'crashed-run/1');
    const log = createMemoryLog();
    const { handler } = coordinator((deps) => ({ ...deps, log }));

    const report = (await handler(schedule, context())) as CoordinatorReport;
    await lambda.settled();

    expect(outcomes(report.groups)).toEqual([
      [[0, 1], 'kept'],
      [[2, 3], 'skipped'],
      [[4, 5], 'skipped'],
      [[6, 7], 'dispatched'],
    ]);
    expect(invokedGroups()).toEqual([[6, 7]]);
    expect(log.lines.find((line) => line.message === 'fan-out finished')?.attributes).toMatchObject({
      kept: 1,
      dispatched: 1,
      skipped: 2,
      failed: 0,
      skippedGroups: [`${drainId}:2,3`, `${drainId}:4,5`],
    });
    expect(await offsetsOf()).toEqual([5, 5, undefined, undefined, undefined, undefined, 5, 5]);
    expect((await store.get(keyOf(2)))?.lease?.owner).toBe(other);
  });

  it('an invoke Lambda refuses is logged and counted; the other groups still go, and the next schedule dispatches it', async () => {
    lambda.failInvokes({ status: 403, type: 'AccessDeniedException' });
    const log = createMemoryLog();
    const { handler } = coordinator((deps) => ({ ...deps, log }));
    const out = captureOutput();

    let report: CoordinatorReport;
    try {
      report = (await handler(schedule, context())) as CoordinatorReport;
    } finally {
      out.restore();
    }
    await lambda.settled();

    const failed = report.groups.filter((g) => g.outcome === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.error?.code).toBe('ERR_UPSTREAM_STATUS');
    expect(report.groups.filter((g) => g.outcome === 'dispatched')).toHaveLength(2);
    expect(report.failed).toBe(false);
    expect(log.lines.filter((line) => line.message.startsWith('fan-out invoke failed'))).toEqual([
      expect.objectContaining({
        level: 'warn',
        attributes: expect.objectContaining({ drainId, code: 'ERR_UPSTREAM_STATUS' }),
      }),
    ]);
    expect(out.emf().find((line) => FAN_OUT_METRICS.failed in line)).toMatchObject({
      drainId,
      [FAN_OUT_METRICS.failed]: 1,
      [FAN_OUT_METRICS.dispatched]: 2,
      [FAN_OUT_METRICS.skipped]: 0,
    });
    const lost = (failed[0] as GroupReport).partitions;
    for (const partition of lost) expect(acceptedOf(partition)).toEqual([]);

    const next = (await handler(schedule, context())) as CoordinatorReport;
    await lambda.settled();

    expect(next.groups.find((g) => g.partitions[0] === lost[0])?.outcome).toMatch(/^(kept|dispatched)$/);
    expect(sink.accepted().sort()).toEqual(everyRecord().sort());
    expect(await offsetsOf()).toEqual(Array(PARTITIONS).fill(PER_PARTITION));
  });

  it('retries a throttled invoke, signed for the lambda service', async () => {
    lambda.failInvokes({ status: 429, type: 'TooManyRequestsException' });
    const { handler } = coordinator();

    const report = (await handler(schedule, context())) as CoordinatorReport;
    await lambda.settled();

    expect(report.groups.map((g) => g.outcome)).toEqual(['kept', 'dispatched', 'dispatched', 'dispatched']);
    expect(lambda.invocations.map((i) => i.status).sort()).toEqual([202, 202, 202, 429]);
    expect(String(lambda.invocations[0]?.headers.authorization)).toMatch(/\/us-east-1\/lambda\/aws4_request/);
    expect(sink.accepted()).toHaveLength(PARTITIONS * PER_PARTITION);
  });

  it('runs a drain whose partitions cannot be listed as without fan-out: it fails the run, the other drain still fans out', async () => {
    const { handler } = build({
      DRAINS: JSON.stringify([drainSpec(), drainSpec(`missing-${n}`, 'missing')]),
    });

    const error = await handler(schedule, context()).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    await lambda.settled();

    expect(error?.message).toContain(`missing-${n}: ERR_UPSTREAM_STATUS`);
    expect(invokedGroups().sort()).toEqual([
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(await offsetsOf()).toEqual(Array(PARTITIONS).fill(PER_PARTITION));
  });

  it('a group event is a worker’s: it drains that group and dispatches nothing', async () => {
    const { handler } = coordinator();

    const report = await handler({ drainId, partitions: [4, 5] }, context());

    expect(lambda.invocations).toEqual([]);
    expect('groups' in report).toBe(false);
    expect(report.drains[0]?.partitions.map((p) => p.partition)).toEqual([4, 5]);
    expect(await offsetsOf()).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      5,
      5,
      undefined,
      undefined,
    ]);
  });

  it('without DRAIN_PARTITIONS_PER_INVOCATION, the schedule drains every partition in one invocation', async () => {
    const { handler } = build({ DRAIN_PARTITIONS_PER_INVOCATION: '' });

    const report = await handler(schedule, context());

    expect(lambda.invocations).toEqual([]);
    expect(report.drains[0]?.partitions).toHaveLength(PARTITIONS);
    expect(await offsetsOf()).toEqual(Array(PARTITIONS).fill(PER_PARTITION));
  });
});
