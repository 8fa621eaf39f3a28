import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES } from '../lib/core/errors.js';
import {
  createLog,
  describeError,
  type LogLevel,
  PAYLOAD_PREVIEW_BYTES,
  toPayloadPreview,
} from '../lib/core/log.js';
import { lambdaContext } from './fixtures/api-gateway.js';
import { captureOutput, createMemoryLog, type OutputCapture } from './helpers/log.js';

describe('createLog (Powertools JSON lines on stdout)', () => {
  let out: OutputCapture;
  beforeEach(() => {
    out = captureOutput();
  });
  afterEach(() => {
    out.restore();
  });

  it('prints one JSON line with level, message, service, the Lambda context and the correlation id', () => {
    // Prepare
    const log = createLog('INFO');

    // Act
    log.startInvocation(lambdaContext(10_000, 'lambda-req-1'), 'api-req-1');
    log.info('record produced', { topic: 'demo', offset: 7 });

    // Assess
    expect(out.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'record produced',
        service: 'kafka-rest-bridge',
        timestamp: expect.any(String),
        function_request_id: 'lambda-req-1',
        function_name: 'kafka-rest-bridge-test',
        function_arn: 'arn:aws:lambda:us-east-1:123456789012:function:kafka-rest-bridge-test',
        cold_start: expect.any(Boolean),
        correlation_id: 'api-req-1',
        topic: 'demo',
        offset: 7,
      }),
    ]);
  });

  it('carries nothing of the previous invocation into the next (warm container)', () => {
    // Prepare
    const log = createLog('INFO');

    // Act
    log.startInvocation(lambdaContext(10_000, 'lambda-1'), 'first');
    log.info('one');
    log.startInvocation(lambdaContext(10_000, 'lambda-2'), 'second');
    log.info('two');

    // Assess
    expect(out.logs().map((line) => [line.message, line.function_request_id, line.correlation_id])).toEqual([
      ['one', 'lambda-1', 'first'],
      ['two', 'lambda-2', 'second'],
    ]);
  });

  it("lets a line name its own correlation id (an SQS message's), then falls back to the invocation's", () => {
    // Prepare
    const log = createLog('INFO');
    log.startInvocation(lambdaContext(10_000, 'lambda-1'), 'lambda-1');

    // Act
    log.warn('queue message not acknowledged', { correlation_id: 'message-7' });
    log.info('queue batch produced');

    // Assess
    expect(out.logs().map((line) => [line.message, line.correlation_id, line.function_request_id])).toEqual([
      ['queue message not acknowledged', 'message-7', 'lambda-1'],
      ['queue batch produced', 'lambda-1', 'lambda-1'],
    ]);
  });

  it.each<{ name: string; level: LogLevel; printed: string[]; logsPayloads: boolean }>([
    {
      name: 'DEBUG prints debug and allows payloads',
      level: 'DEBUG',
      printed: ['DEBUG', 'INFO', 'WARN', 'ERROR'],
      logsPayloads: true,
    },
    {
      name: 'INFO drops debug and payloads',
      level: 'INFO',
      printed: ['INFO', 'WARN', 'ERROR'],
      logsPayloads: false,
    },
    { name: 'ERROR prints errors only', level: 'ERROR', printed: ['ERROR'], logsPayloads: false },
  ])('$name', ({ level, printed, logsPayloads }) => {
    // Prepare
    const log = createLog(level);

    // Act
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');

    // Assess
    expect(out.logs().map((line) => line.level)).toEqual(printed);
    expect(log.logsPayloads).toBe(logsPayloads);
  });
});

describe('toPayloadPreview', () => {
  const long = Buffer.from('p'.repeat(PAYLOAD_PREVIEW_BYTES + 40));

  it.each<{ name: string; payload: Uint8Array | null; expected: { bytes: number; preview: string | null } }>([
    { name: 'null (no key, or a tombstone)', payload: null, expected: { bytes: 0, preview: null } },
    {
      name: 'short payload, whole',
      payload: Buffer.from('{"a":1}'),
      expected: { bytes: 7, preview: '{"a":1}' },
    },
    {
      name: 'long payload, cut and marked',
      payload: long,
      expected: { bytes: long.byteLength, preview: `${'p'.repeat(PAYLOAD_PREVIEW_BYTES)}…` },
    },
    {
      name: 'a view into a larger buffer: its own bytes only',
      payload: Buffer.from('xxxxhello').subarray(4),
      expected: { bytes: 5, preview: 'hello' },
    },
  ])('$name', ({ payload, expected }) => {
    expect(toPayloadPreview(payload)).toEqual(expected);
  });
});

describe('describeError', () => {
  it('keeps our own message, written to be safe', () => {
    const error = new AppError(ERROR_CODES.UPSTREAM_TIMEOUT, 'the proxy did not answer within 2000 ms');

    expect(describeError(error)).toEqual({
      name: 'AppError',
      code: 'ERR_UPSTREAM_TIMEOUT',
      message: 'the proxy did not answer within 2000 ms',
    });
  });

  it("drops a foreign error's message, which may quote the payload, and says where it was thrown", () => {
    // Prepare: Node's JSON SyntaxError quotes the text it could not parse.
    const payload = 'card 4111111111111111';
    let thrown: unknown;
    try {
      JSON.parse(payload);
    } catch (error) {
      thrown = error;
    }
    expect((thrown as Error).message).toContain('4111');

    // Act
    const described = describeError(thrown);

    // Assess
    expect(described).toMatchObject({ name: 'SyntaxError', where: expect.stringMatching(/^at /) });
    expect(JSON.stringify(described)).not.toContain('4111');
  });

  it('names a thrown non-error by its type only', () => {
    expect(describeError('secret-ish string')).toEqual({ name: 'string' });
  });
});

describe('createMemoryLog (the test double)', () => {
  it('records the invocation and the correlation id each line would carry', () => {
    const log = createMemoryLog();

    log.info('before');
    log.startInvocation?.({ awsRequestId: 'lambda-1' }, 'run-1');
    log.info('batch line');
    log.warn('message line', { correlation_id: 'message-1' });

    expect(log.invocations).toEqual([{ requestId: 'lambda-1', correlationId: 'run-1' }]);
    expect(log.lines.map((line) => [line.message, line.correlationId])).toEqual([
      ['before', undefined],
      ['batch line', 'run-1'],
      ['message line', 'message-1'],
    ]);
  });
});
