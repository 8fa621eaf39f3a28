import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCliArgs } from '../dev/kafka-rest/cli-args.js';
import { DevKafkaRestError } from '../dev/kafka-rest/errors.js';
import type { KafkaRestServer, KafkaRestServerOptions } from '../dev/kafka-rest/server.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';

const V1 = 'application/vnd.kafka.v1+json';
const BINARY = 'application/vnd.kafka.binary.v1+json';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

interface Reply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

let server: KafkaRestServer | undefined;
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const start = async (options: KafkaRestServerOptions = {}): Promise<KafkaRestServer> => {
  server = await startKafkaRestServer(options);
  return server;
};

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-rest-test-'));
  dirs.push(dir);
  return dir;
};

// undici's request adds no Content-Type or Accept of its own, unlike fetch: the tests control both.
const call = async (
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; on?: KafkaRestServer } = {},
): Promise<Reply> => {
  const target = options.on ?? server;
  if (target === undefined) throw new Error('no server started');
  const response = await request(`${target.url}${path}`, {
    method: method as 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.body.text();
  const contentType = response.headers['content-type'];
  return {
    status: response.statusCode,
    contentType: Array.isArray(contentType) ? contentType[0] : contentType,
    headers: response.headers,
    text,
  };
};

const produce = (path: string, body: unknown, headers: Record<string, string> = { 'content-type': BINARY }) =>
  call('POST', path, { headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

const allRecords = (s: KafkaRestServer, topic: string, partitions: number) =>
  Array.from({ length: partitions }, (_, p) => s.records(topic, p)).flat();

describe('media-type negotiation (protocol doc §1, §2.1)', () => {
  const cases: {
    name: string;
    method: string;
    path: string;
    headers: Record<string, string>;
    status: number;
    contentType: string | undefined;
  }[] = [
    {
      name: 'metadata with no Accept → v1',
      method: 'GET',
      path: '/topics',
      headers: {},
      status: 200,
      contentType: V1,
    },
    {
      name: 'Accept application/json is echoed',
      method: 'GET',
      path: '/topics',
      headers: { accept: 'application/json' },
      status: 200,
      contentType: 'application/json',
    },
    {
      name: 'weighted Accept picks the highest q',
      method: 'GET',
      path: '/brokers',
      headers: { accept: `${V1}; q=0.8, application/vnd.kafka+json; q=0.9, application/json; q=0.7` },
      status: 200,
      contentType: 'application/vnd.kafka+json',
    },
    {
      name: '*/* → the server-preferred v1',
      method: 'GET',
      path: '/',
      headers: { accept: '*/*' },
      status: 200,
      contentType: V1,
    },
    {
      name: 'application/* → v1',
      method: 'GET',
      path: '/',
      headers: { accept: 'application/*' },
      status: 200,
      contentType: V1,
    },
    {
      name: 'q=0 excludes a type',
      method: 'GET',
      path: '/',
      headers: { accept: `${V1};q=0, application/json;q=0.5` },
      status: 200,
      contentType: 'application/json',
    },
    {
      name: 'text/plain → 406',
      method: 'GET',
      path: '/topics',
      headers: { accept: 'text/plain' },
      status: 406,
      contentType: undefined,
    },
    {
      name: 'octet-stream → 406',
      method: 'GET',
      path: '/brokers',
      headers: { accept: 'application/octet-stream' },
      status: 406,
      contentType: undefined,
    },
    {
      name: 'binary on metadata → 406',
      method: 'GET',
      path: '/topics/demo',
      headers: { accept: BINARY },
      status: 406,
      contentType: undefined,
    },
    {
      name: 'binary on the partitions resource is acceptable',
      method: 'GET',
      path: '/topics/demo/partitions/0',
      headers: { accept: BINARY },
      status: 200,
      contentType: BINARY,
    },
    {
      name: '/messages with no Accept → binary',
      method: 'GET',
      path: '/topics/demo/partitions/0/messages?offset=0',
      headers: {},
      status: 200,
      contentType: BINARY,
    },
    {
      name: '/messages with Accept v1 → v1',
      method: 'GET',
      path: '/topics/demo/partitions/0/messages?offset=0',
      headers: { accept: V1 },
      status: 200,
      contentType: V1,
    },
    {
      name: '/messages with Accept json embedded → 406',
      method: 'GET',
      path: '/topics/demo/partitions/0/messages?offset=0',
      headers: { accept: 'application/vnd.kafka.json.v1+json' },
      status: 406,
      contentType: undefined,
    },
  ];

  it.each(cases)('$name', async ({ method, path, headers, status, contentType }) => {
    // Prepare
    await start();

    // Act
    const reply = await call(method, path, { headers });

    // Assess
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe(contentType);
    if (status === 406) expect(reply.text).toBe('');
  });

  const produceCases: {
    name: string;
    path: string;
    headers: Record<string, string>;
    status: number;
    contentType: string | undefined;
  }[] = [
    {
      name: 'no Content-Type is octet-stream, accepted',
      path: '/topics/demo',
      headers: {},
      status: 200,
      contentType: V1,
    },
    {
      name: 'binary v1',
      path: '/topics/demo',
      headers: { 'content-type': BINARY },
      status: 200,
      contentType: V1,
    },
    {
      name: 'vnd.kafka.v1+json',
      path: '/topics/demo',
      headers: { 'content-type': V1 },
      status: 200,
      contentType: V1,
    },
    {
      name: 'vnd.kafka+json',
      path: '/topics/demo',
      headers: { 'content-type': 'application/vnd.kafka+json' },
      status: 200,
      contentType: V1,
    },
    {
      name: 'application/json with charset',
      path: '/topics/demo',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      status: 200,
      contentType: V1,
    },
    {
      name: 'octet-stream',
      path: '/topics/demo',
      headers: { 'content-type': 'application/octet-stream' },
      status: 200,
      contentType: V1,
    },
    {
      name: 'text/plain → 415 in the envelope',
      path: '/topics/demo',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      contentType: V1,
    },
    {
      name: 'json embedded format → 415 (binary only)',
      path: '/topics/demo',
      headers: { 'content-type': 'application/vnd.kafka.json.v1+json' },
      status: 415,
      contentType: V1,
    },
    {
      name: '415 takes its type from Accept',
      path: '/topics/demo',
      headers: { 'content-type': 'text/plain', accept: 'application/json' },
      status: 415,
      contentType: 'application/json',
    },
    {
      name: '415 is checked before 406',
      path: '/topics/demo',
      headers: { 'content-type': 'text/plain', accept: 'text/html' },
      status: 415,
      contentType: V1,
    },
    {
      name: 'gotcha: POST /topics/{t} with Accept binary only → 406',
      path: '/topics/demo',
      headers: { accept: BINARY },
      status: 406,
      contentType: undefined,
    },
    {
      name: 'POST /topics/{t}/partitions/{p} with Accept binary → binary',
      path: '/topics/demo/partitions/1',
      headers: { accept: BINARY },
      status: 200,
      contentType: BINARY,
    },
  ];

  it.each(produceCases)('produce: $name', async ({ path, headers, status, contentType }) => {
    // Prepare
    const s = await start();

    // Act
    const reply = await produce(path, { records: [{ value: b64('v') }] }, headers);

    // Assess
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe(contentType);
    if (status === 415)
      expect(JSON.parse(reply.text)).toEqual({ error_code: 415, message: 'HTTP 415 Unsupported Media Type' });
    if (status === 406) expect(reply.text).toBe('');
    expect(allRecords(s, 'demo', 3)).toHaveLength(status === 200 ? 1 : 0);
  });
});

describe('produce validation: 400 / 422, nothing written', () => {
  const cases: {
    name: string;
    path: string;
    body: string;
    status: number;
    body422?: string;
    plain?: boolean;
  }[] = [
    {
      name: 'malformed JSON → plain-text 400',
      path: '/topics/demo',
      body: '{"records":[',
      status: 400,
      plain: true,
    },
    { name: 'empty body → 400', path: '/topics/demo', body: '', status: 400, plain: true },
    { name: 'a JSON array → 400', path: '/topics/demo', body: '[]', status: 400, plain: true },
    {
      name: 'records not an array → 400',
      path: '/topics/demo',
      body: '{"records":{}}',
      status: 400,
      plain: true,
    },
    {
      name: 'a value that is an object → 400',
      path: '/topics/demo',
      body: '{"records":[{"value":{}}]}',
      status: 400,
      plain: true,
    },
    {
      name: 'a non-integer partition → 400',
      path: '/topics/demo',
      body: '{"records":[{"value":"","partition":"x"}]}',
      status: 400,
      plain: true,
    },
    {
      name: '{} → records may not be empty',
      path: '/topics/demo',
      body: '{}',
      status: 422,
      body422: 'records may not be empty',
    },
    {
      name: 'records [] → 422',
      path: '/topics/demo',
      body: '{"records":[]}',
      status: 422,
      body422: 'records may not be empty',
    },
    {
      name: 'records null → 422',
      path: '/topics/demo',
      body: '{"records":null}',
      status: 422,
      body422: 'records may not be empty',
    },
    {
      name: 'unknown top-level field',
      path: '/topics/demo',
      body: '{"records":[{"value":""}],"foo":1}',
      status: 422,
      body422: 'Unrecognized field: foo',
    },
    {
      name: 'unknown record field',
      path: '/topics/demo',
      body: '{"records":[{"value":"","headers":[]}]}',
      status: 422,
      body422: 'Unrecognized field: headers',
    },
    {
      name: 'partition on the partition endpoint, even matching',
      path: '/topics/demo/partitions/1',
      body: '{"records":[{"value":"","partition":1}]}',
      status: 422,
      body422: 'Unrecognized field: partition',
    },
    {
      name: 'over-padded base64 value',
      path: '/topics/demo',
      body: '{"records":[{"value":"aGVsbG8=="}]}',
      status: 422,
      body422: 'Record value contains invalid base64 encoding',
    },
    {
      name: 'unpadded base64 value',
      path: '/topics/demo',
      body: '{"records":[{"value":"aGVsbG8"}]}',
      status: 422,
      body422: 'Record value contains invalid base64 encoding',
    },
    {
      name: 'three padding characters',
      path: '/topics/demo',
      body: '{"records":[{"value":"A==="}]}',
      status: 422,
      body422: 'Record value contains invalid base64 encoding',
    },
    {
      name: 'padding only',
      path: '/topics/demo',
      body: '{"records":[{"value":"===="}]}',
      status: 422,
      body422: 'Record value contains invalid base64 encoding',
    },
    {
      name: 'padding in the middle',
      path: '/topics/demo',
      body: '{"records":[{"value":"AA==AA=="}]}',
      status: 422,
      body422: 'Record value contains invalid base64 encoding',
    },
    {
      name: 'url-safe alphabet value',
      path: '/topics/demo',
      body: '{"records":[{"value":"a-b_"}]}',
      status: 422,
      body422: 'Record value contains invalid base64 encoding',
    },
    {
      name: 'invalid base64 key',
      path: '/topics/demo',
      body: '{"records":[{"key":"abc","value":""}]}',
      status: 422,
      body422: 'Record key contains invalid base64 encoding',
    },
    {
      name: 'key is checked before value',
      path: '/topics/demo',
      body: '{"records":[{"value":"!!!!","key":"@@@@"}]}',
      status: 422,
      body422: 'Record key contains invalid base64 encoding',
    },
    {
      name: 'an unknown field wins over bad base64 in the same record',
      path: '/topics/demo',
      body: '{"records":[{"value":"!!!!","x":1}]}',
      status: 422,
      body422: 'Unrecognized field: x',
    },
    {
      name: 'a later bad record still rejects all',
      path: '/topics/demo',
      body: `{"records":[{"value":"${b64('ok')}"},{"value":"%%%%"}]}`,
      status: 422,
      body422: 'Record value contains invalid base64 encoding',
    },
  ];

  it.each(cases)('$name', async ({ path, body, status, body422, plain }) => {
    // Prepare
    const s = await start();

    // Act
    const reply = await produce(path, body);

    // Assess
    expect(reply.status).toBe(status);
    if (plain) {
      expect(reply.contentType).toBe('text/plain');
      expect(reply.text.length).toBeGreaterThan(0);
    } else {
      expect(JSON.parse(reply.text)).toEqual({ error_code: 422, message: body422 });
    }
    expect(allRecords(s, 'demo', 3)).toEqual([]);
  });

  it('accepts and ignores the schema fields of a binary request', async () => {
    // Prepare
    const s = await start();

    // Act
    const reply = await produce('/topics/demo/partitions/0', {
      records: [{ value: b64('x') }],
      key_schema: null,
      key_schema_id: null,
      value_schema: 'ignored',
      value_schema_id: 7,
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(s.records('demo', 0)).toHaveLength(1);
  });
});

describe('produce semantics (§2.3)', () => {
  it('answers with explicit nulls, exactly as Confluent serialises them', async () => {
    // Prepare
    await start();

    // Act
    const reply = await produce('/topics/demo', { records: [{ value: b64('a'), partition: 1 }] });

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.text).toBe(
      '{"offsets":[{"partition":1,"offset":0,"error_code":null,"error":null}],"key_schema_id":null,"value_schema_id":null}',
    );
  });

  it('assigns dense offsets per partition, in request order', async () => {
    // Prepare
    const s = await start();
    const records = [0, 1, 0, 2, 0].map((partition, i) => ({ value: b64(`v${i}`), partition }));

    // Act
    const reply = await produce('/topics/demo', { records });

    // Assess
    expect(
      JSON.parse(reply.text).offsets.map((o: { partition: number; offset: number }) => [
        o.partition,
        o.offset,
      ]),
    ).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [2, 0],
      [0, 2],
    ]);
    expect(s.records('demo', 0).map((r) => r.value?.toString())).toEqual(['v0', 'v2', 'v4']);
  });

  it('keeps tombstones and absent keys as null, and an empty value as empty bytes', async () => {
    // Prepare
    const s = await start();

    // Act
    await produce('/topics/demo/partitions/0', {
      records: [
        { key: b64('k1'), value: null },
        { key: b64('k2') },
        { value: '' },
        { key: null, value: b64('v') },
      ],
    });
    const fetched = await call('GET', '/topics/demo/partitions/0/messages?offset=0&count=10');

    // Assess
    expect(s.records('demo', 0)).toEqual([
      { offset: 0, key: Buffer.from('k1'), value: null },
      { offset: 1, key: Buffer.from('k2'), value: null },
      { offset: 2, key: null, value: Buffer.alloc(0) },
      { offset: 3, key: null, value: Buffer.from('v') },
    ]);
    expect(JSON.parse(fetched.text)).toEqual([
      { key: b64('k1'), value: null, partition: 0, offset: 0 },
      { key: b64('k2'), value: null, partition: 0, offset: 1 },
      { key: null, value: '', partition: 0, offset: 2 },
      { key: null, value: b64('v'), partition: 0, offset: 3 },
    ]);
  });

  // Partitions derived from Kafka's own murmur2 vectors, independent of our implementation.
  it.each([
    { name: 'foobar', key: 'foobar', hash: -790332482 },
    { name: '21', key: '21', hash: -973932308 },
    { name: 'abc', key: 'abc', hash: 479470107 },
    { name: 'a-little-bit-long-string', key: 'a-little-bit-long-string', hash: -985981536 },
  ])('partitions key $name like Kafka’s default partitioner', async ({ key, hash }) => {
    // Prepare
    const s = await start({ topics: { seven: 7 } });

    // Act
    const reply = await produce('/topics/seven', { records: [{ key: b64(key), value: b64('x') }] });

    // Assess
    const expected = (hash & 0x7fffffff) % 7;
    expect(JSON.parse(reply.text).offsets[0].partition).toBe(expected);
    expect(s.records('seven', expected)[0]?.key?.toString()).toBe(key);
  });

  it('round-robins null-keyed records across partitions', async () => {
    // Prepare
    await start();

    // Act
    const first = await produce('/topics/demo', {
      records: [{ value: '' }, { value: '' }, { value: '' }, { value: '' }],
    });
    const second = await produce('/topics/demo', { records: [{ value: '' }, { value: '' }] });

    // Assess
    const partitions = [first, second].flatMap((r) =>
      JSON.parse(r.text).offsets.map((o: { partition: number }) => o.partition),
    );
    expect(partitions).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it.each([
    { name: 'negative', partition: -1 },
    { name: 'equal to the count', partition: 3 },
    { name: 'far out of range', partition: 1000 },
  ])(
    'a $name partition on POST /topics/{t} → 500 and nothing written, not even earlier records',
    async ({ partition }) => {
      // Prepare
      const s = await start();

      // Act
      const reply = await produce('/topics/demo', {
        records: [
          { value: b64('first'), partition: 0 },
          { value: '', partition },
        ],
      });

      // Assess
      expect(reply.status).toBe(500);
      expect(JSON.parse(reply.text)).toEqual({ error_code: 500, message: 'Internal Server Error' });
      expect(allRecords(s, 'demo', 3)).toEqual([]);
    },
  );

  it.each([
    {
      name: 'beyond the count',
      path: '/topics/demo/partitions/3',
      status: 404,
      body: { error_code: 40402, message: 'Partition not found.' },
    },
    {
      name: 'negative',
      path: '/topics/demo/partitions/-1',
      status: 404,
      body: { error_code: 40402, message: 'Partition not found.' },
    },
    {
      name: 'not an integer',
      path: '/topics/demo/partitions/one',
      status: 404,
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    {
      name: 'beyond int32',
      path: '/topics/demo/partitions/2147483648',
      status: 404,
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
  ])('POST to a partition $name → $status', async ({ path, status, body }) => {
    // Prepare
    const s = await start();

    // Act
    const reply = await produce(path, { records: [{ value: '' }] });

    // Assess
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.text)).toEqual(body);
    expect(allRecords(s, 'demo', 3)).toEqual([]);
  });

  it('validates the body before checking the partition (Jersey reads the entity first)', async () => {
    // Prepare
    await start();

    // Act
    const reply = await produce('/topics/demo/partitions/9', { records: [] });

    // Assess
    expect(reply.status).toBe(422);
  });

  describe.each([
    { name: '404 (default)', mode: undefined },
    { name: '404', mode: '404' as const },
  ])('unknown topic, mode $name', ({ mode }) => {
    it.each(['/topics/nope', '/topics/nope/partitions/0'])(
      '%s → 404/40401, nothing created',
      async (path) => {
        // Prepare
        const s = await start(mode === undefined ? {} : { unknownTopic: mode });

        // Act
        const reply = await produce(path, { records: [{ value: '' }] });

        // Assess
        expect(reply.status).toBe(404);
        expect(JSON.parse(reply.text)).toEqual({ error_code: 40401, message: 'Topic not found.' });
        expect(JSON.parse((await call('GET', '/topics', { on: s })).text)).toEqual(['demo']);
      },
    );
  });

  it('auto-creates an unknown topic with autoCreatePartitions partitions', async () => {
    // Prepare
    const s = await start({ unknownTopic: 'auto-create', autoCreatePartitions: 2 });

    // Act
    const reply = await produce('/topics/fresh/partitions/1', { records: [{ value: b64('x') }] });
    const outOfRange = await produce('/topics/fresh/partitions/2', { records: [{ value: b64('x') }] });

    // Assess
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).offsets[0]).toEqual({
      partition: 1,
      offset: 0,
      error_code: null,
      error: null,
    });
    expect(JSON.parse((await call('GET', '/topics')).text)).toEqual(['demo', 'fresh']);
    expect(s.records('fresh', 1)).toHaveLength(1);
    expect(outOfRange.status).toBe(404);
    expect(JSON.parse(outOfRange.text).error_code).toBe(40402);
  });

  it('error-per-record: 200 with a retriable 50003 on every record, topic not created', async () => {
    // Prepare
    await start({ unknownTopic: 'error-per-record' });

    // Act
    const reply = await produce('/topics/nope', { records: [{ value: '' }, { value: '' }] });

    // Assess
    expect(reply.status).toBe(200);
    const offsets = JSON.parse(reply.text).offsets;
    expect(offsets).toHaveLength(2);
    for (const o of offsets) {
      expect(o).toEqual({
        partition: null,
        offset: null,
        error_code: 50003,
        error: expect.stringContaining('metadata'),
      });
    }
    expect(JSON.parse((await call('GET', '/topics')).text)).toEqual(['demo']);
  });

  it('fails only the records over maxRecordBytes (key + value), with 50002 and HTTP 200', async () => {
    // Prepare: a limit of 10 bytes.
    const s = await start({ maxRecordBytes: 10 });
    const ten = b64('0123456789');
    const eleven = b64('0123456789A');

    // Act
    const reply = await produce('/topics/demo/partitions/0', {
      records: [{ value: ten }, { value: eleven }, { key: b64('k'), value: ten }, { value: b64('ok') }],
    });

    // Assess
    expect(reply.status).toBe(200);
    const offsets = JSON.parse(reply.text).offsets;
    expect(offsets[0]).toEqual({ partition: 0, offset: 0, error_code: null, error: null });
    expect(offsets[1]).toMatchObject({ partition: null, offset: null, error_code: 50002 });
    expect(offsets[1].error).toContain('11 bytes');
    expect(offsets[2]).toMatchObject({ partition: null, offset: null, error_code: 50002 });
    expect(offsets[3]).toEqual({ partition: 0, offset: 1, error_code: null, error: null });
    expect(s.records('demo', 0).map((r) => r.value?.toString())).toEqual(['0123456789', 'ok']);
  });
});

describe('simple consume: GET /topics/{t}/partitions/{p}/messages (§2.4)', () => {
  // Partition 0 holds offsets 0..4 with the log start moved to 2 (retention); partition 1 holds 0..2.
  const seed = async (): Promise<KafkaRestServer> => {
    const s = await start();
    s.append(
      'demo',
      0,
      [0, 1, 2, 3, 4].map((i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) })),
    );
    s.truncateBefore('demo', 0, 2);
    s.append(
      'demo',
      1,
      [0, 1, 2].map((i) => ({ value: Buffer.from(`w${i}`) })),
    );
    return s;
  };

  const ok: { name: string; query: string; partition?: number; offsets: number[] }[] = [
    { name: 'count defaults to 1', query: 'offset=2', offsets: [2] },
    { name: 'count beyond what exists returns what exists', query: 'offset=3&count=100', offsets: [3, 4] },
    { name: 'no cap on count', query: 'offset=2&count=9223372036854775807', offsets: [2, 3, 4] },
    { name: 'offset at the log end → []', query: 'offset=5&count=10', offsets: [] },
    { name: 'count 0 → []', query: 'offset=2&count=0', offsets: [] },
    { name: 'negative count → []', query: 'offset=2&count=-4', offsets: [] },
    { name: 'count ≤ 0 wins over an out-of-range offset', query: 'offset=99&count=0', offsets: [] },
    { name: 'a missing offset reads as 0', query: 'count=2', partition: 1, offsets: [0, 1] },
    { name: 'an empty offset reads as 0', query: 'offset=&count=3', partition: 1, offsets: [0, 1, 2] },
  ];

  it.each(ok)('$name', async ({ query, partition = 0, offsets }) => {
    // Prepare
    await seed();

    // Act
    const reply = await call('GET', `/topics/demo/partitions/${partition}/messages?${query}`, {
      headers: { accept: BINARY },
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(BINARY);
    const records = JSON.parse(reply.text) as { offset: number; partition: number }[];
    expect(records.map((r) => r.offset)).toEqual(offsets);
    for (const r of records) expect(r.partition).toBe(partition);
  });

  const errors: { name: string; path: string; status: number; body: object }[] = [
    {
      name: 'offset past the log end',
      path: '/topics/demo/partitions/0/messages?offset=6',
      status: 500,
      body: { error_code: 50002 },
    },
    {
      name: 'offset below the log start (retention)',
      path: '/topics/demo/partitions/0/messages?offset=1',
      status: 500,
      body: { error_code: 50002 },
    },
    {
      name: 'a missing offset below the log start',
      path: '/topics/demo/partitions/0/messages',
      status: 500,
      body: { error_code: 50002 },
    },
    {
      name: 'negative offset',
      path: '/topics/demo/partitions/1/messages?offset=-1',
      status: 500,
      body: { error_code: 50002 },
    },
    {
      name: 'unknown topic',
      path: '/topics/nope/partitions/0/messages?offset=0',
      status: 404,
      body: { error_code: 40401, message: 'Topic not found.' },
    },
    {
      name: 'unknown partition',
      path: '/topics/demo/partitions/3/messages?offset=0',
      status: 404,
      body: { error_code: 40402, message: 'Partition not found.' },
    },
    {
      name: 'negative partition',
      path: '/topics/demo/partitions/-1/messages?offset=0',
      status: 404,
      body: { error_code: 40402, message: 'Partition not found.' },
    },
    {
      name: 'offset not an integer',
      path: '/topics/demo/partitions/0/messages?offset=abc',
      status: 404,
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    {
      name: 'count not an integer',
      path: '/topics/demo/partitions/0/messages?offset=2&count=1.5',
      status: 404,
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    {
      name: 'offset beyond int64',
      path: '/topics/demo/partitions/0/messages?offset=9223372036854775808',
      status: 404,
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    {
      name: 'partition not an integer',
      path: '/topics/demo/partitions/x/messages?offset=0',
      status: 404,
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
  ];

  it.each(errors)('$name → $status', async ({ path, status, body }) => {
    // Prepare
    await seed();

    // Act
    const reply = await call('GET', path);

    // Assess
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.text)).toMatchObject(body);
  });

  it('says "Kafka error:" and the fetch error number 1 when the offset is out of range', async () => {
    // Prepare
    await seed();

    // Act
    const reply = await call('GET', '/topics/demo/partitions/0/messages?offset=0');

    // Assess
    const { message } = JSON.parse(reply.text) as { message: string };
    expect(message.startsWith('Kafka error: ')).toBe(true);
    expect(message).toContain('(1)');
  });

  it('returns records with exactly key, value, partition and offset, base64 intact', async () => {
    // Prepare
    const s = await start();
    const bytes = Buffer.from([0, 255, 128, 10, 13]);
    s.append('demo', 2, [{ key: bytes, value: bytes }]);

    // Act
    const reply = await call('GET', '/topics/demo/partitions/2/messages?offset=0');

    // Assess
    expect(reply.text).toBe(
      `[{"key":"${bytes.toString('base64')}","value":"${bytes.toString('base64')}","partition":2,"offset":0}]`,
    );
  });
});

describe('v1WholeBatches: v1 reads over compressed batches (IBM Message Hub, CP 2.x)', () => {
  // Partition 0: a 5-record batch (offsets 0..4) from one produce request, then a 3-record one (5..7).
  const seed = async (options: KafkaRestServerOptions): Promise<void> => {
    await start(options);
    for (const values of [
      ['a', 'b', 'c', 'd', 'e'],
      ['f', 'g', 'h'],
    ]) {
      const reply = await produce('/topics/demo/partitions/0', {
        records: values.map((v) => ({ value: b64(v) })),
      });
      expect(reply.status).toBe(200);
    }
  };
  const offsetsOf = async (query: string): Promise<number[]> => {
    const reply = await call('GET', `/topics/demo/partitions/0/messages?${query}`, {
      headers: { accept: BINARY },
    });
    expect(reply.status).toBe(200);
    return (JSON.parse(reply.text) as { offset: number }[]).map((r) => r.offset);
  };

  it.each([
    {
      name: 'from the batch start, count counted from there',
      query: 'offset=3&count=4',
      offsets: [0, 1, 2, 3],
    },
    { name: 'cut by count before the offset', query: 'offset=3&count=2', offsets: [0, 1] },
    {
      name: 'a count past the batch runs into the next one',
      query: 'offset=4&count=7',
      offsets: [0, 1, 2, 3, 4, 5, 6],
    },
    { name: 'an offset in the second batch', query: 'offset=6&count=2', offsets: [5, 6] },
    { name: 'the log end answers nothing', query: 'offset=8&count=5', offsets: [] },
  ])('$name', async ({ query, offsets }) => {
    // Prepare
    await seed({ v1WholeBatches: true });

    // Act, Assess
    expect(await offsetsOf(query)).toEqual(offsets);
  });

  it('never answers below the log start when retention cut a batch', async () => {
    // Prepare
    await seed({ v1WholeBatches: true });
    (server as KafkaRestServer).truncateBefore('demo', 0, 2);

    // Act, Assess
    expect(await offsetsOf('offset=3&count=2')).toEqual([2, 3]);
  });

  it('is off by default: the answer starts at the offset', async () => {
    // Prepare
    await seed({});

    // Act, Assess
    expect(await offsetsOf('offset=3&count=2')).toEqual([3, 4]);
  });

  it('rejects a non-boolean', async () => {
    await expect(start({ v1WholeBatches: 'yes' as unknown as boolean })).rejects.toThrow(/v1WholeBatches/);
  });
});

describe('metadata and HTTP-layer errors (§1, §2.2)', () => {
  it('GET / → {}', async () => {
    await start();
    const reply = await call('GET', '/');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('{}');
  });

  it('lists topic names sorted', async () => {
    // Prepare
    const s = await start({ topics: { zeta: 1, demo: 1 } });
    s.createTopic('alpha', 2);

    // Act
    const reply = await call('GET', '/topics');

    // Assess
    expect(JSON.parse(reply.text)).toEqual(['alpha', 'demo', 'zeta']);
  });

  it('describes a topic and its partitions', async () => {
    // Prepare
    await start({ topics: { two: 2 } });
    const partition = (p: number) => ({
      partition: p,
      leader: 0,
      replicas: [{ broker: 0, leader: true, in_sync: true }],
    });

    // Act
    const topic = await call('GET', '/topics/two');
    const partitions = await call('GET', '/topics/two/partitions');
    const one = await call('GET', '/topics/two/partitions/1');
    const brokers = await call('GET', '/brokers');

    // Assess
    expect(JSON.parse(topic.text)).toEqual({
      name: 'two',
      configs: {},
      partitions: [partition(0), partition(1)],
    });
    expect(JSON.parse(partitions.text)).toEqual([partition(0), partition(1)]);
    expect(JSON.parse(one.text)).toEqual(partition(1));
    expect(JSON.parse(brokers.text)).toEqual({ brokers: [0] });
  });

  it.each([
    { name: 'unknown topic', path: '/topics/nope', body: { error_code: 40401, message: 'Topic not found.' } },
    {
      name: 'partitions of an unknown topic',
      path: '/topics/nope/partitions',
      body: { error_code: 40401, message: 'Topic not found.' },
    },
    {
      name: 'unknown partition',
      path: '/topics/demo/partitions/3',
      body: { error_code: 40402, message: 'Partition not found.' },
    },
    {
      name: 'non-integer partition',
      path: '/topics/demo/partitions/abc',
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    { name: 'unknown path', path: '/nope', body: { error_code: 404, message: 'HTTP 404 Not Found' } },
    {
      name: 'too deep',
      path: '/topics/demo/partitions/0/messages/x',
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    {
      name: 'wrong sub-resource',
      path: '/topics/demo/offsets',
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    {
      name: 'empty segment',
      path: '/topics//partitions',
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
    {
      name: 'bad percent-encoding',
      path: '/topics/%E0%A4%A',
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
  ])('GET $name → 404', async ({ path, body }) => {
    await start();
    const reply = await call('GET', path);
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toEqual(body);
  });

  it.each([
    { method: 'DELETE', path: '/topics/demo', allow: 'GET, POST, HEAD, OPTIONS' },
    { method: 'PUT', path: '/', allow: 'GET, HEAD, OPTIONS' },
    { method: 'POST', path: '/brokers', allow: 'GET, HEAD, OPTIONS' },
    { method: 'POST', path: '/topics/demo/partitions', allow: 'GET, HEAD, OPTIONS' },
    { method: 'POST', path: '/topics/demo/partitions/0/messages', allow: 'GET, HEAD, OPTIONS' },
  ])('$method $path → 405', async ({ method, path, allow }) => {
    await start();
    const reply = await call(method, path, method === 'DELETE' ? {} : { body: '{}' });
    expect(reply.status).toBe(405);
    expect(JSON.parse(reply.text)).toEqual({ error_code: 405, message: 'HTTP 405 Method Not Allowed' });
    expect(reply.headers.allow).toBe(allow);
  });

  it('decodes percent-encoded topic names and tolerates a trailing slash', async () => {
    // Prepare
    const s = await start({ topics: { 'my.topic-1': 1 } });

    // Act
    const produced = await produce('/topics/my%2Etopic-1/', { records: [{ value: b64('x') }] });

    // Assess
    expect(produced.status).toBe(200);
    expect(s.records('my.topic-1', 0)).toHaveLength(1);
  });

  it('answers HEAD like GET without a body', async () => {
    await start();
    const reply = await call('HEAD', '/topics');
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(V1);
    expect(reply.text).toBe('');
  });
});

describe('X-Auth-Token (IBM Message Hub)', () => {
  const KEY = 'k-3f9a2c71e0b84d5e9a1c6b2d8f047e53c9a1b2d3e4f5a6b7';

  it.each([
    { name: 'no header', headers: {} as Record<string, string> },
    { name: 'a wrong key', headers: { 'x-auth-token': 'wrong' } },
    { name: 'the key with a suffix', headers: { 'x-auth-token': `${KEY}x` } },
  ])('rejects $name with 401/40101 and never echoes the key', async ({ headers }) => {
    // Prepare
    const s = await start({ apiKey: KEY });

    // Act
    const reply = await produce('/topics/demo', { records: [{ value: '' }] }, headers);

    // Assess
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.text)).toMatchObject({ error_code: 40101 });
    expect(reply.text).not.toContain(KEY);
    expect(allRecords(s, 'demo', 3)).toEqual([]);
  });

  it('accepts the right key, even on unknown paths (gateway first, then 404)', async () => {
    // Prepare
    await start({ apiKey: KEY });

    // Act
    const reply = await call('GET', '/topics', { headers: { 'x-auth-token': KEY } });
    const missing = await call('GET', '/nope', { headers: { 'x-auth-token': KEY } });
    const missingNoKey = await call('GET', '/nope');

    // Assess
    expect(reply.status).toBe(200);
    expect(missing.status).toBe(404);
    expect(missingNoKey.status).toBe(401);
  });

  it('rotates the key with setApiKey, and drops the check with undefined', async () => {
    // Prepare
    const s = await start({ apiKey: KEY });

    // Act
    s.setApiKey('new-key');
    const oldKey = await call('GET', '/topics', { headers: { 'x-auth-token': KEY } });
    const newKey = await call('GET', '/topics', { headers: { 'x-auth-token': 'new-key' } });
    s.setApiKey(undefined);
    const none = await call('GET', '/topics');

    // Assess
    expect([oldKey.status, newKey.status, none.status]).toEqual([401, 200, 200]);
  });
});

describe('fault injection', () => {
  const one = { records: [{ value: b64('x'), partition: 0 }] };

  it('status: the default envelope, `times` requests, then normal again', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'status', status: 503, times: 2 });

    // Act
    const replies = [
      await produce('/topics/demo', one),
      await produce('/topics/demo', one),
      await produce('/topics/demo', one),
    ];

    // Assess
    expect(replies.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(JSON.parse(replies[0]?.text ?? '')).toEqual({ error_code: 503, message: 'Service Unavailable' });
    expect(s.records('demo', 0)).toHaveLength(1);
    expect(s.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
  });

  it('status: a custom object body and headers', async () => {
    // Prepare
    await start();
    (server as KafkaRestServer).inject({
      kind: 'status',
      status: 500,
      body: { error_code: 50003, message: 'retry me' },
      headers: { 'X-Extra': 'yes' },
    });

    // Act
    const reply = await call('GET', '/topics');

    // Assess
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.text)).toEqual({ error_code: 50003, message: 'retry me' });
    expect(reply.headers['x-extra']).toBe('yes');
  });

  it('status: a string body goes out as text unless a Content-Type is given', async () => {
    // Prepare
    const s = await start();
    s.inject({
      kind: 'status',
      status: 502,
      body: '<html>bad gateway</html>',
      headers: { 'Content-Type': 'text/html' },
    });
    s.inject({ kind: 'status', status: 504, body: 'gateway timeout' });

    // Act
    const html = await call('GET', '/');
    const text = await call('GET', '/');

    // Assess
    expect([html.status, html.contentType, html.text]).toEqual([
      502,
      'text/html',
      '<html>bad gateway</html>',
    ]);
    expect([text.status, text.contentType, text.text]).toEqual([504, 'text/plain', 'gateway timeout']);
  });

  it('matches by method and by path (string or RegExp), leaving other requests alone', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'status', status: 418, match: { method: 'post', path: /^\/topics\/demo$/ } });
    s.inject({ kind: 'status', status: 419, match: { path: '/brokers' } });

    // Act
    const get = await call('GET', '/topics/demo');
    const otherPost = await produce('/topics/demo/partitions/0', { records: [{ value: '' }] });
    const post = await produce('/topics/demo', one);
    const brokers = await call('GET', '/brokers');

    // Assess
    expect([get.status, otherPost.status, post.status, brokers.status]).toEqual([200, 200, 418, 419]);
  });

  it('throttle: 429 with Retry-After, nothing written', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'throttle', retryAfterSeconds: 7 });

    // Act
    const reply = await produce('/topics/demo', one);

    // Assess
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('7');
    expect(s.records('demo', 0)).toEqual([]);
  });

  it('faults come before the auth check, like a gateway in front of it', async () => {
    // Prepare
    const s = await start({ apiKey: 'secret' });
    s.inject({ kind: 'throttle', retryAfterSeconds: 1 });

    // Act
    const reply = await call('GET', '/topics');

    // Assess
    expect(reply.status).toBe(429);
  });

  it('drop: the connection closes without an answer and nothing is written', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'drop' });

    // Act
    const dropped = produce('/topics/demo', one);

    // Assess
    await expect(dropped).rejects.toThrow();
    expect(s.records('demo', 0)).toEqual([]);
    expect((await produce('/topics/demo', one)).status).toBe(200);
  });

  it('delay: the request waits, then is handled normally', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'delay', ms: 300 });

    // Act
    const pending = produce('/topics/demo', one);
    await vi.waitFor(() => expect(s.requests).toHaveLength(1), { interval: 5, timeout: 5_000 });

    // Assess: received but not yet handled, then handled.
    expect(s.records('demo', 0)).toEqual([]);
    expect((await pending).status).toBe(200);
    expect(s.records('demo', 0)).toHaveLength(1);
  });

  it('record-errors: the listed records fail alone and are not written; offsets stay dense', async () => {
    // Prepare
    const s = await start();
    s.inject({
      kind: 'record-errors',
      errors: { 1: { code: 50003 }, 3: { code: 50002, message: 'too big' } },
    });
    const records = [0, 1, 2, 3].map((i) => ({ value: b64(`v${i}`), partition: 0 }));

    // Act
    const reply = await produce('/topics/demo', { records });

    // Assess
    expect(reply.status).toBe(200);
    const offsets = JSON.parse(reply.text).offsets;
    expect(offsets[0]).toEqual({ partition: 0, offset: 0, error_code: null, error: null });
    expect(offsets[1]).toMatchObject({ partition: null, offset: null, error_code: 50003 });
    expect(typeof offsets[1].error).toBe('string');
    expect(offsets[2]).toEqual({ partition: 0, offset: 1, error_code: null, error: null });
    expect(offsets[3]).toEqual({ partition: null, offset: null, error_code: 50002, error: 'too big' });
    expect(s.records('demo', 0).map((r) => r.value?.toString())).toEqual(['v0', 'v2']);
  });

  it('record-errors: 40101 on a record turns the answer into HTTP 401 with the same body (CP 5.x)', async () => {
    // Prepare
    await start();
    (server as KafkaRestServer).inject({ kind: 'record-errors', errors: { 0: { code: 40101 } } });

    // Act
    const reply = await produce('/topics/demo', { records: [{ value: '' }, { value: '' }] });

    // Assess
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.text).offsets.map((o: { error_code: number | null }) => o.error_code)).toEqual([
      40101,
      null,
    ]);
  });

  it('record-errors wait for a produce: GETs and rejected bodies do not use them up', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'record-errors', errors: { 0: { code: 50003 } } });

    // Act
    await call('GET', '/topics');
    await produce('/topics/demo', { records: [] });
    const reply = await produce('/topics/demo', one);
    const next = await produce('/topics/demo', one);

    // Assess
    expect(JSON.parse(reply.text).offsets[0].error_code).toBe(50003);
    expect(JSON.parse(next.text).offsets[0].error_code).toBeNull();
  });

  it('after-write drop: the records are written but the client gets no answer (ambiguous)', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'after-write', action: 'drop' });

    // Act
    const dropped = produce('/topics/demo', one);

    // Assess
    await expect(dropped).rejects.toThrow();
    expect(s.records('demo', 0)).toHaveLength(1);
  });

  it('after-write delay: the records are in the log before the answer arrives', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'after-write', action: 'delay', ms: 300 });

    // Act
    const pending = produce('/topics/demo', one);
    await vi.waitFor(() => expect(s.records('demo', 0)).toHaveLength(1), { interval: 5, timeout: 5_000 });

    // Assess
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).offsets[0]).toMatchObject({ partition: 0, offset: 0 });
  });

  it('clearFaults drops everything queued', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'status', status: 500, times: 5 });
    s.inject({ kind: 'record-errors', errors: { 0: { code: 50003 } } });

    // Act
    s.clearFaults();
    const reply = await produce('/topics/demo', one);

    // Assess
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).offsets[0].error_code).toBeNull();
  });

  it('trickle: 200 and its headers at once, then one byte per interval, never finished', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'trickle', intervalMs: 20 });
    const response = await request(`${s.url}/topics`);
    const received: number[] = [];

    // Act
    await new Promise<void>((resolve) => {
      response.body.on('data', (chunk: Buffer) => {
        received.push(chunk.byteLength);
        if (received.length === 4) resolve();
      });
    });
    response.body.destroy();

    // Assess
    expect(response.statusCode).toBe(200);
    expect(received.every((n) => n === 1)).toBe(true);
  });

  it.each([
    { name: 'chunked', declareLength: false, contentLength: undefined },
    { name: 'with its Content-Length', declareLength: true, contentLength: '300000' },
  ])('oversized-answer: a 2xx body of exactly N bytes, $name; nothing written', async (row) => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'oversized-answer', bytes: 300_000, status: 201, declareLength: row.declareLength });

    // Act
    const reply = await produce('/topics/demo', { records: [{ value: b64('x') }] });

    // Assess
    expect(reply.status).toBe(201);
    expect(reply.headers['content-length']).toBe(row.contentLength);
    expect(reply.text).toHaveLength(300_000);
    expect(reply.text.trim()).toBe('[');
    expect(allRecords(s, 'demo', 3)).toEqual([]);
  });

  it.each([
    { name: 'times 0', fault: { kind: 'status', status: 500, times: 0 } },
    { name: 'a status that is not HTTP', fault: { kind: 'status', status: 42 } },
    { name: 'negative delay', fault: { kind: 'delay', ms: -1 } },
    { name: 'an unknown kind', fault: { kind: 'explode' } },
    { name: 'a bad after-write action', fault: { kind: 'after-write', action: 'explode' } },
    {
      name: 'a negative report count to cut after',
      fault: { kind: 'after-write', action: 'cut', reports: -1 },
    },
    { name: 'a trickle without an interval', fault: { kind: 'trickle', intervalMs: 0 } },
    { name: 'an oversized answer of no bytes', fault: { kind: 'oversized-answer', bytes: 0 } },
    {
      name: 'an oversized answer that is not 2xx',
      fault: { kind: 'oversized-answer', bytes: 9, status: 500 },
    },
  ])('rejects a fault with $name', async ({ fault }) => {
    const s = await start();
    expect(() => s.inject(fault as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});

describe('latency and chaos', () => {
  it('latencyMs holds every request before handling it', async () => {
    // Prepare
    const s = await start({ latencyMs: 300 });

    // Act
    const pending = produce('/topics/demo', { records: [{ value: '', partition: 0 }] });
    await vi.waitFor(() => expect(s.requests).toHaveLength(1), { interval: 5, timeout: 5_000 });

    // Assess
    expect(s.records('demo', 0)).toEqual([]);
    expect((await pending).status).toBe(200);
  });

  it('is deterministic for a seed, and only retriable faults happen', async () => {
    // Prepare
    const chaos = { seed: 42, statusRate: 0.2, throttleRate: 0.2, recordErrorRate: 0.2 };
    const run = async (): Promise<string[]> => {
      const s = await startKafkaRestServer({ chaos });
      try {
        const outcomes: string[] = [];
        for (let i = 0; i < 30; i++) {
          const r = await call('POST', '/topics/demo', { body: '{"records":[{"value":""}]}', on: s });
          outcomes.push(
            r.status === 200 ? `200:${JSON.parse(r.text).offsets[0].error_code ?? 'ok'}` : String(r.status),
          );
        }
        return outcomes;
      } finally {
        await s.close();
      }
    };

    // Act
    const first = await run();
    const second = await run();

    // Assess
    expect(first).toEqual(second);
    expect(new Set(first)).toEqual(new Set(['200:ok', '200:50003', '429', '503']));
  });

  it('a record failed by chaos is not written', async () => {
    // Prepare
    const s = await start({ chaos: { seed: 1, recordErrorRate: 1 } });

    // Act
    const reply = await produce('/topics/demo', { records: [{ value: '' }, { value: '' }] });

    // Assess
    expect(JSON.parse(reply.text).offsets.map((o: { error_code: number }) => o.error_code)).toEqual([
      50003, 50003,
    ]);
    expect(allRecords(s, 'demo', 3)).toEqual([]);
  });
});

describe('data directory', () => {
  it('keeps logs, tombstones, log start, topics and offsets across a restart', async () => {
    // Prepare
    const dataDir = tempDir();
    const first = await start({ dataDir, topics: { demo: 2 } });
    await produce('/topics/demo/partitions/0', {
      records: [
        { key: b64('k'), value: b64('a') },
        { value: null },
        { value: b64('c') },
        { value: b64('d') },
      ],
    });
    first.createTopic('extra', 3);
    first.append('extra', 2, [{ value: Buffer.from('e') }]);
    first.createTopic('gone', 1);
    first.append('gone', 0, [{ value: Buffer.from('x') }]);
    first.deleteTopic('gone');
    first.truncateBefore('demo', 0, 1);
    await first.close();

    // Act
    const second = await start({ dataDir, topics: { demo: 2 } });
    const next = await produce('/topics/demo/partitions/0', { records: [{ value: b64('e') }] });
    const belowStart = await call('GET', '/topics/demo/partitions/0/messages?offset=0');

    // Assess
    expect(JSON.parse((await call('GET', '/topics')).text)).toEqual(['demo', 'extra']);
    expect(second.records('demo', 0)).toEqual([
      { offset: 1, key: null, value: null },
      { offset: 2, key: null, value: Buffer.from('c') },
      { offset: 3, key: null, value: Buffer.from('d') },
      { offset: 4, key: null, value: Buffer.from('e') },
    ]);
    expect(JSON.parse(next.text).offsets[0].offset).toBe(4);
    expect(belowStart.status).toBe(500);
    expect(second.records('extra', 2)).toEqual([{ offset: 0, key: null, value: Buffer.from('e') }]);
  });

  it('a re-created topic starts again at offset 0, also after a restart', async () => {
    // Prepare
    const dataDir = tempDir();
    const first = await start({ dataDir });
    first.append('demo', 0, [{ value: Buffer.from('old') }, { value: Buffer.from('old') }]);
    first.deleteTopic('demo');
    first.createTopic('demo', 3);
    await produce('/topics/demo/partitions/0', { records: [{ value: b64('new') }] });
    await first.close();

    // Act
    const second = await start({ dataDir });

    // Assess
    expect(second.records('demo', 0)).toEqual([{ offset: 0, key: null, value: Buffer.from('new') }]);
  });

  it('ignores a torn last line (a write cut short was never acknowledged)', async () => {
    // Prepare
    const dataDir = tempDir();
    const first = await start({ dataDir, topics: { t: 1 } });
    first.append('t', 0, [{ value: Buffer.from('kept') }]);
    await first.close();
    appendFileSync(join(dataDir, 'logs', 't', '0.jsonl'), '{"o":1,"k":nu');

    // Act
    const second = await start({ dataDir, topics: { t: 1 } });

    // Assess
    expect(second.records('t', 0)).toEqual([{ offset: 0, key: null, value: Buffer.from('kept') }]);
  });
});

describe('programmatic API and options', () => {
  it.each([
    { name: 'a zero partition count', options: { topics: { t: 0 } } },
    { name: 'an unknown unknownTopic mode', options: { unknownTopic: 'create' } },
    { name: 'a negative latency', options: { latencyMs: -1 } },
    { name: 'a zero maxRecordBytes', options: { maxRecordBytes: 0 } },
    { name: 'a port out of range', options: { port: 70000 } },
    { name: 'an empty api key', options: { apiKey: '' } },
    { name: 'a chaos rate above 1', options: { chaos: { seed: 1, dropRate: 2 } } },
  ])('rejects $name', async ({ options }) => {
    await expect(startKafkaRestServer(options as KafkaRestServerOptions)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
  });

  it('lists every bad option at once', async () => {
    const error = await startKafkaRestServer({ latencyMs: -1, port: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevKafkaRestError);
    expect((error as Error).message).toContain('latencyMs');
    expect((error as Error).message).toContain('port');
  });

  it('test helpers throw coded errors on misuse', async () => {
    // Prepare
    const s = await start();

    // Act / Assess
    expect(() => s.records('nope', 0)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_TOPIC' }));
    expect(() => s.append('demo', 3, [{ value: null }])).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_PARTITION' }),
    );
    expect(() => s.createTopic('demo', 1)).toThrow(expect.objectContaining({ code: 'ERR_TOPIC_EXISTS' }));
    expect(() => s.deleteTopic('nope')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_TOPIC' }));
    expect(() => s.truncateBefore('demo', 0, 1)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });

  it('append returns offsets that follow what HTTP produced', async () => {
    // Prepare
    const s = await start();
    await produce('/topics/demo/partitions/1', { records: [{ value: '' }] });

    // Act
    const offsets = s.append('demo', 1, [
      { value: Buffer.from('a') },
      { key: Buffer.from('k'), value: null },
    ]);

    // Assess
    expect(offsets).toEqual([1, 2]);
  });

  it('records every request, and not when recordRequests is off', async () => {
    // Prepare
    const s = await start();
    const quiet = await startKafkaRestServer({ recordRequests: false });

    // Act
    await call('POST', '/topics/demo?x=1&x=2', {
      headers: { 'x-auth-token': 't' },
      body: '{"records":[{"value":""}]}',
    });
    await call('GET', '/', { on: quiet });
    await quiet.close();

    // Assess
    expect(s.requests).toEqual([
      {
        method: 'POST',
        path: '/topics/demo',
        query: { x: '1' },
        headers: expect.objectContaining({ 'x-auth-token': 't' }),
        body: '{"records":[{"value":""}]}',
      },
    ]);
    expect(quiet.requests).toEqual([]);
  });

  it('logs one line per request with no headers, and marks dropped ones', async () => {
    // Prepare
    const lines: string[] = [];
    const s = await start({ log: (line) => lines.push(line), apiKey: 'super-secret-key' });
    s.inject({ kind: 'drop', match: { path: '/brokers' } });

    // Act
    await call('GET', '/topics?x=1', { headers: { 'x-auth-token': 'super-secret-key' } });
    await call('GET', '/brokers').catch(() => undefined);
    await vi.waitFor(() => expect(lines).toHaveLength(2), { interval: 5 });

    // Assess
    expect(lines[0]).toMatch(/^GET \/topics\?x=1 200 \d+\.\dms$/);
    expect(lines[1]).toMatch(/^GET \/brokers dropped \d+\.\dms$/);
    expect(lines.join('\n')).not.toContain('super-secret-key');
  });

  it('close is idempotent and stops listening', async () => {
    // Prepare
    const s = await startKafkaRestServer();

    // Act
    await Promise.all([s.close(), s.close()]);

    // Assess
    await expect(call('GET', '/', { on: s })).rejects.toThrow();
  });
});

describe('CLI', () => {
  it.each([
    {
      name: 'defaults',
      argv: [],
      options: { port: 8082, host: '127.0.0.1', topics: { demo: 3 } },
    },
    {
      name: 'every flag',
      argv: [
        '--port',
        '0',
        '--topics',
        'demo:3,orders:1',
        '--api-key',
        'K',
        '--basic-auth',
        'user:pa:ss',
        '--consumer-request-timeout-ms',
        '1500',
        '--data-dir',
        '/tmp/x',
        '--latency-ms',
        '5',
        '--max-record-bytes',
        '100',
        '--unknown-topic',
        'auto-create',
        '--host',
        '0.0.0.0',
        '--v1-whole-batches',
      ],
      options: {
        port: 0,
        host: '0.0.0.0',
        topics: { demo: 3, orders: 1 },
        apiKey: 'K',
        basicAuth: 'user:pa:ss',
        consumerRequestTimeoutMs: 1500,
        dataDir: '/tmp/x',
        latencyMs: 5,
        maxRecordBytes: 100,
        unknownTopic: 'auto-create',
        v1WholeBatches: true,
      },
    },
  ])('parses $name', ({ argv, options }) => {
    const parsed = parseCliArgs(argv);
    expect(parsed).toEqual({ ok: true, help: false, quiet: false, options });
  });

  it.each([
    { name: 'an unknown flag', argv: ['--bogus'], problem: '--bogus' },
    { name: 'a positional argument', argv: ['serve'], problem: 'serve' },
    { name: 'a non-numeric port', argv: ['--port', 'http'], problem: '--port' },
    { name: 'a port out of range', argv: ['--port', '70000'], problem: '--port' },
    { name: 'a topic without partitions', argv: ['--topics', 'demo'], problem: '--topics' },
    { name: 'zero partitions', argv: ['--topics', 'demo:0'], problem: '--topics' },
    { name: 'an unknown mode', argv: ['--unknown-topic', 'maybe'], problem: '--unknown-topic' },
    { name: 'a missing value', argv: ['--latency-ms'], problem: '--latency-ms' },
    {
      name: 'a negative request timeout',
      argv: ['--consumer-request-timeout-ms', '-1'],
      problem: '--consumer-request-timeout-ms',
    },
    { name: 'an empty basic credential', argv: ['--basic-auth', ''], problem: '--basic-auth' },
  ])('rejects $name', ({ argv, problem }) => {
    const parsed = parseCliArgs(argv);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problems.join('\n')).toContain(problem);
  });

  it('rejects a basic credential without a colon and never echoes it', () => {
    const parsed = parseCliArgs(['--basic-auth', 'no-colon-secret']);
    expect(parsed).toEqual({ ok: false, problems: ['--basic-auth must look like user:password'] });
  });

  const runCli = (args: string[]): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/kafka-rest/cli.ts', ...args], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  };

  /** Starts the CLI and waits for its first line: the URL it listens on. Its stdout lines keep coming into `lines`. */
  const startCli = async (args: string[]) => {
    const child = runCli(args);
    const lines: string[] = [];
    const stdout = createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> });
    stdout.on('line', (line) => lines.push(line));
    await vi.waitFor(() => expect(lines[0]).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/), {
      timeout: 15_000,
      interval: 20,
    });
    const url = /(http:\/\/\S+)/.exec(lines[0] ?? '')?.[1] as string;
    return { child, lines, url };
  };

  const exitCode = (child: ChildProcess): Promise<number | null> =>
    new Promise((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });

  it('serves in the foreground, logs requests without the key, and exits 0 on SIGTERM', async () => {
    // Prepare
    const { child, lines, url } = await startCli([
      '--port',
      '0',
      '--topics',
      'orders:2',
      '--api-key',
      'cli-secret-key',
    ]);

    // Act
    const response = await request(`${url}/topics`, { headers: { 'x-auth-token': 'cli-secret-key' } });
    const topics = await response.body.json();
    await vi.waitFor(() => expect(lines.some((l) => l.startsWith('GET /topics 200'))).toBe(true), {
      interval: 10,
    });
    child.kill('SIGTERM');
    const code = await exitCode(child);

    // Assess
    expect(topics).toEqual(['orders']);
    expect(code).toBe(0);
    expect(lines.join('\n')).not.toContain('cli-secret-key');
  });

  it('--basic-auth and --consumer-request-timeout-ms: Basic required (never printed), an empty v2 read waits for records', async () => {
    // Prepare
    const { child, lines, url } = await startCli([
      '--port',
      '0',
      '--topics',
      'orders:1',
      '--basic-auth',
      'cli-user:cli-pass',
      '--consumer-request-timeout-ms',
      '5000',
      '--quiet',
    ]);
    const auth = { authorization: `Basic ${b64('cli-user:cli-pass')}` };
    const v2Control = {
      ...auth,
      'content-type': 'application/vnd.kafka.v2+json',
      accept: 'application/vnd.kafka.v2+json',
    };
    const send = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
      const response = await request(`${url}${path}`, {
        method: method as 'GET',
        headers,
        ...(body === undefined ? {} : { body }),
      });
      return { status: response.statusCode, text: await response.body.text() };
    };
    const records = (): ReturnType<typeof send> =>
      send('GET', '/consumers/g/instances/c/records', {
        ...auth,
        accept: 'application/vnd.kafka.binary.v2+json',
      });
    await send('POST', '/consumers/g', v2Control, '{"name":"c","auto.offset.reset":"earliest"}');
    await send(
      'POST',
      '/consumers/g/instances/c/assignments',
      v2Control,
      '{"partitions":[{"topic":"orders","partition":0}]}',
    );
    // The read right after an assign answers [] at once (emptyReadsAfterSeek); the next one is the long poll.
    await records();

    // Act
    const refused = await send('GET', '/topics', {});
    const startedAt = performance.now();
    const waiting = records();
    await sleep(300);
    await send(
      'POST',
      '/topics/orders/partitions/0',
      { ...auth, 'content-type': BINARY },
      `{"records":[{"value":"${b64('late')}"}]}`,
    );
    const read = await waiting;
    const waitedMs = performance.now() - startedAt;
    child.kill('SIGTERM');
    const code = await exitCode(child);

    // Assess
    expect(refused.status).toBe(401);
    expect(lines[0]).toContain('HTTP Basic Authorization header required');
    expect(lines.join('\n')).not.toContain('cli-pass');
    expect(read.status).toBe(200);
    expect(JSON.parse(read.text)).toEqual([
      { topic: 'orders', key: null, value: b64('late'), partition: 0, offset: 0 },
    ]);
    expect(waitedMs).toBeGreaterThanOrEqual(250);
    expect(code).toBe(0);
  });

  it('exits 2 with a clear message on a bad flag', async () => {
    // Prepare
    const child = runCli(['--topics', 'nope']);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });

    // Act
    const code = await exitCode(child);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('--topics');
    expect(stderr).toContain('Usage');
  });
});
