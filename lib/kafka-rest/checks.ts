import { AppError, ERROR_CODES } from '../core/errors.js';
import { isTopicName, TOPIC_NAME_SHAPE } from '../core/names.js';
import type { ProduceHeader, ProduceRecord } from './types.js';

/** The client's checks of its callers' input: each throws `ERR_PAYLOAD_INVALID` (or `ERR_PAYLOAD_TOO_LARGE`). */

export const checkTopic = (topic: string): void => {
  if (!isTopicName(topic)) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `topic must be ${TOPIC_NAME_SHAPE}, got ${JSON.stringify(String(topic).slice(0, 64))}`,
    );
  }
};

export const checkNonNegative = (name: string, value: number): void => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `${name} must be an integer ≥ 0, got ${String(value)}`);
  }
};

export const checkRecord = (record: ProduceRecord, index: number, maxRecordBytes: number): void => {
  const { key, value, partition, headers } = record;
  if (value !== null && !(value instanceof Uint8Array)) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `record ${index}: value must be bytes (Uint8Array) or null`,
    );
  }
  if (key !== undefined && key !== null && !(key instanceof Uint8Array)) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `record ${index}: key must be bytes (Uint8Array), null or absent`,
    );
  }
  // A negative partition makes the proxy fail the whole request after earlier records were written (protocol doc §2.3).
  if (partition !== undefined && (!Number.isSafeInteger(partition) || partition < 0)) {
    throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `record ${index}: partition must be an integer ≥ 0`);
  }
  let bytes = (key?.byteLength ?? 0) + (value?.byteLength ?? 0);
  if (headers !== undefined) {
    if (!Array.isArray(headers)) {
      throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `record ${index}: headers must be a list`);
    }
    for (const header of headers as readonly ProduceHeader[]) {
      if (
        typeof header?.name !== 'string' ||
        (header.value !== null && !(header.value instanceof Uint8Array))
      ) {
        throw new AppError(
          ERROR_CODES.PAYLOAD_INVALID,
          `record ${index}: each header must be { name: string, value: bytes (Uint8Array) or null }`,
        );
      }
      bytes += Buffer.byteLength(header.name, 'utf8') + (header.value?.byteLength ?? 0);
    }
  }
  if (bytes > maxRecordBytes) {
    throw new AppError(
      ERROR_CODES.PAYLOAD_TOO_LARGE,
      `record ${index} is ${bytes} bytes (key + value${headers === undefined ? '' : ' + headers'}), over the limit of ${maxRecordBytes}`,
    );
  }
};
