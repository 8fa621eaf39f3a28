import { AppError, ERROR_CODES } from '../core/errors.js';
import type { KafkaRest, LogBounds } from '../kafka-rest/types.js';

export interface OffsetAtTime {
  /**
   * Where reading finds the first record stamped at or after the time first: that record's offset, or an
   * offset just below it that no record holds (compaction). `bounds.end` when no record is that recent.
   */
  readonly offset: number;
  /** Record fetches the search took (one record each), beside the one `logBounds` call. */
  readonly reads: number;
  readonly bounds: LogBounds;
}

/**
 * The first offset of a partition whose record's Kafka timestamp is at or after `atMs`, by binary search
 * over one-record fetches between the log bounds: about log2(log length) reads. Kafka's timestamps grow
 * with the offsets when the topic stamps them (`LogAppendTime`) or its producers stamp them in order; a
 * producer's clock that stepped back can make the search land past an earlier record of that time.
 *
 * Throws `ERR_CONFIG` when a record comes without a timestamp (the dialect hands out none), and what the
 * client's `fetch` and `logBounds` throw. Frees the partition's reading (`endFetch`) on every way out.
 */
export const findOffsetAtTime = async (
  kafka: Pick<KafkaRest, 'fetch' | 'logBounds' | 'endFetch'>,
  target: { readonly topic: string; readonly partition: number; readonly atMs: number },
  options: { readonly deadlineMs: number },
): Promise<OffsetAtTime> => {
  const { topic, partition, atMs } = target;
  let reads = 0;
  try {
    const bounds = await kafka.logBounds(topic, partition, options);
    // The answer lies in [low, high]; `high` is the log end until a record at or after the time is seen.
    let low = bounds.start;
    let high = bounds.end;
    while (low < high) {
      const middle = low + Math.floor((high - low) / 2);
      reads += 1;
      const [record] = await kafka.fetch(topic, partition, middle, { ...options, maxRecords: 1 });
      if (record === undefined) {
        // Nothing at or past `middle` (the end moved back under us, or only markers are left there).
        high = middle;
        continue;
      }
      if (record.timestamp === undefined) {
        throw new AppError(
          ERROR_CODES.CONFIG,
          `the proxy handed out ${topic}/${partition} offset ${record.offset} without a timestamp: this dialect cannot find an offset by time; give an offset`,
        );
      }
      // No record lies in [middle, record.offset): starting at `middle` reads the same records.
      if (record.timestamp >= atMs) high = middle;
      else low = record.offset + 1;
    }
    return { offset: low, reads, bounds };
  } finally {
    await kafka.endFetch(topic, partition, options);
  }
};
