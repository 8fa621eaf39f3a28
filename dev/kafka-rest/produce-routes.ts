import {
  DEFAULT_RECORD_ERROR_MESSAGES,
  internalError,
  KAFKA_REST_ERROR_CODES,
  notFound,
  partitionNotFound,
  sendBodyError,
  topicNotFound,
} from './answers.js';
import type { Exchange } from './exchange.js';
import { parseJavaInt, send } from './exchange.js';
import type { FaultAnswers } from './fault-answers.js';
import { cutOff, drop } from './fault-answers.js';
import type { FaultQueue } from './faults.js';
import type { Flavor, RecordOutcome } from './flavors.js';
import { RECORD_FAILURE_REASONS, renderProduceResponse } from './flavors.js';
import type { Lifecycle } from './lifecycle.js';
import type { AppendItem, LogStore, LogHeader as StoredLogHeader } from './log-store.js';
import { partitionForKey } from './murmur2.js';
import type { ServerSettings } from './options.js';
import type { ParsedRecord } from './produce-request.js';
import { parseProduceBody } from './produce-request.js';
import type { Route } from './routes.js';
import type { Fault } from './types.js';

/** What produce needs from the server: the log, the settings, the write-stage faults and the clock. */
export interface ProduceDeps {
  readonly store: LogStore;
  readonly settings: Pick<
    ServerSettings,
    'unknownTopic' | 'autoCreatePartitions' | 'maxRecordBytes' | 'flavor' | 'clusterId' | 'now'
  >;
  /** Appends and wakes the reads waiting for records. */
  readonly append: (topic: string, items: readonly AppendItem[]) => number[];
  readonly faults: Pick<FaultQueue, 'takeWrite'>;
  readonly faultAnswers: Pick<FaultAnswers, 'recordFails'>;
  readonly lifecycle: Pick<Lifecycle, 'sleep' | 'isClosing'>;
}

type ProduceApi = 'v1' | 'v2';

/** v1 and v2 produce over the shared log, and the record outcomes the Strimzi flavor's produce shares. */
export const createProduceHttp = (deps: ProduceDeps) => {
  const { store, append, faults, faultAnswers } = deps;
  const { unknownTopic, autoCreatePartitions, maxRecordBytes, flavor } = deps.settings;
  const { sleep, isClosing } = deps.lifecycle;

  /** A record's partition when the proxy picks it: murmur2 of the key, else per-topic round-robin. */
  const pickPartition = (topic: string, key: string | null, partitions: number): number =>
    key === null ? store.nextRoundRobin(topic) : partitionForKey(Buffer.from(key, 'base64'), partitions);

  /**
   * The outcome of each record once topic and partitions are settled: injected errors, chaos and the size
   * limit fail records alone (not written); the others are appended in request order.
   */
  const writeRecords = (
    x: Exchange,
    topic: string,
    records: readonly {
      key: string | null;
      value: string | null;
      bytes: number;
      headers?: readonly StoredLogHeader[] | undefined;
      timestamp?: number;
    }[],
    chosen: readonly number[],
  ): { outcomes: RecordOutcome[]; afterWrite: Extract<Fault, { kind: 'after-write' }> | undefined } => {
    const write = faults.takeWrite(x.method, x.path);
    const outcomes: RecordOutcome[] = new Array(records.length);
    const items: AppendItem[] = [];
    const itemIndexes: number[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as (typeof records)[number];
      const partition = chosen[i] as number;
      const injected = write.recordErrors?.errors[i];
      if (injected !== undefined) {
        outcomes[i] = {
          code: injected.code,
          message:
            injected.message ??
            DEFAULT_RECORD_ERROR_MESSAGES[injected.code] ??
            `Simulated error ${injected.code}`,
          reason: RECORD_FAILURE_REASONS.INJECTED,
          partition,
        };
      } else if (faultAnswers.recordFails()) {
        outcomes[i] = {
          code: KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR,
          message: DEFAULT_RECORD_ERROR_MESSAGES[KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR] as string,
          reason: RECORD_FAILURE_REASONS.RETRIABLE,
          partition,
        };
      } else if (r.bytes > maxRecordBytes) {
        outcomes[i] = {
          code: KAFKA_REST_ERROR_CODES.KAFKA_ERROR,
          // Kafka's RecordTooLargeException text (kafka-clients 2.x and later), which every proxy passes on.
          message: `The message is ${r.bytes} bytes when serialized which is larger than ${maxRecordBytes}, which is the value of the max.request.size configuration.`,
          reason: RECORD_FAILURE_REASONS.TOO_LARGE,
          partition,
        };
      } else {
        items.push({
          partition,
          key: r.key,
          value: r.value,
          ...(r.headers === undefined ? {} : { headers: r.headers }),
          ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
        });
        itemIndexes.push(i);
      }
    }
    const offsets = items.length === 0 ? [] : append(topic, items);
    for (let j = 0; j < items.length; j++) {
      outcomes[itemIndexes[j] as number] = {
        partition: (items[j] as AppendItem).partition,
        offset: offsets[j] as number,
      };
    }
    return { outcomes, afterWrite: write.afterWrite };
  };

  /** v1 (always Confluent's) and v2 (the server's flavor) produce: `POST /topics/{t}[/partitions/{p}]`. */
  const handleProduce = async (
    x: Exchange,
    route: Route,
    contentType: string,
    toPartition: boolean,
    api: ProduceApi,
  ): Promise<void> => {
    const dialect: Flavor = api === 'v1' ? 'confluent' : flavor;
    let pathPartition: number | undefined;
    if (toPartition) {
      pathPartition = parseJavaInt(route.partition, 32);
      if (pathPartition === undefined) return notFound(x);
    }
    // v2 accepts a per-record partition on the partition endpoint too, and it wins over the path (§6).
    const parsed = parseProduceBody(x.body, api === 'v2' || !toPartition, dialect);
    if (!parsed.ok) return sendBodyError(x, parsed.error);
    const records: readonly ParsedRecord[] = parsed.records;
    const topic = route.topic;
    const respond = (outcomes: readonly RecordOutcome[]): void => {
      const answer = renderProduceResponse(dialect, outcomes);
      send(x, answer.status, contentType, answer.body);
    };

    // A negative partition makes Confluent's producer throw synchronously: a bare 500, nothing written.
    if (dialect === 'confluent' && records.some((r) => r.partition !== null && r.partition < 0)) {
      return internalError(x);
    }

    let partitions = store.partitionCount(topic);
    if (partitions === undefined) {
      // Karapace looks the topic up before producing (§6).
      if (unknownTopic === '404' || (dialect === 'karapace' && unknownTopic !== 'auto-create')) {
        return topicNotFound(x);
      }
      if (unknownTopic === 'error-per-record') {
        // What Confluent answers once the producer's metadata wait (60 s) runs out; we skip the wait.
        return respond(
          records.map(() => ({
            code: KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR,
            message: 'Failed to update metadata after 60000 ms.',
            reason: RECORD_FAILURE_REASONS.UNKNOWN_TOPIC,
            partition: 0,
          })),
        );
      }
      store.createTopic(topic, autoCreatePartitions);
      partitions = autoCreatePartitions;
    }
    const count = partitions;
    if (pathPartition !== undefined && (pathPartition < 0 || pathPartition >= count))
      return partitionNotFound(x);
    const outOfRange = (p: number | null): boolean => p !== null && (p < 0 || p >= count);
    // Validated before anything is written, so a bad partition leaves the log untouched (all or nothing).
    if (dialect === 'confluent' && records.some((r) => outOfRange(r.partition))) return internalError(x);

    const chosen = records.map((r) => r.partition ?? pathPartition ?? pickPartition(topic, r.key, count));
    // Redpanda and Karapace fail such a record alone (Kafka's unknown partition), leaving the others.
    const valid = records.filter((r) => !outOfRange(r.partition));
    const { outcomes: written, afterWrite } = writeRecords(
      x,
      topic,
      valid,
      chosen.filter((_, i) => !outOfRange((records[i] as ParsedRecord).partition)),
    );
    let next = 0;
    const outcomes: RecordOutcome[] = records.map((r, i) =>
      outOfRange(r.partition)
        ? {
            code: KAFKA_REST_ERROR_CODES.KAFKA_ERROR,
            message: `Partition ${chosen[i]} of topic ${topic} with partition count ${count} is not present in metadata.`,
            reason: RECORD_FAILURE_REASONS.UNKNOWN_PARTITION,
            partition: chosen[i] as number,
          }
        : (written[next++] as RecordOutcome),
    );

    if (afterWrite !== undefined) {
      if (afterWrite.action === 'drop') return drop(x);
      if (afterWrite.action === 'cut') {
        const answer = renderProduceResponse(dialect, outcomes);
        const half = Math.floor(answer.body.length / 2);
        return cutOff(x, answer.status, contentType, [answer.body.slice(0, half)], 1);
      }
      await sleep(afterWrite.ms ?? 0);
      if (isClosing()) return;
    }
    respond(outcomes);
  };

  return { pickPartition, writeRecords, produce: handleProduce };
};
