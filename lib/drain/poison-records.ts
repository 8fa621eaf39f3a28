import { type AppError, ERROR_CODES, toAppError } from '../core/errors.js';
import type { FetchedRecord } from '../kafka-rest/types.js';
import type { PartitionRunContext, Stop } from './partition-types.js';

/**
 * A record the sink will not take (rejected for good, or out of attempts): into the DLQ, or, without one,
 * where the partition stops. Undefined: the record is in the DLQ and the partition moves on; otherwise
 * why it stops.
 */
export const handlePoison = async (
  run: PartitionRunContext,
  record: FetchedRecord,
  attempts: number,
  error: AppError,
): Promise<Stop | undefined> => {
  const { drain, deadLetters, deadlineMs } = run.request;
  const where = { ...run.key, offset: record.offset, attempts, code: error.code };
  if (deadLetters === undefined) {
    return { outcome: 'stopped', error, offset: record.offset };
  }
  try {
    await deadLetters.send(
      {
        drainId: drain.id,
        id: run.recordId(record.offset),
        topic: drain.topic,
        partition: run.key.partition,
        offset: record.offset,
        key: record.key,
        value: record.value,
        attempts,
        lastError: { code: error.code, message: error.message },
      },
      { deadlineMs },
    );
  } catch (dlqError) {
    const appError = toAppError(dlqError, ERROR_CODES.SINK_FAILED, 'dead-letter queue send failed');
    run.deps.log.error('dead-letter queue send failed: partition stops at the record', {
      ...where,
      dlqCode: appError.code,
    });
    return { outcome: 'failed', error: appError, offset: record.offset };
  }
  run.counts.deadLettered += 1;
  run.deps.log.warn('poison record sent to the dead-letter queue', where);
  return undefined;
};
