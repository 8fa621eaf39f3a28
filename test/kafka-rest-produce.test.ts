import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../lib/core/errors.js';
import type { TransportOutcome } from '../lib/http/transport.js';
import { createAnswerErrors } from '../lib/kafka-rest/answers.js';
import { DIALECTS } from '../lib/kafka-rest/dialects.js';
import { type AnswerContext, classifyProduceAnswer } from '../lib/kafka-rest/produce.js';

/** What an answer means per record, decided without a server: the classification is a pure function. */
const context = (flavor: 'confluent' | 'karapace' = 'confluent'): AnswerContext => ({
  topic: 'demo',
  what: 'produce to topic demo',
  wire: DIALECTS.v1.createWire({ basePath: '', flavor, v3PathPrefix: '', clusterId: '' }).produce,
  dialect: 'v1',
  errors: createAnswerErrors((text) => text.slice(0, 256)),
  nowMs: 0,
});

const reply = (status: number, body: unknown, headers: Record<string, string> = {}): TransportOutcome => ({
  ok: true,
  status,
  headers,
  body: JSON.stringify(body),
});

describe('classifyProduceAnswer', () => {
  it('acknowledges, resends and rejects each record by its own report', () => {
    // Prepare: records 4, 7 and 9 of a call, sent in that order.
    const answer = reply(200, {
      offsets: [
        { partition: 0, offset: 12 },
        { error_code: 50003, message: 'retriable' },
        { error_code: 50002, message: 'too large' },
      ],
    });

    // Act
    const verdict = classifyProduceAnswer(answer, [4, 7, 9], context());

    // Assess
    if (verdict.kind !== 'settled') throw new Error('expected a settlement');
    expect(verdict.results[0]).toEqual({ ok: true, partition: 0, offset: 12 });
    expect(verdict.results[1]).toBeUndefined();
    expect(verdict.results[2]).toMatchObject({ ok: false, error: { code: 'ERR_RECORD_REJECTED' } });
    expect(verdict.retry).toEqual([7]);
    expect(verdict.giveUp(7)).toMatchObject({ code: 'ERR_UPSTREAM_STATUS', kafkaErrorCode: 50003 });
  });

  it('resends the whole request after a 503, with its Retry-After', () => {
    // Act
    const verdict = classifyProduceAnswer(reply(503, {}, { 'retry-after': '2' }), [0, 1], context());

    // Assess
    if (verdict.kind !== 'settled') throw new Error('expected a settlement');
    expect(verdict.retry).toEqual([0, 1]);
    expect(verdict.retryAfterMs).toBe(2_000);
    expect(verdict.giveUp(0)).toBeInstanceOf(UpstreamError);
  });

  it('asks for a fresh credential on 401', () => {
    // Act
    const verdict = classifyProduceAnswer(reply(401, { error_code: 40101 }), [0], context());

    // Assess
    expect(verdict).toMatchObject({ kind: 'auth', code: 40101 });
  });

  it('reports an answer of the wrong shape without resending, counting possible duplicates', () => {
    // Act
    const verdict = classifyProduceAnswer(reply(200, { offsets: 'nope' }), [0, 1], context());

    // Assess
    if (verdict.kind !== 'settled') throw new Error('expected a settlement');
    expect(verdict.retry).toEqual([]);
    expect(verdict.possibleDuplicates).toBe(2);
    expect(verdict.results[1]).toMatchObject({ ok: false, error: { code: 'ERR_UPSTREAM_PROTOCOL' } });
  });
});
