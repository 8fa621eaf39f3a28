import { createHash } from 'node:crypto';
import type { KafkaRest } from '../kafka-rest/types.js';
import type { SinkConfig } from '../sinks/config.js';
import type { Sink, SinkRecord } from '../sinks/types.js';
import type { Checkpoint, PartitionKey } from './checkpoint.js';
import type { DrainSettings } from './config.js';
import { drainPartition, type PartitionReport } from './drain-partition.js';
import type { PartitionDrainDeps } from './partition-types.js';

/**
 * Shadow replay (design §2's loop, unchanged): a range of a drain's partition delivered again into another
 * sink by `drainPartition` itself, under a checkpoint row of its own (`<drain>~replay~<fingerprint>`), so
 * the live checkpoint never moves. The row's lease keeps two replays of the same range apart, and its
 * offset makes a second run continue where the first stopped.
 */

/** What a replay delivers: `from` up to `to` (inclusive), or up to the log end when `to` is absent. */
export interface ReplayRange {
  readonly partition: number;
  /** The start as the operator gave it (`42`, or `time:<ISO>`): part of the row's identity. */
  readonly fromArgument: string;
  readonly from: number;
  readonly to: number | undefined;
}

/** `~` is outside the drain id alphabet: a replay row never shares its key with a configured drain. */
const REPLAY_SEPARATOR = '~replay~';

/**
 * The replay row's drain id: the live drain's, then a hash of the target sink and the range, so the same
 * arguments find the same row (and resume) and any other replay gets a row of its own. The sink's header
 * values are left out of the hash: they may be credentials, and the id is shown and stored.
 */
export const toReplayDrainId = (drainId: string, sink: SinkConfig, range: ReplayRange): string => {
  const target =
    sink.type === 'http' ? { ...sink, url: sink.url.href, headers: Object.keys(sink.headers).sort() } : sink;
  const identity = JSON.stringify({
    sink: target,
    partition: range.partition,
    from: range.fromArgument,
    to: range.to ?? null,
  });
  return `${drainId}${REPLAY_SEPARATOR}${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;
};

export interface ReplayProgress {
  /** Records the replay sink acknowledged in this run so far. */
  readonly delivered: number;
  /** The highest offset acknowledged so far (undefined: none yet). */
  readonly lastOffset: number | undefined;
}

export interface ReplayRequest {
  /** The live drain: its topic, batch size, order, retries and record id namespace. */
  readonly drain: DrainSettings;
  readonly range: ReplayRange;
  readonly replayId: string;
  readonly sink: Sink;
  /** The lease holder's name, unique per run. */
  readonly owner: string;
  readonly leaseMs: number;
  /** Each `drainPartition` run's budget; the replay runs as many as the range takes. */
  readonly runBudgetMs: number;
  /** After each budget: releasing the lease and the v2 consumer instance. */
  readonly cleanupMs: number;
  /** Ctrl-C: the run stops once the batch in hand is delivered and committed. */
  readonly stop: AbortSignal;
  onProgress?(progress: ReplayProgress): void;
}

export interface ReplayReport {
  /** The replay row's key. */
  readonly key: PartitionKey;
  /** The replay row before this run (undefined: this run created it) and after. */
  readonly before: Checkpoint | undefined;
  readonly after: Checkpoint | undefined;
  /** Where this run started reading. */
  readonly startedAt: number;
  readonly delivered: number;
  /**
   * `range-done`: every record up to `to` was delivered (now or by an earlier run); `log-end`: caught up
   * with the log end (before `to`, or with no `to`); `interrupted`: stopped by the operator; otherwise the
   * last run's outcome (`busy`, `stopped`, `failed`, …), with its error.
   */
  readonly result: 'range-done' | 'log-end' | 'interrupted' | PartitionReport['outcome'];
  readonly error?: PartitionReport['error'];
}

/**
 * Replays `request.range` into `request.sink`. Never throws for a run's failure (that is the report, as
 * with `drainPartition`); throws what the checkpoint store throws while creating or reading the row.
 */
export const replayPartition = async (
  deps: PartitionDrainDeps,
  request: ReplayRequest,
): Promise<ReplayReport> => {
  const { drain, range } = request;
  const key: PartitionKey = { drainId: request.replayId, topic: drain.topic, partition: range.partition };
  const before = await deps.checkpoints.get(key);
  const startedAt = before?.nextOffset ?? range.from;
  const done = (
    after: Checkpoint | undefined,
    rest: Pick<ReplayReport, 'delivered' | 'result' | 'error'>,
  ) => ({
    key,
    before,
    after,
    startedAt,
    ...rest,
  });
  if (range.to !== undefined && startedAt > range.to)
    return done(before, { delivered: 0, result: 'range-done' });
  if (before === undefined) {
    const created = await createRow(deps, request, key);
    if (!created) return done(await deps.checkpoints.get(key), { delivered: 0, result: 'busy' });
  }

  const reads =
    range.to === undefined ? { kafka: deps.kafka, reachedTo: () => false } : readsUpTo(deps.kafka, range.to);
  const sink = withProgress(request.sink, request.onProgress);
  // The replay's own settings: the live drain's loop, ids and order; its checkpoint committed after every
  // batch (a resume repeats nothing that was acknowledged), and a range never reset past silently.
  const settings: DrainSettings = {
    ...drain,
    id: request.replayId,
    commitIntervalMs: 0,
    resetPolicy: 'fail',
  };
  let delivered = 0;
  let report: PartitionReport;
  do {
    const startMs = deps.now();
    report = await drainPartition(
      { ...deps, kafka: reads.kafka },
      {
        drain: settings,
        partition: range.partition,
        sink,
        // A shadow replay must not fill the live drain's DLQ: a poison record stops it, recorded on its row.
        deadLetters: undefined,
        owner: request.owner,
        deadlineMs: startMs + request.runBudgetMs,
        cleanupDeadlineMs: startMs + request.runBudgetMs + request.cleanupMs,
        leaseMs: request.leaseMs,
        stop: request.stop,
      },
    );
    delivered += report.delivered;
  } while (report.outcome === 'deadline' && !request.stop.aborted);

  const after = await deps.checkpoints.get(key);
  const result =
    report.outcome === 'caught-up'
      ? reads.reachedTo()
        ? 'range-done'
        : 'log-end'
      : report.outcome === 'deadline'
        ? 'interrupted'
        : report.outcome;
  return done(after, { delivered, result, ...(report.error === undefined ? {} : { error: report.error }) });
};

/**
 * The replay row, at `from` and in the live drain's epoch (the topic's incarnation, part of every record
 * id), so the replayed records carry the ids the live drain gave them. Through the lease like a run's
 * first commit; false when another replay of the same range holds it.
 */
const createRow = async (
  deps: PartitionDrainDeps,
  request: ReplayRequest,
  key: PartitionKey,
): Promise<boolean> => {
  const live = await deps.checkpoints.get({ ...key, drainId: request.drain.id });
  const acquired = await deps.checkpoints.acquire(key, request.owner);
  if (!acquired.acquired) return false;
  const epoch = live?.epoch ?? 0;
  const lease = await deps.checkpoints.commit(acquired.lease, {
    nextOffset: request.range.from,
    ...(epoch === acquired.checkpoint.epoch ? {} : { epoch }),
  });
  await deps.checkpoints.release(lease);
  return true;
};

/**
 * The partition's reads cut at `to`: nothing past it is fetched for delivery, and a read from past it
 * answers `[]`, which the loop takes for the end of the log (the only answer that ends it caught up).
 */
const readsUpTo = (
  kafka: PartitionDrainDeps['kafka'],
  to: number,
): { kafka: PartitionDrainDeps['kafka']; reachedTo(): boolean } => {
  let reachedTo = false;
  const fetch: KafkaRest['fetch'] = async (topic, partition, offset, options) => {
    if (offset > to) {
      reachedTo = true;
      return [];
    }
    const records = await kafka.fetch(topic, partition, offset, {
      ...options,
      maxRecords: Math.min(options.maxRecords, to - offset + 1),
    });
    // A record past `to` (compaction left a gap up to it) also says the range has nothing more.
    if (records.some((record) => record.offset > to)) reachedTo = true;
    return records.filter((record) => record.offset <= to);
  };
  return {
    kafka: {
      fetch,
      logBounds: kafka.logBounds,
      exactLogBounds: kafka.exactLogBounds,
      endFetch: kafka.endFetch,
    },
    reachedTo: () => reachedTo,
  };
};

/** The sink, telling `onProgress` after each call what it acknowledged. */
const withProgress = (sink: Sink, onProgress: ReplayRequest['onProgress']): Sink => {
  if (onProgress === undefined) return sink;
  let delivered = 0;
  let lastOffset: number | undefined;
  return {
    maxBatchRecords: sink.maxBatchRecords,
    ...(sink.ordered === undefined ? {} : { ordered: sink.ordered }),
    deliver: async (records: readonly SinkRecord[], options) => {
      const outcomes = await sink.deliver(records, options);
      outcomes.forEach((outcome, index) => {
        const record = records[index];
        if (!outcome.ok || record === undefined) return;
        delivered += 1;
        lastOffset = Math.max(lastOffset ?? record.offset, record.offset);
      });
      onProgress({ delivered, lastOffset });
      return outcomes;
    },
  };
};
