import { performance } from 'node:perf_hooks';
import type { ConsumedRecord, ConsumerFailure } from './consumer-types.js';
import { isConsumerFailure } from './consumer-types.js';

/** What a read that waits for records (long poll) needs from the server. */
export interface RecordWait {
  /** Resolves when records are appended anywhere, or after `ms`. */
  readonly waitForRecords: (ms: number) => Promise<void>;
  readonly isClosing: () => boolean;
}

/**
 * Reads; while the answer would be empty, waits for an append (up to `waitMs` in all) and reads again.
 * Undefined when the server closed meanwhile (nothing left to answer).
 */
export const readWithWait = async <T>(
  wait: RecordWait,
  waitMs: number,
  read: () => T | ConsumerFailure,
  isEmpty: (result: T) => boolean,
): Promise<T | ConsumerFailure | undefined> => {
  let result = read();
  const deadline = performance.now() + waitMs;
  while (!isConsumerFailure(result) && isEmpty(result)) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    await wait.waitForRecords(left);
    if (wait.isClosing()) return undefined;
    result = read();
  }
  return result;
};

export const consumedJson = (r: ConsumedRecord, withTopic: boolean): string =>
  `{${withTopic ? `"topic":${JSON.stringify(r.topic)},` : ''}"key":${r.key === null ? 'null' : `"${r.key}"`},"value":${r.value === null ? 'null' : `"${r.value}"`},"partition":${r.partition},"offset":${r.offset}}`;
