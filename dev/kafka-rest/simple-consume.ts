import { KAFKA_REST_ERROR_CODES, notFound, partitionNotFound, topicNotFound } from './answers.js';
import type { ConsumedRecord, ConsumerFailure } from './consumer-types.js';
import { CONSUMER_ERROR_CODES, fail, isConsumerFailure } from './consumer-types.js';
import { recordBytes } from './consumers.js';
import type { Exchange } from './exchange.js';
import { firstQueryValues, parseJavaInt, send, sendError } from './exchange.js';
import type { LogStore } from './log-store.js';
import { negotiate, PRODUCES, V2_ERROR_CONTENT_TYPE } from './media-types.js';
import type { RecordWait } from './record-wait.js';
import { consumedJson, readWithWait } from './record-wait.js';
import type { Route } from './routes.js';

/**
 * Redpanda's simple consume (its handler get_topics_records; protocol doc §6):
 * `GET /topics/{t}/partitions/{p}/records?offset=N&timeout=MS&max_bytes=B`, a stateless read of one
 * partition, no consumer instance involved. Like a Kafka fetch it answers whole batches: from the first
 * offset of the batch holding `offset`, the first batch whole even when larger than `max_bytes`. Kafka's
 * errors come back as Redpanda maps them, with the Kafka error name as message.
 */

export interface SimpleConsumeDeps extends RecordWait {
  readonly store: LogStore;
  /** Server-wide `consumer.request.timeout.ms`: the longest a read at the log end waits, whatever `timeout`. */
  readonly requestTimeoutMs: number;
}

const badParameter = (message: string): ConsumerFailure =>
  fail(400, CONSUMER_ERROR_CODES.KAFKA_BAD_REQUEST, message);

const UNKNOWN_TOPIC_OR_PARTITION = fail(
  404,
  CONSUMER_ERROR_CODES.PARTITION_NOT_FOUND,
  'unknown_topic_or_partition',
);
const OFFSET_OUT_OF_RANGE = fail(400, CONSUMER_ERROR_CODES.KAFKA_BAD_REQUEST, 'offset_out_of_range');

/** Redpanda's parse_param: absent or empty is missing; not an integer of the parameter's type is invalid. */
const parseParameter = (name: string, raw: string | undefined, bits: 32 | 64): number | ConsumerFailure => {
  if (raw === undefined || raw === '') return badParameter(`Missing mandatory parameter '${name}'`);
  return parseJavaInt(raw, bits) ?? badParameter(`Invalid parameter '${name}' got '${raw}'`);
};

/** Builds the handler of `GET /topics/{t}/partitions/{p}/records`; it answers every request itself. */
export const createSimpleConsumeHttp = (deps: SimpleConsumeDeps) => {
  const { store } = deps;

  /** Whole batches from the one holding `offset`, as many as fit in `maxBytes`, the first one always. */
  const readBatches = (
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
  ): ConsumedRecord[] | ConsumerFailure => {
    const partitions = store.partitionCount(topic);
    if (partitions === undefined || partition < 0 || partition >= partitions) {
      return UNKNOWN_TOPIC_OR_PARTITION;
    }
    const { start, end } = store.bounds(topic, partition);
    if (offset < start || offset > end) return OFFSET_OUT_OF_RANGE;
    const records: ConsumedRecord[] = [];
    let bytes = 0;
    let next = offset;
    while (next < end) {
      const batch = store.batchAt(topic, partition, next);
      const entries = store.read(topic, partition, batch.start, batch.size);
      const size = entries.reduce((sum, e) => sum + recordBytes(e.key, e.value), 0);
      if (records.length > 0 && bytes + size > maxBytes) break;
      for (const [i, e] of entries.entries()) {
        records.push({ topic, partition, offset: batch.start + i, key: e.key, value: e.value });
      }
      bytes += size;
      next = batch.start + batch.size;
    }
    return records;
  };

  return async (x: Exchange, route: Route): Promise<void> => {
    const y: Exchange = { ...x, errorContentType: V2_ERROR_CONTENT_TYPE };
    const responseType = negotiate(x.accept, PRODUCES.v2BinaryRecords);
    // As the server's other binary-only endpoints: Jersey's 406, no entity and no Content-Type.
    if (responseType === undefined) return send(y, 406, undefined, undefined);
    const query = firstQueryValues(x.query);
    // Redpanda parses the path's partition first, then the query parameters in this order.
    const parameters = [
      parseParameter('partition_id', route.partition, 32),
      parseParameter('offset', query.offset, 64),
      parseParameter('timeout', query.timeout, 64),
      parseParameter('max_bytes', query.max_bytes, 32),
    ];
    const invalid = parameters.find(isConsumerFailure);
    if (invalid !== undefined) return sendError(y, invalid.status, invalid.errorCode, invalid.message);
    const [partition, offset, timeout, maxBytes] = parameters as [number, number, number, number];

    const read = await readWithWait(
      deps,
      Math.min(timeout, deps.requestTimeoutMs),
      () => readBatches(route.topic, partition, offset, maxBytes),
      (records) => records.length === 0,
    );
    if (read === undefined) return;
    if (isConsumerFailure(read)) return sendError(y, read.status, read.errorCode, read.message);
    send(y, 200, responseType, `[${read.map((r) => consumedJson(r, true)).join(',')}]`);
  };
};

const b64Json = (b64: string | null): string => (b64 === null ? 'null' : `"${b64}"`);

/**
 * v1's simple consume, `GET /topics/{t}/partitions/{p}/messages?offset=N&count=M` (protocol doc §2.5), with
 * `wholeBatches` as the `v1WholeBatches` option describes it.
 */
export const createV1MessagesHttp = (
  store: Pick<LogStore, 'partitionCount' | 'bounds' | 'batchAt' | 'read'>,
  wholeBatches: boolean,
) => {
  return (x: Exchange, route: Route, contentType: string) => {
    const partition = parseJavaInt(route.partition, 32);
    const query = firstQueryValues(x.query);
    // A missing offset reads as 0: it is a primitive `long` without a default in 2.x–5.3.
    const offset = query.offset === undefined || query.offset === '' ? 0 : parseJavaInt(query.offset, 64);
    const count = query.count === undefined || query.count === '' ? 1 : parseJavaInt(query.count, 64);
    if (partition === undefined || offset === undefined || count === undefined) return notFound(x);
    const partitions = store.partitionCount(route.topic);
    if (partitions === undefined) return topicNotFound(x);
    if (partition < 0 || partition >= partitions) return partitionNotFound(x);
    if (count <= 0) return send(x, 200, contentType, '[]');
    const { start, end } = store.bounds(route.topic, partition);
    if (offset < start || offset > end) {
      // The v1 proxy does not say which bound was crossed; clients probe (protocol doc §2.5).
      return sendError(x, 500, KAFKA_REST_ERROR_CODES.KAFKA_ERROR, 'Kafka error: OffsetOutOfRangeCode (1)');
    }
    // The old proxy's simple consumer hands back the decompressed batch from its first record.
    const from = wholeBatches && offset < end ? store.batchAt(route.topic, partition, offset).start : offset;
    const entries = store.read(route.topic, partition, from, count);
    let out = '[';
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as (typeof entries)[number];
      out += `${i === 0 ? '' : ','}{"key":${b64Json(e.key)},"value":${b64Json(e.value)},"partition":${partition},"offset":${from + i}}`;
    }
    send(x, 200, contentType, `${out}]`);
  };
};
