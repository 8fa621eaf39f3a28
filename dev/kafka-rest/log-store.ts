import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { DevKafkaRestError } from './errors.js';

/**
 * One record as the log keeps it: key and value stay in the base64 they arrived in, because the fetch
 * endpoint answers in base64 again. Storing bytes would mean a decode on produce and an encode on every
 * fetch for nothing.
 */
export interface LogEntry {
  readonly key: string | null;
  readonly value: string | null;
  /** v3 record headers in request order (repeated names kept); absent when the record has none. */
  readonly headers?: readonly LogHeader[];
  /** The record's timestamp (epoch ms), where the produce path keeps one (Strimzi's reads show it). */
  readonly timestamp?: number;
}

export interface LogHeader {
  readonly name: string;
  /** Base64, as the v3 request carried it, or null. */
  readonly value: string | null;
}

export interface PartitionBounds {
  /** Earliest readable offset (moves up with retention). */
  readonly start: number;
  /** Next offset to be written (high watermark). */
  readonly end: number;
}

/** What one `append` call wrote to one partition, as far as the log still holds it. */
export interface Batch {
  /** First offset, never below the log start. */
  readonly start: number;
  /** Records in it. */
  readonly size: number;
}

export interface AppendItem extends LogEntry {
  readonly partition: number;
}

/** The in-memory topic → partition → log map, optionally mirrored to a data directory. */
export interface LogStore {
  /** Sorted topic names. */
  topicNames(): readonly string[];
  /** Partition count, or undefined for an unknown topic. */
  partitionCount(topic: string): number | undefined;
  /** Throws `ERR_TOPIC_EXISTS` or `ERR_INVALID_ARG`. */
  createTopic(name: string, partitions: number): void;
  /** Throws `ERR_UNKNOWN_TOPIC`. */
  deleteTopic(name: string): void;
  /** The partition a null-keyed record goes to next (per-topic round-robin, like 0.10-era clients). */
  nextRoundRobin(topic: string): number;
  /** Appends in order and returns each item's offset. Callers have checked topic and partitions. */
  append(topic: string, items: readonly AppendItem[]): number[];
  /** Up to `count` entries from `offset`; `offset` must lie within the bounds. */
  read(topic: string, partition: number, offset: number, count: number): readonly LogEntry[];
  /** The batch holding `offset`, which must lie within the log. */
  batchAt(topic: string, partition: number, offset: number): Batch;
  /** Throws `ERR_UNKNOWN_TOPIC` or `ERR_UNKNOWN_PARTITION`. */
  bounds(topic: string, partition: number): PartitionBounds;
  /** Retention: drops everything below `offset`. Throws `ERR_UNKNOWN_*` or `ERR_INVALID_ARG` (beyond the end). */
  truncateBefore(topic: string, partition: number, offset: number): void;
  /** Releases open files. */
  close(): void;
}

interface PartitionLog {
  start: number;
  entries: LogEntry[];
  /** First offset of each batch still in the log, ascending; the first is `start` while the log holds any. */
  batchStarts: number[];
  /** Append-only file descriptor, only with a data directory. */
  fd: number | undefined;
}

interface TopicState {
  readonly partitions: PartitionLog[];
  roundRobin: number;
}

interface MetaFile {
  readonly version: 1;
  readonly topics: Record<string, { readonly partitions: number; readonly logStart: readonly number[] }>;
}

/**
 * One line of a partition file. `"c":1` marks a record that continues the batch of the line before; a line
 * without it begins a batch, so a file written before batches were kept loads as one batch per record.
 * `"h"` holds the headers, only on records that have some; `"t"` the timestamp, only where one was kept.
 */
const logLine = (offset: number, entry: LogEntry, continuesBatch: boolean): string =>
  `{"o":${offset},"k":${entry.key === null ? 'null' : `"${entry.key}"`},"v":${entry.value === null ? 'null' : `"${entry.value}"`}${entry.headers === undefined ? '' : `,"h":${JSON.stringify(entry.headers)}`}${entry.timestamp === undefined ? '' : `,"t":${entry.timestamp}`}${continuesBatch ? ',"c":1' : ''}}\n`;

/** A log entry without the fields that are not the record's; `headers` and `timestamp` only when set. */
const toEntry = (
  key: string | null,
  value: string | null,
  headers: readonly LogHeader[] | undefined,
  timestamp: number | undefined,
): LogEntry => ({
  key,
  value,
  ...(headers === undefined ? {} : { headers }),
  ...(timestamp === undefined ? {} : { timestamp }),
});

/**
 * Creates the store. With `dataDir`, an existing directory is loaded first (its topics win over
 * `initialTopics` of the same name) and every append is written synchronously before it is acknowledged,
 * so an answered produce survives a restart. Throws `ERR_INVALID_ARG` for bad topics or an unreadable
 * data directory.
 */
export const createLogStore = (
  initialTopics: Readonly<Record<string, number>>,
  dataDir?: string,
): LogStore => {
  const topics = new Map<string, TopicState>();
  let sortedNames: string[] | undefined;

  const topicDir = (name: string): string =>
    // Dots are escaped too, so no topic name can become `.` or `..` on disk.
    join(dataDir as string, 'logs', encodeURIComponent(name).replaceAll('.', '%2E'));
  const partitionFile = (name: string, partition: number): string =>
    join(topicDir(name), `${partition}.jsonl`);

  const writeMeta = (): void => {
    if (dataDir === undefined) return;
    const meta: MetaFile = {
      version: 1,
      topics: Object.fromEntries(
        [...topics].map(([name, t]) => [
          name,
          { partitions: t.partitions.length, logStart: t.partitions.map((p) => p.start) },
        ]),
      ),
    };
    const path = join(dataDir, 'meta.json');
    // Rename is atomic: a crash leaves the old or the new meta, never half of one.
    writeFileSync(`${path}.tmp`, JSON.stringify(meta));
    renameSync(`${path}.tmp`, path);
  };

  const openLog = (name: string, partition: number): number | undefined => {
    if (dataDir === undefined) return undefined;
    mkdirSync(topicDir(name), { recursive: true });
    return openSync(partitionFile(name, partition), 'a');
  };

  const openLogs = (name: string): void => {
    for (const [p, log] of getTopic(name).partitions.entries()) log.fd = openLog(name, p);
  };

  const addTopic = (name: string, partitionCount: number, logStart?: readonly number[]): void => {
    const partitions: PartitionLog[] = [];
    for (let p = 0; p < partitionCount; p++) {
      partitions.push({ start: logStart?.[p] ?? 0, entries: [], batchStarts: [], fd: undefined });
    }
    topics.set(name, { partitions, roundRobin: 0 });
    sortedNames = undefined;
  };

  const getTopic = (name: string): TopicState => {
    const topic = topics.get(name);
    if (topic === undefined)
      throw new DevKafkaRestError('ERR_UNKNOWN_TOPIC', `unknown topic ${JSON.stringify(name)}`);
    return topic;
  };

  const getPartition = (name: string, partition: number): PartitionLog => {
    const log = getTopic(name).partitions[partition];
    if (log === undefined) {
      throw new DevKafkaRestError(
        'ERR_UNKNOWN_PARTITION',
        `topic ${JSON.stringify(name)} has no partition ${partition}`,
      );
    }
    return log;
  };

  const checkTopicArgs = (name: string, partitions: number): void => {
    if (typeof name !== 'string' || name === '') {
      throw new DevKafkaRestError('ERR_INVALID_ARG', 'topic name must be a non-empty string');
    }
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new DevKafkaRestError(
        'ERR_INVALID_ARG',
        `partitions of ${JSON.stringify(name)} must be a positive integer`,
      );
    }
  };

  const loadDataDir = (dir: string): void => {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const metaPath = join(dir, 'meta.json');
    if (!existsSync(metaPath)) return;
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as MetaFile;
    for (const [name, { partitions, logStart }] of Object.entries(meta.topics)) {
      addTopic(name, partitions, logStart);
      const topic = getTopic(name);
      topic.partitions.forEach((log, p) => {
        const file = partitionFile(name, p);
        if (!existsSync(file)) return;
        const lines = readFileSync(file, 'utf8').split('\n');
        for (const [i, line] of lines.entries()) {
          if (line === '') continue;
          let row: { o: number; k: string | null; v: string | null; h?: LogHeader[]; t?: number; c?: 1 };
          try {
            row = JSON.parse(line);
          } catch (error) {
            // Only the last line can be torn (a crash mid-write); that record was never acknowledged.
            if (i >= lines.length - 2) break;
            throw new DevKafkaRestError('ERR_INVALID_ARG', `corrupt log file ${file} at line ${i + 1}`, {
              cause: error,
            });
          }
          if (row.o < log.start) continue;
          if (row.o !== log.start + log.entries.length) {
            throw new DevKafkaRestError('ERR_INVALID_ARG', `gap in log file ${file} at offset ${row.o}`);
          }
          // The first record left after retention begins a batch, whichever batch it came from.
          if (row.c !== 1 || log.entries.length === 0) log.batchStarts.push(row.o);
          log.entries.push(toEntry(row.k, row.v, row.h, row.t));
        }
      });
    }
  };

  if (dataDir !== undefined) {
    try {
      loadDataDir(dataDir);
    } catch (error) {
      if (error instanceof DevKafkaRestError) throw error;
      throw new DevKafkaRestError('ERR_INVALID_ARG', `cannot load data directory ${dataDir}`, {
        cause: error,
      });
    }
  }
  for (const [name, partitions] of Object.entries(initialTopics)) {
    checkTopicArgs(name, partitions);
    if (!topics.has(name)) addTopic(name, partitions);
  }
  for (const name of topics.keys()) openLogs(name);
  writeMeta();

  return {
    topicNames: () => {
      sortedNames ??= [...topics.keys()].sort();
      return sortedNames;
    },
    partitionCount: (topic) => topics.get(topic)?.partitions.length,
    createTopic: (name, partitions) => {
      checkTopicArgs(name, partitions);
      if (topics.has(name))
        throw new DevKafkaRestError('ERR_TOPIC_EXISTS', `topic ${JSON.stringify(name)} exists`);
      addTopic(name, partitions);
      openLogs(name);
      writeMeta();
    },
    deleteTopic: (name) => {
      const topic = getTopic(name);
      for (const log of topic.partitions) if (log.fd !== undefined) closeSync(log.fd);
      topics.delete(name);
      sortedNames = undefined;
      if (dataDir !== undefined) rmSync(topicDir(name), { recursive: true, force: true });
      writeMeta();
    },
    nextRoundRobin: (name) => {
      const topic = getTopic(name);
      const partition = topic.roundRobin % topic.partitions.length;
      topic.roundRobin = (topic.roundRobin + 1) % 0x7fffffff;
      return partition;
    },
    append: (name, items) => {
      const topic = getTopic(name);
      const offsets: number[] = new Array(items.length);
      // One write per partition and request: the file order is the offset order.
      const lines = dataDir === undefined ? undefined : new Map<number, string>();
      // One batch per partition and call, as a producer sends one batch per partition and request.
      const batched = new Set<number>();
      for (const [i, item] of items.entries()) {
        const log = topic.partitions[item.partition] as PartitionLog;
        const offset = log.start + log.entries.length;
        const continuesBatch = batched.has(item.partition);
        if (!continuesBatch) {
          log.batchStarts.push(offset);
          batched.add(item.partition);
        }
        log.entries.push(toEntry(item.key, item.value, item.headers, item.timestamp));
        offsets[i] = offset;
        if (lines !== undefined) {
          const line = logLine(offset, item, continuesBatch);
          lines.set(item.partition, (lines.get(item.partition) ?? '') + line);
        }
      }
      if (lines !== undefined) {
        for (const [partition, text] of lines)
          writeSync((topic.partitions[partition] as PartitionLog).fd as number, text);
      }
      return offsets;
    },
    read: (name, partition, offset, count) => {
      const log = getPartition(name, partition);
      const from = offset - log.start;
      return log.entries.slice(from, from + count);
    },
    batchAt: (name, partition, offset) => {
      const log = getPartition(name, partition);
      const starts = log.batchStarts;
      // The last batch start at or before `offset`.
      let low = 0;
      let high = starts.length - 1;
      while (low < high) {
        const mid = (low + high + 1) >> 1;
        if ((starts[mid] as number) <= offset) low = mid;
        else high = mid - 1;
      }
      const start = starts[low] as number;
      return { start, size: (starts[low + 1] ?? log.start + log.entries.length) - start };
    },
    bounds: (name, partition) => {
      const log = getPartition(name, partition);
      return { start: log.start, end: log.start + log.entries.length };
    },
    truncateBefore: (name, partition, offset) => {
      const log = getPartition(name, partition);
      const end = log.start + log.entries.length;
      if (!Number.isInteger(offset) || offset < 0 || offset > end) {
        throw new DevKafkaRestError(
          'ERR_INVALID_ARG',
          `truncate offset must be an integer in [0, ${end}], got ${offset}`,
        );
      }
      if (offset <= log.start) return;
      log.entries.splice(0, offset - log.start);
      log.start = offset;
      // Kafka's retention drops whole segments; this one may cut a batch, whose rest then stands alone.
      const laterStarts = log.batchStarts.filter((start) => start > offset);
      log.batchStarts = log.entries.length === 0 ? [] : [offset, ...laterStarts];
      if (dataDir !== undefined && log.fd !== undefined) {
        // Rewrite the file with what is left, so the data directory does not keep what retention removed.
        closeSync(log.fd);
        const file = partitionFile(name, partition);
        const starts = new Set(log.batchStarts);
        const text = log.entries
          .map((e, i) => logLine(log.start + i, e, !starts.has(log.start + i)))
          .join('');
        writeFileSync(`${file}.tmp`, text);
        renameSync(`${file}.tmp`, file);
        log.fd = openSync(file, 'a');
        writeMeta();
      }
    },
    close: () => {
      for (const topic of topics.values()) {
        for (const log of topic.partitions) {
          if (log.fd !== undefined) closeSync(log.fd);
          log.fd = undefined;
        }
      }
    },
  };
};
