import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/core/errors.js';
import { parseSqsRecord, type SqsParseSettings, toBatchResponse } from '../lib/ingest/sqs.js';
import type { ItemOutcome } from '../lib/ingest/types.js';
import { sqsRecord } from './fixtures/sqs.js';

const SETTINGS: SqsParseSettings = {
  topic: 'orders',
  allowedTopics: ['audit', 'billing'],
  topicAttribute: 'topic',
  keyAttribute: 'orderId',
  encodingAttribute: 'encoding',
};

const text = (bytes: Uint8Array | null | undefined): string | null | undefined =>
  bytes === null || bytes === undefined ? bytes : Buffer.from(bytes).toString('utf8');

describe('parseSqsRecord: one SQS message → one record', () => {
  it.each([
    { name: 'a plain body, no key', body: 'héllo', options: {}, topic: 'orders', key: null, value: 'héllo' },
    {
      name: 'a base64 body (decoded to its bytes)',
      body: Buffer.from('raw bytes').toString('base64'),
      options: { attributes: { encoding: 'BASE64' } },
      topic: 'orders',
      key: null,
      value: 'raw bytes',
    },
    {
      name: 'a base64 body with line breaks',
      body: `${Buffer.from('0123456789abcdef').toString('base64').slice(0, 8)}\r\n${Buffer.from('0123456789abcdef').toString('base64').slice(8)}`,
      options: { attributes: { encoding: 'base64' } },
      topic: 'orders',
      key: null,
      value: '0123456789abcdef',
    },
    {
      name: 'another encoding value (body kept as UTF-8)',
      body: 'aGk=',
      options: { attributes: { encoding: 'identity' } },
      topic: 'orders',
      key: null,
      value: 'aGk=',
    },
    {
      name: 'the key attribute',
      body: 'b',
      options: { attributes: { orderId: 'o-1' } },
      topic: 'orders',
      key: 'o-1',
      value: 'b',
    },
    {
      name: 'a Binary key attribute',
      body: 'b',
      options: { binaryAttributes: { orderId: Buffer.from('bin-key') } },
      topic: 'orders',
      key: 'bin-key',
      value: 'b',
    },
    {
      name: 'the FIFO group as the key',
      body: 'b',
      options: { groupId: 'g-7' },
      topic: 'orders',
      key: 'g-7',
      value: 'b',
    },
    {
      name: 'the key attribute before the FIFO group',
      body: 'b',
      options: { groupId: 'g-7', attributes: { orderId: 'o-2' } },
      topic: 'orders',
      key: 'o-2',
      value: 'b',
    },
    {
      name: 'an allowed topic',
      body: 'b',
      options: { attributes: { topic: 'audit' } },
      topic: 'audit',
      key: null,
      value: 'b',
    },
    {
      name: 'the default topic named',
      body: 'b',
      options: { attributes: { topic: 'orders' } },
      topic: 'orders',
      key: null,
      value: 'b',
    },
  ])('$name', ({ body, options, topic, key, value }) => {
    // Act
    const item = parseSqsRecord(sqsRecord(body, options), SETTINGS);

    // Assess
    expect(item.ok).toBe(true);
    if (!item.ok) return;
    expect(item.topic).toBe(topic);
    expect(text(item.record.key)).toBe(key);
    expect(text(item.record.value)).toBe(value);
    expect(item.group).toBe(options.groupId);
  });

  it.each([
    {
      name: 'a topic not allowed',
      options: { attributes: { topic: 'payroll' } },
      settings: SETTINGS,
      reason: /"payroll".*not allowed/,
    },
    {
      name: 'no topic at all',
      options: {},
      settings: { ...SETTINGS, topic: undefined },
      reason: /names no topic/,
    },
    {
      name: 'invalid base64',
      options: { attributes: { encoding: 'base64' } },
      settings: SETTINGS,
      reason: /not valid base64/,
    },
    {
      name: 'a Binary topic attribute',
      options: { binaryAttributes: { topic: Buffer.from('audit') } },
      settings: SETTINGS,
      reason: /must be a String/,
    },
    // Buffer.from(…, 'base64') decodes each of these to some bytes: they must be refused, not stored.
    {
      name: 'a base64 body with a space inside',
      body: 'aGVs bG8h',
      options: { attributes: { encoding: 'base64' } },
      settings: SETTINGS,
      reason: /body is not valid base64/,
    },
    {
      name: 'a base64 body with non-zero pad bits',
      body: 'aGl=',
      options: { attributes: { encoding: 'base64' } },
      settings: SETTINGS,
      reason: /body is not valid base64/,
    },
    {
      name: 'a Binary key attribute that is not base64',
      options: { binaryValues: { orderId: '!!!!' } },
      settings: SETTINGS,
      reason: /orderId is a Binary value that is not valid base64/,
    },
    {
      name: 'a Binary key attribute in the URL-safe alphabet',
      options: { binaryValues: { orderId: '-_8=' } },
      settings: SETTINGS,
      reason: /orderId is a Binary value that is not valid base64/,
    },
  ])('rejects $name for good, with the reason', ({ body, options, settings, reason }) => {
    // Act
    const item = parseSqsRecord(sqsRecord(body ?? 'not base64!', options), settings);

    // Assess
    expect(item.ok).toBe(false);
    if (item.ok) return;
    expect(item.error.code).toBe('ERR_PAYLOAD_INVALID');
    expect(item.error.retriable).toBe(false);
    expect(item.error.message).toMatch(reason);
  });

  it('a standard queue message with a MessageGroupId (fair queue) has no order to keep', () => {
    // Prepare
    const message = sqsRecord('b');
    message.attributes.MessageGroupId = 'tenant-1';

    // Act
    const item = parseSqsRecord(message, { ...SETTINGS, keyAttribute: undefined });

    // Assess
    expect(item).toMatchObject({ ok: true, group: undefined, record: { key: null } });
  });
});

describe('toBatchResponse', () => {
  it('lists exactly the failed messages, in batch order', () => {
    // Prepare
    const error = new AppError('ERR_DEADLINE', 'late');
    const outcomes: ItemOutcome[] = [
      { ok: true, id: 'a', topic: 't', partition: 0, offset: 1 },
      { ok: false, id: 'b', topic: 't', error },
      { ok: true, id: 'c', topic: 't', partition: 0, offset: 2 },
      { ok: false, id: 'd', topic: undefined, error },
    ];

    // Act + Assess
    expect(toBatchResponse(outcomes)).toEqual({
      batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'd' }],
    });
    expect(toBatchResponse([])).toEqual({ batchItemFailures: [] });
  });
});
