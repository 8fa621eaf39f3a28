import { toLastErrorText } from '../../cli/checkpoints-command.js';
import { isAppError } from '../../lib/core/errors.js';
import type { Checkpoint } from '../../lib/drain/checkpoint.js';
import type { CheckpointStore } from '../../lib/drain/checkpoint-store.js';
import type { DrainConfig } from '../../lib/drain/config.js';
import type { KafkaRestClient } from '../../lib/kafka-rest/types.js';
import type { DlqPanel, DlqView } from './dlq-panel.js';

/**
 * What the console reads: the drain's own proxy client and checkpoint store, the configured drains, and
 * their DLQs.
 */
export interface ConsoleSources {
  readonly kafka: Pick<KafkaRestClient, 'listTopics' | 'listPartitions' | 'logBounds' | 'fetch' | 'endFetch'>;
  readonly store: Pick<CheckpointStore, 'list'>;
  readonly drains: readonly Pick<DrainConfig, 'id' | 'topic' | 'partitions'>[];
  readonly now: () => number;
  /** The DLQs of the drains that have one. */
  readonly dlq: Pick<DlqPanel, 'read'>;
}

/** Bytes as the page shows them: JSON and UTF-8 text as text, anything else as base64. */
export interface ShownBytes {
  readonly encoding: 'json' | 'text' | 'base64';
  readonly text: string;
  /** The bytes ran past `PREVIEW_CHARS`: `text` is their start. */
  readonly truncated: boolean;
}

export interface ShownRecord {
  readonly offset: number;
  readonly key: ShownBytes | null;
  readonly value: ShownBytes | null;
}

export interface PartitionView {
  readonly partition: number;
  readonly start: number;
  readonly end: number;
  /** The last `LATEST_RECORDS` records, oldest first. */
  readonly latest: readonly ShownRecord[];
}

export interface TopicView {
  readonly name: string;
  readonly partitions: readonly PartitionView[];
  /** Set when the proxy could not be read for this topic: the rest of the page still shows. */
  readonly error?: string;
}

export interface DrainPartitionView {
  readonly partition: number;
  readonly nextOffset: number | null;
  /** Log end − checkpoint; null without a checkpoint or a log end. */
  readonly lag: number | null;
  readonly paused: boolean;
  readonly epoch: number | null;
  readonly lease: { readonly owner: string; readonly expiresInMs: number } | null;
  readonly lastError: string | null;
}

export interface DrainView {
  readonly id: string;
  readonly topic: string;
  readonly partitions: readonly DrainPartitionView[];
}

export interface Snapshot {
  readonly atMs: number;
  readonly topics: readonly TopicView[];
  readonly drains: readonly DrainView[];
  readonly dlqs: readonly DlqView[];
}

export const LATEST_RECORDS = 5;
/** Enough to read a webhook body at a glance; values run to a megabyte, and the page polls every second. */
export const PREVIEW_CHARS = 2_000;
const CALL_MS = 5_000;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Record bytes for the page: they are whatever a webhook sender posted, so only ever rendered as text. */
export const toShownBytes = (bytes: Uint8Array | null): ShownBytes | null => {
  if (bytes === null) return null;
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    const base64 = Buffer.from(bytes).toString('base64');
    return {
      encoding: 'base64',
      text: base64.slice(0, PREVIEW_CHARS),
      truncated: base64.length > PREVIEW_CHARS,
    };
  }
  let encoding: ShownBytes['encoding'] = 'json';
  try {
    JSON.parse(text);
  } catch {
    encoding = 'text';
  }
  return { encoding, text: text.slice(0, PREVIEW_CHARS), truncated: text.length > PREVIEW_CHARS };
};

/** As the operator commands print an error: our errors by code and message (secrets already redacted). */
export const describeError = (error: unknown): string =>
  isAppError(error) ? `${error.code}: ${error.message}` : String(error);

const readPartition = async (
  kafka: ConsoleSources['kafka'],
  topic: string,
  partition: number,
): Promise<PartitionView> => {
  const deadline = () => ({ deadlineMs: Date.now() + CALL_MS });
  const { start, end } = await kafka.logBounds(topic, partition, deadline());
  if (end <= start) return { partition, start, end, latest: [] };
  const from = Math.max(start, end - LATEST_RECORDS);
  try {
    const records = await kafka.fetch(topic, partition, from, { ...deadline(), maxRecords: LATEST_RECORDS });
    const latest = records.map((record) => ({
      offset: record.offset,
      key: toShownBytes(record.key),
      value: toShownBytes(record.value),
    }));
    return { partition, start, end, latest };
  } finally {
    // v2 reads through a consumer instance: leave none behind on the proxy between two refreshes.
    await kafka.endFetch(topic, partition, deadline());
  }
};

const readTopic = async (kafka: ConsoleSources['kafka'], name: string): Promise<TopicView> => {
  try {
    const partitions = await kafka.listPartitions(name, { deadlineMs: Date.now() + CALL_MS });
    return {
      name,
      partitions: await Promise.all(partitions.map((info) => readPartition(kafka, name, info.partition))),
    };
  } catch (error) {
    return { name, partitions: [], error: describeError(error) };
  }
};

const toDrainPartition = (
  partition: number,
  row: Checkpoint | undefined,
  logEnd: number | undefined,
  nowMs: number,
): DrainPartitionView => {
  const nextOffset = row?.nextOffset ?? null;
  const lastError = row?.lastError;
  return {
    partition,
    nextOffset,
    lag: nextOffset === null || logEnd === undefined ? null : Math.max(0, logEnd - nextOffset),
    paused: row?.paused ?? false,
    epoch: row?.epoch ?? null,
    lease:
      row?.lease === undefined
        ? null
        : { owner: row.lease.owner, expiresInMs: row.lease.expiresAtMs - nowMs },
    lastError: lastError === undefined ? null : toLastErrorText(lastError),
  };
};

/**
 * One drain's partitions: those it drains of its topic (every one the proxy lists for `all`) and any
 * that has a checkpoint row, each with its lag against the log end just read.
 */
const readDrain = async (
  sources: ConsoleSources,
  drain: ConsoleSources['drains'][number],
  topics: readonly TopicView[],
): Promise<DrainView> => {
  const rows = (await sources.store.list({ drainId: drain.id })).filter((row) => row.topic === drain.topic);
  const logs = topics.find((topic) => topic.name === drain.topic)?.partitions ?? [];
  const configured = drain.partitions === 'all' ? logs.map((log) => log.partition) : drain.partitions;
  const partitions = [...new Set([...configured, ...rows.map((row) => row.partition)])].sort((a, b) => a - b);
  const nowMs = sources.now();
  return {
    id: drain.id,
    topic: drain.topic,
    partitions: partitions.map((partition) =>
      toDrainPartition(
        partition,
        rows.find((row) => row.partition === partition),
        logs.find((log) => log.partition === partition)?.end,
        nowMs,
      ),
    ),
  };
};

/**
 * Everything the page shows: every topic's partitions with their log bounds and latest records and every
 * drain's checkpoints, read afresh, and the drains' DLQs as the panel gives them. A topic the proxy fails
 * on carries its error; a failing checkpoint table or topic listing throws (`ERR_UPSTREAM_*`, the store's
 * errors).
 */
export const readSnapshot = async (sources: ConsoleSources): Promise<Snapshot> => {
  const readLogs = async () => {
    const names = await sources.kafka.listTopics({ deadlineMs: Date.now() + CALL_MS });
    const topics = await Promise.all(names.map((name) => readTopic(sources.kafka, name)));
    return {
      topics,
      drains: await Promise.all(sources.drains.map((drain) => readDrain(sources, drain, topics))),
    };
  };
  // Side by side: the DLQs are on SQS, the rest on the proxy and the table.
  const [dlqs, { topics, drains }] = await Promise.all([sources.dlq.read(), readLogs()]);
  return { atMs: sources.now(), topics, drains, dlqs };
};
