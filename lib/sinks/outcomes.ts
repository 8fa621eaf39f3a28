import { createHash } from 'node:crypto';
import { AppError, ERROR_CODES } from '../core/errors.js';
import type { DeliveryOutcome } from './types.js';

export const DELIVERED: DeliveryOutcome = Object.freeze({ ok: true });

/** A record the sink tried and failed; `permanent` only when the sink rejected the record itself. */
export const toFailedOutcome = (
  error: AppError,
  permanent: boolean,
  retryAfterMs?: number,
): DeliveryOutcome =>
  retryAfterMs === undefined
    ? { ok: false, permanent, error }
    : { ok: false, permanent, error, retryAfterMs };

/** A record never sent: always retriable, and not an attempt the drain should count. */
export const toNotAttemptedOutcome = (error: AppError): DeliveryOutcome => ({
  ok: false,
  permanent: false,
  error,
  attempted: false,
});

export const notAttemptedAfterFailure = (): AppError =>
  new AppError(ERROR_CODES.SINK_FAILED, 'not attempted: an earlier record of this ordered delivery failed', {
    retriable: true,
  });

export const deadlineReached = (): AppError =>
  new AppError(ERROR_CODES.DEADLINE, 'not attempted: the delivery deadline was reached', { retriable: true });

export const toBase64 = (bytes: Buffer | null): string | null =>
  bytes === null ? null : bytes.toString('base64');

const SQS_ID_MAX = 128;

/**
 * An SQS `MessageGroupId` of `prefix-suffix` (e.g. `topic-partition`). SQS allows at most 128 printable
 * ASCII characters; topic names ([a-zA-Z0-9._-]) always qualify. A longer or unusual prefix is shortened
 * and cleaned, and a hash of the whole prefix keeps two such prefixes apart. Deduplication ids come from
 * the record id instead (`toSqsDeduplicationId` in `record-id.ts`).
 */
export const toSqsFifoId = (prefix: string, suffix: string): string => {
  const plain = `${prefix}-${suffix}`;
  if (plain.length <= SQS_ID_MAX && !/[^\x21-\x7e]/.test(plain)) return plain;
  const hash = createHash('sha256').update(prefix).digest('hex').slice(0, 16);
  const tail = `~${hash}-${suffix}`;
  return `${prefix.replace(/[^\x21-\x7e]/g, '_').slice(0, Math.max(0, SQS_ID_MAX - tail.length))}${tail}`;
};

// SQS accepts only these characters in a message body (SendMessage API reference); valid UTF-8 with a
// NUL or another C0 control would be refused, so such values travel as base64 too.
const SQS_FORBIDDEN = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The value as text when SQS can carry it verbatim (valid UTF-8 of allowed characters), else undefined. */
export const toSqsText = (bytes: Buffer): string | undefined => {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return SQS_FORBIDDEN.test(text) ? undefined : text;
};
