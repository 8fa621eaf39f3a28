import { toBase64 } from './outcomes.js';
import { toRecordRangeId, toRecordStream } from './record-id.js';
import type { SinkRecord } from './types.js';

/** The HTTP sink's `batch` mode: runs of one record stream packed into JSON array bodies. */

/** One request to send: its body, its own headers, and the id of what it carries (record or range). */
export interface OutgoingRequest {
  readonly body: Buffer;
  readonly headers: Record<string, string>;
  readonly id: string;
}

const toBatchItem = (record: SinkRecord): string =>
  JSON.stringify({
    id: record.id,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: toBase64(record.key),
    value: toBase64(record.value),
  });

export interface BatchGroup {
  readonly records: SinkRecord[];
  /** The JSON text of each record, built once while planning. */
  readonly items: string[];
}

export const toBatchRequest = ({ records, items }: BatchGroup): OutgoingRequest => {
  const first = records[0];
  const last = records.at(-1);
  if (first === undefined || last === undefined) throw new Error('a batch request needs records');
  const id = toRecordRangeId(first.id, last.id);
  return {
    id,
    body: Buffer.from(`[${items.join(',')}]`),
    headers: {
      'content-type': 'application/json',
      'kafka-topic': first.topic,
      'kafka-partition': String(first.partition),
      'kafka-offset': String(first.offset),
      'kafka-offset-last': String(last.offset),
      'kafka-record-count': String(records.length),
      'idempotency-key': id,
    },
  };
};

/**
 * Splits the input into requests: a new one at every change of record stream (topic-partition and its
 * epoch, so the headers and the idempotency range describe one partition) and before `maxBatchBytes`
 * would be passed. A record larger than the limit on its own still goes alone: the receiver, not us,
 * decides it is too big.
 */
export const planBatches = (records: readonly SinkRecord[], maxBatchBytes: number): BatchGroup[] => {
  const groups: BatchGroup[] = [];
  let current: BatchGroup = { records: [], items: [] };
  let bytes = 2;
  for (const record of records) {
    const item = toBatchItem(record);
    // Every character of an item is ASCII (ids, topic names, digits, base64), so length = bytes; +1 for
    // the comma.
    const size = item.length + 1;
    const head = current.records[0];
    const sameStream = head !== undefined && toRecordStream(head.id) === toRecordStream(record.id);
    if (head !== undefined && (!sameStream || bytes + size > maxBatchBytes)) {
      groups.push(current);
      current = { records: [], items: [] };
      bytes = 2;
    }
    current.records.push(record);
    current.items.push(item);
    bytes += size;
  }
  if (current.records.length > 0) groups.push(current);
  return groups;
};
