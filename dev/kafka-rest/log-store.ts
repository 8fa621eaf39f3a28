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
}

export interface PartitionBounds {
  /** Earliest readable offset (moves up with retention). */
  readonly start: number;
  /** Next offset to be written (high watermark). */
  readonly end: number;
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
      partitions.push({ start: logStart?.[p] ?? 0, entries: [], fd: undefined });
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
          let row: { o: number; k: string | null; v: string | null };
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
          log.entries.push({ key: row.k, value: row.v });
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
      for (const [i, item] of items.entries()) {
        const log = topic.partitions[item.partition] as PartitionLog;
        const offset = log.start + log.entries.length;
        log.entries.push({ key: item.key, value: item.value });
        offsets[i] = offset;
        if (lines !== undefined) {
          const line = `{"o":${offset},"k":${item.key === null ? 'null' : `"${item.key}"`},"v":${item.value === null ? 'null' : `"${item.value}"`}}\n`;
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
      if (dataDir !== undefined && log.fd !== undefined) {
        // Rewrite the file with what is left, so the data directory does not keep what retention removed.
        closeSync(log.fd);
        const file = partitionFile(name, partition);
        const text = log.entries
          .map(
            (e, i) =>
              `{"o":${log.start + i},"k":${e.key === null ? 'null' : `"${e.key}"`},"v":${e.value === null ? 'null' : `"${e.value}"`}}\n`,
          )
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
