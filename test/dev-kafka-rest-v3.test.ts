import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { splitJsonValues } from '../dev/kafka-rest/json-stream.js';
import { b64, rawCall } from '../dev/kafka-rest/raw-client.js';
import type { KafkaRestServer, KafkaRestServerOptions } from '../dev/kafka-rest/server.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';

const JSON_TYPE = 'application/json';
const RECORDS = '/v3/clusters/local-cluster/topics/demo/records';
const FIXED_NOW = Date.parse('2024-05-06T07:08:09.010Z');

let server: KafkaRestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const start = async (options: KafkaRestServerOptions = {}): Promise<KafkaRestServer> => {
  server = await startKafkaRestServer({ topics: { demo: 2 }, now: () => FIXED_NOW, ...options });
  return server;
};

const post = (
  path: string,
  body: string,
  headers: Record<string, string> = { 'content-type': JSON_TYPE },
) => {
  if (server === undefined) throw new Error('no server started');
  return rawCall(server.url, 'POST', path, { headers, body });
};

/** A POST whose answer may break off: what arrived, and whether the connection broke before the end. */
const postUntilBroken = (
  path: string,
  body: string,
): Promise<{ status: number; text: string; broken: boolean }> =>
  new Promise((resolve, reject) => {
    if (server === undefined) throw new Error('no server started');
    const headers = { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) };
    const req = request(new URL(path, server.url), { method: 'POST', headers }, (res) => {
      let text = '';
      const settle = (broken: boolean) => resolve({ status: res.statusCode ?? 0, text, broken });
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      res.on('end', () => settle(false));
      res.on('error', () => settle(true));
    });
    req.on('error', reject);
    req.end(body);
  });

/** Concatenated JSON objects, no array and no commas (§7). */
const stream = (...records: unknown[]): string => records.map((r) => JSON.stringify(r)).join('\n');

/** The delivery reports: one per `\r\n`-terminated line. */
const reportsOf = (text: string): Record<string, unknown>[] => {
  expect(text.endsWith('\r\n')).toBe(true);
  return text
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
};

const values = (s: KafkaRestServer, partition: number) =>
  s.records('demo', partition).map((r) => (r.value === null ? null : r.value.toString()));

describe('v3 produce: POST /v3/clusters/{c}/topics/{t}/records (protocol doc §7)', () => {
  it('answers 200, chunked, one delivery report per record in order, each ended by \\r\\n', async () => {
    // Prepare
    const s = await start();

    // Act
    const reply = await post(
      RECORDS,
      stream(
        {
          partition_id: 1,
          key: { type: 'BINARY', data: b64('key') },
          value: { type: 'BINARY', data: b64('one') },
        },
        { partition_id: 1, value: { type: 'BINARY', data: b64('two') }, timestamp: '2021-02-05T19:14:42Z' },
        { partition_id: 0 },
      ),
    );

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(JSON_TYPE);
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(reportsOf(reply.text)).toEqual([
      {
        error_code: 200,
        cluster_id: 'local-cluster',
        topic_name: 'demo',
        partition_id: 1,
        offset: 0,
        timestamp: '2024-05-06T07:08:09.010Z',
        key: { type: 'BINARY', size: 3 },
        value: { type: 'BINARY', size: 3 },
      },
      {
        error_code: 200,
        cluster_id: 'local-cluster',
        topic_name: 'demo',
        partition_id: 1,
        offset: 1,
        timestamp: '2021-02-05T19:14:42.000Z',
        value: { type: 'BINARY', size: 3 },
      },
      // `{}` is a record whose key and value are both null (§7): no key or value objects in the report.
      {
        error_code: 200,
        cluster_id: 'local-cluster',
        topic_name: 'demo',
        partition_id: 0,
        offset: 0,
        timestamp: '2024-05-06T07:08:09.010Z',
      },
    ]);
    expect(values(s, 1)).toEqual(['one', 'two']);
    expect(s.records('demo', 1)[0]?.key?.toString()).toBe('key');
    expect(s.records('demo', 0)).toEqual([{ offset: 0, key: null, value: null }]);
  });

  it.each([
    { name: 'newlines', join: '\n' },
    { name: 'nothing at all', join: '' },
    { name: 'spaces and \\r\\n', join: ' \r\n ' },
  ])('parses objects separated by $name', async ({ join }) => {
    // Prepare
    const s = await start();
    const body = ['a', 'b', 'c']
      .map((v) => JSON.stringify({ partition_id: 0, value: { type: 'BINARY', data: b64(v) } }))
      .join(join);

    // Act
    const reply = await post(RECORDS, body);

    // Assess
    expect(reportsOf(reply.text).map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(values(s, 0)).toEqual(['a', 'b', 'c']);
  });

  it('accepts the /kafka prefix of Confluent Cloud and Confluent Server', async () => {
    // Prepare
    const s = await start({ clusterId: 'lkc-123' });

    // Act
    const reply = await post(
      '/kafka/v3/clusters/lkc-123/topics/demo/records',
      stream({ partition_id: 0, value: { type: 'BINARY', data: b64('x') } }),
    );

    // Assess
    expect(reportsOf(reply.text)[0]).toMatchObject({ error_code: 200, cluster_id: 'lkc-123', offset: 0 });
    expect(values(s, 0)).toEqual(['x']);
  });

  it('encodes STRING and JSON data as bytes, and echoes their types', async () => {
    // Prepare
    const s = await start();

    // Act
    const reply = await post(
      RECORDS,
      stream({
        partition_id: 0,
        key: { type: 'STRING', data: 'héllo' },
        value: { type: 'JSON', data: { a: [1, 2] } },
      }),
    );

    // Assess
    expect(reportsOf(reply.text)[0]).toMatchObject({
      key: { type: 'STRING', size: 6 },
      value: { type: 'JSON', size: 11 },
    });
    expect(s.records('demo', 0)[0]?.key?.toString()).toBe('héllo');
    expect(values(s, 0)).toEqual(['{"a":[1,2]}']);
  });

  it('uses the key partitioner when partition_id is absent', async () => {
    // Prepare
    const s = await start({ topics: { demo: 3 } });
    const record = {
      key: { type: 'BINARY', data: b64('same-key') },
      value: { type: 'BINARY', data: b64('v') },
    };

    // Act
    const reply = await post(RECORDS, stream(record, record));

    // Assess
    const [first, second] = reportsOf(reply.text);
    expect(second?.partition_id).toBe(first?.partition_id);
    expect(second?.offset).toBe(1);
    expect(s.records('demo', first?.partition_id as number)).toHaveLength(2);
  });
});

describe('v3 request-level errors', () => {
  it.each([
    { name: 'text/plain', headers: { 'content-type': 'text/plain' } },
    { name: 'a v2 vendor type', headers: { 'content-type': 'application/vnd.kafka.binary.v2+json' } },
    { name: 'no Content-Type', headers: {} as Record<string, string> },
  ])('415/415 for $name', async ({ headers }) => {
    // Prepare
    const s = await start();

    // Act
    const reply = await post(RECORDS, stream({ value: { type: 'BINARY', data: b64('x') } }), headers);

    // Assess
    expect(reply.status).toBe(415);
    expect(reply.contentType).toBe(JSON_TYPE);
    expect(JSON.parse(reply.text)).toEqual({ error_code: 415, message: 'HTTP 415 Unsupported Media Type' });
    expect(values(s, 0)).toEqual([]);
  });

  it('406 with no body when Accept cannot be satisfied', async () => {
    // Prepare
    await start();

    // Act
    const reply = await post(RECORDS, stream({}), { 'content-type': JSON_TYPE, accept: 'text/plain' });

    // Assess
    expect(reply.status).toBe(406);
    expect(reply.text).toBe('');
  });

  it.each([
    { name: 'an empty body', body: '' },
    { name: 'whitespace only', body: ' \r\n ' },
  ])('422/42206 "Payload error." for $name', async ({ body }) => {
    // Prepare
    await start();

    // Act
    const reply = await post(RECORDS, body);

    // Assess
    expect(reply.status).toBe(422);
    expect(JSON.parse(reply.text)).toEqual({
      error_code: 42206,
      message: 'Payload error. Request body is empty. Data is required.',
    });
  });

  it('answers to any cluster id unless given one, as a self-managed proxy does', async () => {
    // Prepare
    const s = await start();

    // Act
    const reply = await post(
      '/v3/clusters/lkc-anything/topics/demo/records',
      stream({ partition_id: 0, value: { type: 'BINARY', data: b64('a') } }),
    );

    // Assess
    expect(reportsOf(reply.text).map((r) => [r.error_code, r.cluster_id])).toEqual([[200, 'lkc-anything']]);
    expect(values(s, 0)).toEqual(['a']);
  });

  it('404 for another cluster id when given one (Confluent Cloud)', async () => {
    // Prepare
    await start({ clusterId: 'local-cluster' });

    // Act
    const reply = await post('/v3/clusters/other/topics/demo/records', stream({}));

    // Assess
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toEqual({ error_code: 404, message: 'Cluster other cannot be found.' });
  });

  it.each([
    { name: 'GET on records → 405', method: 'GET', path: RECORDS, status: 405 },
    {
      name: 'an unknown v3 path → 404',
      method: 'GET',
      path: '/v3/clusters/local-cluster/topics',
      status: 404,
    },
  ])('$name', async ({ method, path, status }) => {
    // Prepare
    const s = await start();

    // Act
    const reply = await rawCall(s.url, method, path);

    // Assess
    expect(reply.status).toBe(status);
  });

  it('asks for the X-Auth-Token like every other call', async () => {
    // Prepare
    const s = await start({ apiKey: 'v3-secret' });

    // Act
    const denied = await post(RECORDS, stream({}));
    const allowed = await post(RECORDS, stream({}), {
      'content-type': JSON_TYPE,
      'x-auth-token': 'v3-secret',
    });

    // Assess
    expect(denied.status).toBe(401);
    expect(denied.text).not.toContain('v3-secret');
    expect(allowed.status).toBe(200);
    expect(s.records('demo', 0).length + s.records('demo', 1).length).toBe(1);
  });
});

describe('v3 per-record errors: HTTP 200 and a report in place, the other records written', () => {
  const good = (v: string) => ({ partition_id: 0, value: { type: 'BINARY', data: b64(v) } });

  it.each([
    {
      name: 'bad base64 → 400',
      record: { partition_id: 0, value: { type: 'BINARY', data: 'aGVsbG8==' } },
      code: 400,
    },
    {
      name: 'a schema selector with BINARY → 400',
      record: { value: { type: 'BINARY', data: b64('x'), schema_id: 3 } },
      code: 400,
    },
    { name: 'no type (no schema registry here) → 400', record: { value: { data: b64('x') } }, code: 400 },
    { name: 'a schema type → 400', record: { value: { type: 'AVRO', data: {} } }, code: 400 },
    { name: 'an unknown type → 400', record: { value: { type: 'BYTES', data: b64('x') } }, code: 400 },
    {
      name: 'an unknown field → 400',
      record: { partition: 0, value: { type: 'BINARY', data: b64('x') } },
      code: 400,
    },
    { name: 'a bad timestamp → 400', record: { timestamp: 'yesterday' }, code: 400 },
    { name: 'a bad header value → 400', record: { headers: [{ name: 'h', value: '***' }] }, code: 400 },
    { name: 'an array instead of an object → 400', record: [1], code: 400 },
    { name: 'a negative partition_id → 40402', record: { partition_id: -1 }, code: 40402 },
    { name: 'a partition the topic lacks → 40403', record: { partition_id: 2 }, code: 40403 },
  ])('$name', async ({ record, code }) => {
    // Prepare
    const s = await start();

    // Act
    const reply = await post(RECORDS, stream(good('before'), record, good('after')));

    // Assess
    expect(reply.status).toBe(200);
    const reports = reportsOf(reply.text);
    expect(reports.map((r) => r.error_code)).toEqual([200, code, 200]);
    expect(typeof reports[1]?.message).toBe('string');
    expect(values(s, 0)).toEqual(['before', 'after']);
    expect(reports[2]?.offset).toBe(1);
  });

  it('413 for a record over maxRecordBytes, headers included', async () => {
    // Prepare
    const s = await start({ maxRecordBytes: 8 });

    // Act
    const reply = await post(
      RECORDS,
      stream(good('12345678'), {
        partition_id: 0,
        value: { type: 'BINARY', data: b64('1234') },
        headers: [{ name: 'abc', value: b64('de') }],
      }),
    );

    // Assess
    expect(reportsOf(reply.text).map((r) => r.error_code)).toEqual([200, 413]);
    expect(values(s, 0)).toEqual(['12345678']);
  });

  it('429, 50003 and 50002 from the record-errors fault, codes as injected', async () => {
    // Prepare
    const s = await start();
    s.inject({
      kind: 'record-errors',
      errors: { 0: { code: 429 }, 2: { code: 50003 }, 3: { code: 50002, message: 'broken' } },
    });

    // Act
    const reply = await post(RECORDS, stream(good('a'), good('b'), good('c'), good('d')));

    // Assess
    const reports = reportsOf(reply.text);
    expect(reports.map((r) => r.error_code)).toEqual([429, 200, 50003, 50002]);
    expect(reports[3]?.message).toBe('broken');
    expect(values(s, 0)).toEqual(['b']);
  });

  it.each([
    { mode: '404' as const, code: 40401, created: false },
    { mode: 'error-per-record' as const, code: 40403, created: false },
    { mode: 'auto-create' as const, code: 200, created: true },
  ])('an unknown topic in $mode mode → $code', async ({ mode, code, created }) => {
    // Prepare
    const s = await start({ unknownTopic: mode, autoCreatePartitions: 1 });

    // Act
    const reply = await post(
      '/v3/clusters/local-cluster/topics/fresh/records',
      stream({ value: { type: 'BINARY', data: b64('x') } }),
    );

    // Assess
    expect(reply.status).toBe(200);
    expect(reportsOf(reply.text).map((r) => r.error_code)).toEqual([code]);
    if (created) expect(s.records('fresh', 0).map((r) => r.value?.toString())).toEqual(['x']);
    else expect(() => s.records('fresh', 0)).toThrow(/unknown topic/);
  });

  it('a stream cut off mid-object: the whole ones are produced, then one last 400', async () => {
    // Prepare
    const s = await start();

    // Act
    const reply = await post(RECORDS, `${stream(good('a'), good('b'))}{"partition_id":0,"value":{"type"`);

    // Assess
    const reports = reportsOf(reply.text);
    expect(reports.map((r) => r.error_code)).toEqual([200, 200, 400]);
    expect(String(reports[2]?.message)).toMatch(/^Payload error\. /);
    expect(values(s, 0)).toEqual(['a', 'b']);
  });

  it('commas between objects are not part of the format: each stray one is a 400 report', async () => {
    // Prepare
    const s = await start();

    // Act
    const reply = await post(RECORDS, `${JSON.stringify(good('a'))},${JSON.stringify(good('b'))}`);

    // Assess
    expect(reportsOf(reply.text).map((r) => r.error_code)).toEqual([200, 400, 200]);
    expect(values(s, 0)).toEqual(['a', 'b']);
  });

  it('after-write cut: every record is in the log, the answer breaks off after the reports asked for', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'after-write', action: 'cut', reports: 1 });

    // Act
    const reply = await postUntilBroken(RECORDS, stream(good('a'), good('b'), good('c')));

    // Assess
    expect(reply).toMatchObject({ status: 200, broken: true });
    expect(reportsOf(reply.text).map((r) => [r.error_code, r.offset])).toEqual([[200, 0]]);
    expect(values(s, 0)).toEqual(['a', 'b', 'c']);
  });

  it('after-write drop: the records are in the log, the client gets no answer', async () => {
    // Prepare
    const s = await start();
    s.inject({ kind: 'after-write', action: 'drop' });

    // Act
    const attempt = post(RECORDS, stream(good('a')));

    // Assess
    await expect(attempt).rejects.toThrow();
    expect(values(s, 0)).toEqual(['a']);
  });
});

describe('splitJsonValues', () => {
  it.each([
    {
      name: 'braces inside strings',
      text: '{"a":"}{"} {"b":"\\"}"}',
      values: ['{"a":"}{"}', '{"b":"\\"}"}'],
      error: undefined,
    },
    {
      name: 'nested objects and arrays',
      text: '{"a":{"b":[{}]}}{}',
      values: ['{"a":{"b":[{}]}}', '{}'],
      error: undefined,
    },
    { name: 'scalars between values', text: '{} 12 null', values: ['{}', '12', 'null'], error: undefined },
    {
      name: 'a cut-off value',
      text: '{}{"a":',
      values: ['{}'],
      error: 'the stream ends inside a JSON value at character 2',
    },
    { name: 'nothing', text: ' \n ', values: [], error: undefined },
  ])('$name', ({ text, values: expected, error }) => {
    expect(splitJsonValues(text)).toEqual({ values: expected, error });
  });
});
