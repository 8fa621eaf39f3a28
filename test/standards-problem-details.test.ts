import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES } from '../lib/core/errors.js';
import { toErrorResponse, toProblemResponse } from '../lib/ingest/webhook/respond.js';

/** RFC 9110 section 15's reason phrases: what RFC 9457 asks `title` to be for `about:blank`. */
const RFC_9110_PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const INTERNAL = 'connect ECONNREFUSED 10.0.3.7:8082 while producing to audit';

const CASES = Object.values(ERROR_CODES).flatMap((code) => [
  { name: `${code}, final`, code, retriable: false },
  { name: `${code}, retriable`, code, retriable: true },
]);

describe('webhook error answers are RFC 9457 problem details', () => {
  it.each(CASES)('$name', ({ code, retriable }) => {
    // Act
    const response = toErrorResponse(new AppError(code, INTERNAL, { retriable }), 'req-9457');

    // Assess
    const status = response.statusCode ?? 0;
    const body = JSON.parse(response.body ?? '');
    expect(response.headers?.['content-type']).toBe('application/problem+json');
    expect(body).toMatchObject({ type: 'about:blank', status, code, requestId: 'req-9457' });
    expect(body.title).toBe(RFC_9110_PHRASES[status]);
    if (status >= 500) {
      // A 5xx says nothing about the bridge's insides, in any member.
      expect(body).not.toHaveProperty('detail');
      expect(response.body).not.toContain('ECONNREFUSED');
    } else {
      expect(body.detail).toBe(INTERNAL);
    }
  });

  it('answers an unexpected failure with a bare 500 problem', () => {
    const response = toErrorResponse(new TypeError(INTERNAL), 'req-1');

    expect(JSON.parse(response.body ?? '')).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      code: 'ERR_INTERNAL',
      requestId: 'req-1',
    });
  });

  it('drops a detail handed to a 5xx problem, and keeps the headers given', () => {
    const response = toProblemResponse(
      { status: 503, code: 'ERR_DEADLINE', detail: INTERNAL, requestId: 'r' },
      { 'retry-after': '5' },
    );

    expect(response.headers).toEqual({ 'content-type': 'application/problem+json', 'retry-after': '5' });
    expect(JSON.parse(response.body ?? '')).not.toHaveProperty('detail');
  });
});
