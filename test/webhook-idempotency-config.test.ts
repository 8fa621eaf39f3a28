import { describe, expect, it } from 'vitest';
import { isAppError } from '../lib/core/errors.js';
import {
  type IdempotencyConfig,
  parseIdempotency,
  resolveIdempotencyKey,
} from '../lib/ingest/webhook/idempotency/index.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';
import { parseIdempotencySettings } from '../lib/wiring/settings/webhook.js';

const AT = 'WEBHOOK_ROUTES.stripe';

describe('parseIdempotency', () => {
  it.each([
    {
      name: 'header, default window, name lower-cased',
      value: { from: 'header', header: 'Webhook-Id' },
      expected: { from: 'header', header: 'webhook-id', windowSeconds: 86_400 },
    },
    {
      name: 'json-pointer with a window',
      value: { from: 'json-pointer', pointer: '/data/id', windowSeconds: 3_600 },
      expected: { from: 'json-pointer', pointer: '/data/id', windowSeconds: 3_600 },
    },
    {
      name: 'window bounds are inclusive',
      value: { from: 'header', header: 'x-github-delivery', windowSeconds: 604_800 },
      expected: { from: 'header', header: 'x-github-delivery', windowSeconds: 604_800 },
    },
    {
      name: 'escaped pointer tokens',
      value: { from: 'json-pointer', pointer: '/a~1b/~0c', windowSeconds: 60 },
      expected: { from: 'json-pointer', pointer: '/a~1b/~0c', windowSeconds: 60 },
    },
  ])('accepts $name', ({ value, expected }) => {
    const problems: string[] = [];
    expect(parseIdempotency(value, AT, problems)).toEqual(expected);
    expect(problems).toEqual([]);
  });

  it('answers undefined, with no problem, when the route sets no idempotency', () => {
    const problems: string[] = [];
    expect(parseIdempotency(undefined, AT, problems)).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it.each([
    {
      name: 'not an object',
      value: 'webhook-id',
      problems: [
        `${AT}.idempotency must be an object whose "from" is one of header | json-pointer, e.g. {"from":"header","header":"webhook-id","windowSeconds"?:86400} or {"from":"json-pointer","pointer":"/id","windowSeconds"?:86400}`,
      ],
    },
    {
      name: 'an unknown source',
      value: { from: 'query', name: 'id' },
      problems: [
        expect.stringMatching(/^WEBHOOK_ROUTES\.stripe\.idempotency must be an object whose "from"/),
      ],
    },
    {
      name: 'an unknown key (a typo)',
      value: { from: 'header', header: 'webhook-id', windowSecs: 60 },
      problems: [
        `${AT}.idempotency.windowSecs is not a setting of "from":"header": expected {"from":"header","header":"webhook-id","windowSeconds"?:86400}`,
      ],
    },
    {
      name: 'a key of the other source',
      value: { from: 'header', header: 'webhook-id', pointer: '/id' },
      problems: [expect.stringContaining(`${AT}.idempotency.pointer is not a setting of "from":"header"`)],
    },
    {
      name: 'a header that is no header name',
      value: { from: 'header', header: 'webhook id' },
      problems: [
        `${AT}.idempotency.header must be an HTTP header name: expected {"from":"header","header":"webhook-id","windowSeconds"?:86400}`,
      ],
    },
    {
      name: 'a missing pointer',
      value: { from: 'json-pointer' },
      problems: [
        `${AT}.idempotency.pointer must be a JSON pointer (RFC 6901) to a field of the body, such as "/id": expected {"from":"json-pointer","pointer":"/id","windowSeconds"?:86400}`,
      ],
    },
    {
      name: 'the empty pointer (the whole body)',
      value: { from: 'json-pointer', pointer: '' },
      problems: [expect.stringContaining(`${AT}.idempotency.pointer must be a JSON pointer`)],
    },
    {
      name: 'a pointer with a bad escape',
      value: { from: 'json-pointer', pointer: '/a~2' },
      problems: [expect.stringContaining(`${AT}.idempotency.pointer must be a JSON pointer`)],
    },
    {
      name: 'a window under a minute',
      value: { from: 'header', header: 'webhook-id', windowSeconds: 59 },
      problems: [`${AT}.idempotency.windowSeconds must be an integer from 60 to 604800 (seconds)`],
    },
    {
      name: 'a window over a week',
      value: { from: 'json-pointer', pointer: '/id', windowSeconds: 604_801 },
      problems: [`${AT}.idempotency.windowSeconds must be an integer from 60 to 604800 (seconds)`],
    },
    {
      name: 'a window as a string',
      value: { from: 'json-pointer', pointer: '/id', windowSeconds: '3600' },
      problems: [`${AT}.idempotency.windowSeconds must be an integer from 60 to 604800 (seconds)`],
    },
  ])('rejects $name, naming the path and the shape', ({ value, problems: expected }) => {
    const problems: string[] = [];
    expect(parseIdempotency(value, AT, problems)).toBeUndefined();
    expect(problems).toEqual(expected);
  });
});

describe('parseIdempotencySettings', () => {
  it('reads the table, the claim TTL and the local endpoint', () => {
    const read = createEnvReader({
      IDEMPOTENCY_TABLE: 'bridge-idempotency',
      IDEMPOTENCY_IN_PROGRESS_TTL_MS: '45000',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567',
    });
    expect(parseIdempotencySettings(read, ['stripe'])).toEqual({
      tableName: 'bridge-idempotency',
      inProgressTtlMs: 45_000,
      dynamodbEndpoint: new URL('http://127.0.0.1:4567'),
    });
    expect(read.problems).toEqual([]);
  });

  it('needs no table when no route deduplicates, and defaults the claim TTL to a minute', () => {
    const read = createEnvReader({});
    expect(parseIdempotencySettings(read, [])).toEqual({
      tableName: undefined,
      inProgressTtlMs: 60_000,
      dynamodbEndpoint: undefined,
    });
    expect(read.problems).toEqual([]);
  });

  it('requires the table once a route deduplicates, naming the routes, and checks the TTL', () => {
    const read = createEnvReader({ IDEMPOTENCY_IN_PROGRESS_TTL_MS: '10' });
    parseIdempotencySettings(read, ['stripe', 'github']);
    expect(read.problems).toEqual([
      'IDEMPOTENCY_TABLE is required when a webhook route sets "idempotency" (stripe, github): the DynamoDB table name',
      'IDEMPOTENCY_IN_PROGRESS_TTL_MS must be an integer from 1000 to 900000, got "10"',
    ]);
  });
});

describe('resolveIdempotencyKey', () => {
  const header: IdempotencyConfig = { from: 'header', header: 'webhook-id', windowSeconds: 86_400 };
  const pointer: IdempotencyConfig = { from: 'json-pointer', pointer: '/data/id', windowSeconds: 86_400 };
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  it.each([
    {
      name: 'a header, whatever its case',
      config: header,
      request: { headers: { 'Webhook-Id': 'msg_1' }, body: Buffer.alloc(0) },
      expected: 's:msg_1',
    },
    {
      name: 'a string at the pointer',
      config: pointer,
      request: { headers: {}, body: json({ data: { id: 'evt_9' } }) },
      expected: 's:evt_9',
    },
    {
      name: 'a number at the pointer',
      config: pointer,
      request: { headers: {}, body: json({ data: { id: 42 } }) },
      expected: 'n:42',
    },
    {
      name: 'a number past 2^53 by its exact source text, never rounded',
      config: pointer,
      request: { headers: {}, body: Buffer.from('{"data":{"id":9007199254740993}}') },
      expected: 'n:9007199254740993',
    },
    {
      name: 'a number as written (exponent, trailing zeros)',
      config: pointer,
      request: { headers: {}, body: Buffer.from('{"data":{"id":1.50e3 }}') },
      expected: 'n:1.50e3',
    },
    {
      name: 'a numeric string apart from the number it spells',
      config: pointer,
      request: { headers: {}, body: json({ data: { id: '42' } }) },
      expected: 's:42',
    },
    {
      name: 'the last of duplicate names, as JSON.parse reads it',
      config: pointer,
      request: { headers: {}, body: Buffer.from('{"data":{"id":1,"x":[{"id":2}],"id":3}}') },
      expected: 'n:3',
    },
    {
      name: 'past values holding brackets, quotes and nested containers',
      config: pointer,
      request: {
        headers: {},
        body: Buffer.from(
          ' { "s" : "}]\\"{[" , "n":[[1,{"a":"]"}],-2.5e-3], "data" : {"x":{},"id" : -0 } } ',
        ),
      },
      expected: 'n:-0',
    },
    {
      name: 'an escaped name and a string with escapes',
      config: { ...pointer, pointer: '/a~1b/0' },
      request: { headers: {}, body: Buffer.from('{"a\\u002fb":["evt\\"9\\u00e9"]}') },
      expected: 's:evt"9\u00e9',
    },
    {
      name: 'nothing for a route without idempotency',
      config: undefined,
      request: { headers: {}, body: Buffer.from('not json') },
      expected: undefined,
    },
  ])('resolves $name', ({ config, request, expected }) => {
    expect(resolveIdempotencyKey(config, request)).toBe(expected);
  });

  it.each([
    {
      name: 'a missing header',
      config: header,
      request: { headers: { 'webhook-timestamp': '1' }, body: Buffer.alloc(0) },
      message: 'the idempotency header webhook-id is missing or empty',
    },
    {
      name: 'an empty header',
      config: header,
      request: { headers: { 'webhook-id': '' }, body: Buffer.alloc(0) },
      message: 'the idempotency header webhook-id is missing or empty',
    },
    {
      name: 'a body that is not JSON',
      config: pointer,
      request: { headers: {}, body: Buffer.from('id=1') },
      message:
        'request body is not valid JSON, and this route takes its idempotency key from JSON pointer /data/id',
    },
    {
      name: 'nothing at the pointer',
      config: pointer,
      request: { headers: {}, body: json({ data: {} }) },
      message:
        'the idempotency key at JSON pointer /data/id must be a non-empty string or a number; found nothing',
    },
    {
      name: 'an object at the pointer',
      config: pointer,
      request: { headers: {}, body: json({ data: { id: { v: 1 } } }) },
      message:
        'the idempotency key at JSON pointer /data/id must be a non-empty string or a number; found an object',
    },
    {
      name: 'an empty string at the pointer',
      config: pointer,
      request: { headers: {}, body: json({ data: { id: '' } }) },
      message:
        'the idempotency key at JSON pointer /data/id must be a non-empty string or a number; found an empty string',
    },
    {
      name: 'a key over 1024 bytes',
      config: header,
      request: { headers: { 'webhook-id': 'x'.repeat(1_025) }, body: Buffer.alloc(0) },
      message: 'the idempotency key at header webhook-id is 1025 bytes; at most 1024 are accepted',
    },
  ])('rejects $name with ERR_PAYLOAD_INVALID naming the source', ({ config, request, message }) => {
    let thrown: unknown;
    try {
      resolveIdempotencyKey(config, request);
    } catch (error) {
      thrown = error;
    }
    expect(isAppError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', message, retriable: false });
  });
});
