import { ERROR_CODES, isAppError, UpstreamError } from '../core/errors.js';

/**
 * A 2xx answer larger than the caller lets that answer be (a produce report for the records sent, a fetch
 * within its byte budget, metadata): `ERR_UPSTREAM_PROTOCOL`. Only its first `maxBytes` were read.
 */
export class AnswerTooLargeError extends UpstreamError {
  override name = 'AnswerTooLargeError';
  readonly maxBytes: number;

  constructor(message: string, details: { readonly status: number; readonly maxBytes: number }) {
    super(ERROR_CODES.UPSTREAM_PROTOCOL, message, { status: details.status });
    this.maxBytes = details.maxBytes;
  }
}

/** Works across copies of the module, unlike `instanceof`. */
export const isAnswerTooLargeError = (value: unknown): value is AnswerTooLargeError =>
  isAppError(value) && value.name === 'AnswerTooLargeError';

/** `code` of a Node or undici error; an AggregateError (happy eyeballs, several addresses) carries its own. */
export const errorCode = (error: unknown): string | undefined => {
  const value = error as { code?: unknown; errors?: unknown[] } | undefined;
  if (typeof value?.code === 'string') return value.code;
  const first = value?.errors?.[0] as { code?: unknown } | undefined;
  return typeof first?.code === 'string' ? first.code : undefined;
};
