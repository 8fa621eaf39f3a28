import { DEFAULT_RECORD_ERROR_MESSAGES, KAFKA_REST_ERROR_CODES } from './answers.js';
import type { Exchange } from './exchange.js';
import { sendError } from './exchange.js';
import { cutOff, drop } from './fault-answers.js';
import { splitJsonValues } from './json-stream.js';
import { MEDIA_TYPES } from './media-types.js';
import type { ProduceDeps } from './produce-routes.js';
import type { Route } from './routes.js';
import { parseV3Record, v3ErrorReport, v3SuccessReport } from './v3-produce.js';

export interface V3ProduceDeps extends ProduceDeps {
  /** The partition of a record that names none (v1/v2's choice, see `produce-routes.ts`). */
  readonly pickPartition: (topic: string, key: string | null, partitions: number) => number;
}

/** v3 produce (`POST [/kafka]/v3/clusters/{c}/topics/{t}/records`, protocol doc §7) over the shared log. */
export const createV3ProduceHttp = (deps: V3ProduceDeps) => {
  const { store, append, faults, faultAnswers, pickPartition } = deps;
  const { unknownTopic, autoCreatePartitions, maxRecordBytes, clusterId, now } = deps.settings;
  const { sleep, isClosing } = deps.lifecycle;

  /**
   * v3 produce (§7): the whole body is read, then each record of the stream is produced in order and its
   * delivery report streamed back (chunked, each followed by `\r\n`) under an HTTP 200 that holds even when
   * records fail. Headers count against the size limit and are kept with the record (only `records()` shows
   * them: v1 and v2 reads have no field for them).
   */
  const handleV3Produce = async (x: Exchange, route: Route): Promise<void> => {
    // Only Confluent Cloud checks the id (§7): a self-managed proxy answers to any, and reports it back.
    if (clusterId !== undefined && route.cluster !== clusterId)
      return sendError(x, 404, 404, `Cluster ${route.cluster} cannot be found.`);
    const split = splitJsonValues(x.body);
    if (split.values.length === 0) {
      if (split.error === undefined) {
        return sendError(
          x,
          422,
          KAFKA_REST_ERROR_CODES.PAYLOAD_ERROR,
          'Payload error. Request body is empty. Data is required.',
        );
      }
    }
    const topic = route.topic;
    let partitions = store.partitionCount(topic);
    if (partitions === undefined && unknownTopic === 'auto-create') {
      store.createTopic(topic, autoCreatePartitions);
      partitions = autoCreatePartitions;
    }
    const write = faults.takeWrite(x.method, x.path);
    const reports: string[] = [];
    for (const [i, text] of split.values.entries()) {
      const parsed = parseV3Record(text);
      if (!parsed.ok) {
        reports.push(v3ErrorReport(parsed.errorCode, parsed.message));
        continue;
      }
      const record = parsed.record;
      if (partitions === undefined) {
        reports.push(
          unknownTopic === '404'
            ? v3ErrorReport(KAFKA_REST_ERROR_CODES.TOPIC_NOT_FOUND, `Topic ${topic} not found.`)
            : v3ErrorReport(
                KAFKA_REST_ERROR_CODES.CONSUMER_INSTANCE_NOT_FOUND,
                'This server does not host this topic-partition.',
              ),
        );
        continue;
      }
      if (record.partition !== null && record.partition < 0) {
        reports.push(v3ErrorReport(KAFKA_REST_ERROR_CODES.PARTITION_NOT_FOUND, 'Partition not found.'));
        continue;
      }
      if (record.partition !== null && record.partition >= partitions) {
        // Kafka's UNKNOWN_TOPIC_OR_PARTITION, which the v3 proxy reports as the overloaded 40403 (§3).
        reports.push(
          v3ErrorReport(
            KAFKA_REST_ERROR_CODES.CONSUMER_INSTANCE_NOT_FOUND,
            'This server does not host this topic-partition.',
          ),
        );
        continue;
      }
      const injected = write.recordErrors?.errors[i];
      if (injected !== undefined) {
        reports.push(
          v3ErrorReport(
            injected.code,
            injected.message ??
              (injected.code === 429
                ? 'Request rate limit exceeded: the rate limit for this cluster is reached.'
                : (DEFAULT_RECORD_ERROR_MESSAGES[injected.code] ?? `Simulated error ${injected.code}`)),
          ),
        );
        continue;
      }
      if (faultAnswers.recordFails()) {
        const code = KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR;
        reports.push(v3ErrorReport(code, DEFAULT_RECORD_ERROR_MESSAGES[code] as string));
        continue;
      }
      if (record.bytes > maxRecordBytes) {
        reports.push(
          v3ErrorReport(
            413,
            `The record is ${record.bytes} bytes, larger than the maximum of ${maxRecordBytes} bytes this server accepts.`,
          ),
        );
        continue;
      }
      const key = record.key?.b64 ?? null;
      const partition = record.partition ?? pickPartition(topic, key, partitions);
      const value = record.value?.b64 ?? null;
      const [offset] = append(topic, [
        record.headers.length === 0
          ? { partition, key, value }
          : { partition, key, value, headers: record.headers },
      ]);
      reports.push(
        v3SuccessReport(
          route.cluster,
          topic,
          partition,
          offset as number,
          record.timestampMs ?? now(),
          record,
        ),
      );
    }
    // The stream broke off mid-value or held something that is not a value: one last 400, then the end.
    if (split.error !== undefined) reports.push(v3ErrorReport(400, `Payload error. ${split.error}.`));

    if (write.afterWrite !== undefined) {
      if (write.afterWrite.action === 'drop') return drop(x);
      if (write.afterWrite.action === 'cut') {
        const lines = reports.map((report) => `${report}\r\n`);
        return cutOff(x, 200, MEDIA_TYPES.JSON, lines, write.afterWrite.reports ?? 0);
      }
      await sleep(write.afterWrite.ms ?? 0);
      if (isClosing()) return;
    }
    x.res.writeHead(200, { 'content-type': MEDIA_TYPES.JSON });
    for (const report of reports) x.res.write(`${report}\r\n`);
    x.res.end();
  };

  return handleV3Produce;
};
