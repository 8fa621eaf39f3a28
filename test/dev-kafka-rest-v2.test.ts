import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../dev/kafka-rest/cli-args.js';
import { DevKafkaRestError } from '../dev/kafka-rest/errors.js';
import type { Flavor } from '../dev/kafka-rest/flavors.js';
import { toFlavorRecordCode } from '../dev/kafka-rest/flavors.js';
import { b64, rawCall } from '../dev/kafka-rest/raw-client.js';
import type { KafkaRestServer, KafkaRestServerOptions } from '../dev/kafka-rest/server.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';

const V1 = 'application/vnd.kafka.v1+json';
const V2 = 'application/vnd.kafka.v2+json';
const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
const PRODUCE_V2 = { 'content-type': BINARY_V2, accept: V2 };

let server: KafkaRestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const start = async (options: KafkaRestServerOptions = {}): Promise<KafkaRestServer> => {
  server = await startKafkaRestServer(options);
  return server;
};

const call = (
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
) => {
  if (server === undefined) throw new Error('no server started');
  return rawCall(server.url, method, path, options);
};

const produce = (path: string, body: unknown, headers: Record<string, string> = PRODUCE_V2) =>
  call('POST', path, { headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

const values = (s: KafkaRestServer, topic: string, partition: number) =>
  s.records(topic, partition).map((r) => (r.value === null ? null : r.value.toString()));

describe('v1 and v2 side by side, as CP 5.x serves them (protocol doc §6)', () => {
  it.each([
    { name: 'no Accept → v1', accept: undefined, contentType: V1 },
    { name: 'Accept v2 → v2', accept: V2, contentType: V2 },
    {
      name: 'Accept application/json → v1 (generic JSON is v1)',
      accept: 'application/json',
      contentType: 'application/json',
    },
    { name: 'Accept */* → v1, the tie goes to v1', accept: '*/*', contentType: V1 },
    { name: 'Accept v2 preferred by q', accept: `${V1};q=0.5, ${V2}`, contentType: V2 },
  ])('GET /topics: $name', async ({ accept, contentType }) => {
    // Prepare
    await start({ topics: { b: 1, a: 2 } });

    // Act
    const reply = await call('GET', '/topics', accept === undefined ? {} : { headers: { accept } });

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(contentType);
    expect(JSON.parse(reply.text)).toEqual(['a', 'b']);
  });

  it('answers v2 metadata in the same shapes, with v2 errors', async () => {
    // Prepare
    await start({ topics: { demo: 2 } });

    // Act
    const topic = await call('GET', '/topics/demo', { headers: { accept: V2 } });
    const partition = await call('GET', '/topics/demo/partitions/1', { headers: { accept: V2 } });
    const missing = await call('GET', '/topics/nope', { headers: { accept: V2 } });

    // Assess
    expect(JSON.parse(topic.text)).toMatchObject({ name: 'demo', configs: {} });
    expect(JSON.parse(topic.text).partitions).toHaveLength(2);
    expect(JSON.parse(partition.text)).toEqual({
      partition: 1,
      leader: 0,
      replicas: [{ broker: 0, leader: true, in_sync: true }],
    });
    expect(missing.status).toBe(404);
    expect(missing.contentType).toBe(V2);
    expect(JSON.parse(missing.text)).toEqual({ error_code: 40401, message: 'Topic not found.' });
  });

  it.each([
    { name: 'binary v2 → v2', contentType: BINARY_V2, status: 200, responseType: V2, v1Shape: false },
    {
      name: 'v2 without embedded format → binary',
      contentType: V2,
      status: 200,
      responseType: V2,
      v1Shape: false,
    },
    {
      name: 'json v2 → 415 (binary only)',
      contentType: 'application/vnd.kafka.json.v2+json',
      status: 415,
      responseType: V2,
      v1Shape: false,
    },
    {
      name: 'avro v2 → 415',
      contentType: 'application/vnd.kafka.avro.v2+json',
      status: 415,
      responseType: V2,
      v1Shape: false,
    },
    {
      name: 'gotcha: application/json → the v1 handler',
      contentType: 'application/json',
      status: 200,
      responseType: V1,
      v1Shape: true,
    },
    {
      name: 'gotcha: octet-stream → the v1 handler',
      contentType: 'application/octet-stream',
      status: 200,
      responseType: V1,
      v1Shape: true,
    },
  ])('produce Content-Type $name', async ({ contentType, status, responseType, v1Shape }) => {
    // Prepare
    const s = await start({ flavor: 'redpanda', topics: { demo: 1 } });

    // Act
    const reply = await produce(
      '/topics/demo',
      { records: [{ value: b64('v') }] },
      { 'content-type': contentType },
    );

    // Assess
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe(responseType);
    if (status === 415) {
      expect(JSON.parse(reply.text)).toEqual({ error_code: 415, message: 'HTTP 415 Unsupported Media Type' });
      expect(values(s, 'demo', 0)).toEqual([]);
    } else {
      // v1 is Confluent's whatever the flavor; the redpanda flavor only shapes v2.
      expect('key_schema_id' in JSON.parse(reply.text)).toBe(v1Shape);
      expect(values(s, 'demo', 0)).toEqual(['v']);
    }
  });

  it('a v1 produce does not answer in v2 types: v1 Content-Type with Accept v2 → 406', async () => {
    // Prepare
    const s = await start({ topics: { demo: 1 } });

    // Act
    const reply = await produce(
      '/topics/demo/partitions/0',
      { records: [{ value: b64('v') }] },
      { 'content-type': 'application/vnd.kafka.binary.v1+json', accept: V2 },
    );

    // Assess
    expect(reply.status).toBe(406);
    expect(values(s, 'demo', 0)).toEqual([]);
  });

  it('v2 produce with an Accept it cannot satisfy → 406 with no body, nothing written', async () => {
    // Prepare
    const s = await start({ topics: { demo: 1 } });

    // Act
    const reply = await produce(
      '/topics/demo',
      { records: [{ value: b64('v') }] },
      { 'content-type': BINARY_V2, accept: 'application/json' },
    );

    // Assess
    expect(reply.status).toBe(406);
    expect(reply.text).toBe('');
    expect(values(s, 'demo', 0)).toEqual([]);
  });
});

describe('v2 produce per flavor (§4, §6)', () => {
  it.each([
    {
      flavor: 'confluent' as const,
      body: {
        offsets: [
          { partition: 0, offset: 0, error_code: null, error: null },
          { partition: 1, offset: 0, error_code: null, error: null },
        ],
        key_schema_id: null,
        value_schema_id: null,
      },
    },
    {
      flavor: 'karapace' as const,
      body: {
        key_schema_id: null,
        value_schema_id: null,
        offsets: [
          { offset: 0, partition: 0 },
          { offset: 0, partition: 1 },
        ],
      },
    },
    {
      flavor: 'redpanda' as const,
      body: {
        offsets: [
          { partition: 0, offset: 0 },
          { partition: 1, offset: 0 },
        ],
      },
    },
  ])('$flavor: the success shape', async ({ flavor, body }) => {
    // Prepare
    const s = await start({ flavor, topics: { demo: 2 } });

    // Act
    const reply = await produce('/topics/demo', {
      records: [
        { key: b64('k'), value: b64('a'), partition: 0 },
        { value: b64('b'), partition: 1 },
      ],
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(V2);
    expect(JSON.parse(reply.text)).toEqual(body);
    expect(values(s, 'demo', 0)).toEqual(['a']);
    expect(values(s, 'demo', 1)).toEqual(['b']);
  });

  it('a per-record partition wins over the path on the v2 partition endpoint', async () => {
    // Prepare
    const s = await start({ topics: { demo: 2 } });

    // Act
    const reply = await produce('/topics/demo/partitions/0', {
      records: [{ value: b64('to-1'), partition: 1 }, { value: b64('to-0') }],
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).offsets.map((o: { partition: number }) => o.partition)).toEqual([1, 0]);
    expect(values(s, 'demo', 1)).toEqual(['to-1']);
    expect(values(s, 'demo', 0)).toEqual(['to-0']);
  });

  describe('redpanda: a strict parser, every parse error 422/422', () => {
    it.each([
      { name: 'a null value', body: { records: [{ value: null }] } },
      { name: 'a null key', body: { records: [{ key: null, value: b64('v') }] } },
      { name: 'an unknown record field', body: { records: [{ value: b64('v'), timestamp: 1 }] } },
      { name: 'a schema field', body: { records: [{ value: b64('v') }], value_schema_id: null } },
      { name: 'a number for a binary field', body: { records: [{ value: 12 }] } },
      { name: 'bad base64', body: { records: [{ value: 'aGVsbG8==' }] } },
      { name: 'malformed JSON', body: '{"records":[' },
    ])('rejects $name', async ({ body }) => {
      // Prepare
      const s = await start({ flavor: 'redpanda', topics: { demo: 1 } });

      // Act
      const reply = await produce('/topics/demo', body);

      // Assess
      expect(reply.status).toBe(422);
      expect(JSON.parse(reply.text).error_code).toBe(422);
      expect(values(s, 'demo', 0)).toEqual([]);
    });

    it('accepts an omitted key and an empty records list', async () => {
      // Prepare
      const s = await start({ flavor: 'redpanda', topics: { demo: 1 } });

      // Act
      const one = await produce('/topics/demo', { records: [{ value: b64('v') }] });
      const none = await produce('/topics/demo', { records: [] });

      // Assess
      expect(JSON.parse(one.text)).toEqual({ offsets: [{ partition: 0, offset: 0 }] });
      expect(none.status).toBe(200);
      expect(JSON.parse(none.text)).toEqual({ offsets: [] });
      expect(values(s, 'demo', 0)).toEqual(['v']);
    });
  });

  describe('karapace', () => {
    it('keeps a null or missing key as none, and writes a null or missing value as empty bytes, never a tombstone', async () => {
      // Prepare
      const s = await start({ flavor: 'karapace', topics: { demo: 1 } });

      // Act
      const reply = await produce('/topics/demo', { records: [{ value: null }, { key: null }, { key: '' }] });

      // Assess: Karapace's _prepare_records serialises the key only when it is not None
      expect(reply.status).toBe(200);
      expect(s.records('demo', 0).map((r) => [r.key?.length ?? null, r.value?.length])).toEqual([
        [null, 0],
        [null, 0],
        [0, 0],
      ]);
    });

    it.each([
      {
        name: 'unknown top-level field',
        body: { records: [{ value: b64('v') }], extra: 1 },
        status: 422,
        code: 422,
      },
      {
        name: 'unknown record field',
        body: { records: [{ value: b64('v'), ts: 1 }] },
        status: 422,
        code: 422,
      },
      { name: 'empty records', body: { records: [] }, status: 422, code: 422 },
      { name: 'malformed JSON (in the envelope)', body: '{', status: 400, code: 400 },
    ])('rejects $name → $status', async ({ body, status, code }) => {
      // Prepare
      await start({ flavor: 'karapace', topics: { demo: 1 } });

      // Act
      const reply = await produce('/topics/demo', body);

      // Assess
      expect(reply.status).toBe(status);
      expect(JSON.parse(reply.text).error_code).toBe(code);
    });

    it('pre-checks the topic (404/40401) even in error-per-record mode', async () => {
      // Prepare
      await start({ flavor: 'karapace', unknownTopic: 'error-per-record' });

      // Act
      const reply = await produce('/topics/nope', { records: [{ value: b64('v') }] });

      // Assess
      expect(reply.status).toBe(404);
      expect(JSON.parse(reply.text)).toEqual({ error_code: 40401, message: 'Topic not found.' });
    });
  });

  // The record-errors fault speaks Confluent codes; each flavor answers in its own numbering.
  describe.each([
    {
      flavor: 'confluent' as const,
      retriable: 50003,
      final: 50002,
      auth: 40101,
      status: 401,
      partialStatus: 200,
    },
    { flavor: 'karapace' as const, retriable: 2, final: 1, auth: 1, status: 500, partialStatus: 500 },
    { flavor: 'redpanda' as const, retriable: 6, final: 10, auth: 58, status: 200, partialStatus: 200 },
  ])('$flavor: record-errors and limits', ({ flavor, retriable, final, auth, status, partialStatus }) => {
    const codesOf = (text: string): (number | null | undefined)[] =>
      JSON.parse(text).offsets.map((o: { error_code?: number | null }) => o.error_code);

    it('maps 50003 and 50002 and fails only those records', async () => {
      // Prepare
      const s = await start({ flavor, topics: { demo: 1 } });
      s.inject({ kind: 'record-errors', errors: { 0: { code: 50003 }, 2: { code: 50002 } } });

      // Act
      const reply = await produce('/topics/demo', {
        records: [{ value: b64('a') }, { value: b64('b') }, { value: b64('c') }],
      });

      // Assess
      expect(reply.status).toBe(partialStatus);
      const codes = codesOf(reply.text);
      expect(codes[0]).toBe(retriable);
      expect(codes[1] ?? null).toBeNull();
      expect(codes[2]).toBe(final);
      expect(values(s, 'demo', 0)).toEqual(['b']);
    });

    it('maps an authentication failure', async () => {
      // Prepare
      const s = await start({ flavor, topics: { demo: 1 } });
      s.inject({ kind: 'record-errors', errors: { 0: { code: 40101 } } });

      // Act
      const reply = await produce('/topics/demo', { records: [{ value: b64('a') }] });

      // Assess
      expect(reply.status).toBe(status);
      expect(codesOf(reply.text)).toEqual([auth]);
    });

    it('fails a record over maxRecordBytes with the non-retriable code', async () => {
      // Prepare
      const s = await start({ flavor, topics: { demo: 1 }, maxRecordBytes: 4 });

      // Act
      const reply = await produce('/topics/demo', {
        records: [{ value: b64('small') }, { value: b64('ok') }],
      });

      // Assess
      expect(codesOf(reply.text)[0]).toBe(final);
      expect(values(s, 'demo', 0)).toEqual(['ok']);
    });
  });

  it.each([
    { flavor: 'confluent' as const, status: 500, code: undefined },
    { flavor: 'karapace' as const, status: 500, code: 1 },
    { flavor: 'redpanda' as const, status: 200, code: 3 },
  ])('$flavor: a record for a partition the topic lacks', async ({ flavor, status, code }) => {
    // Prepare
    const s = await start({ flavor, topics: { demo: 1 } });

    // Act
    const reply = await produce('/topics/demo', {
      records: [{ value: b64('ok') }, { value: b64('x'), partition: 5 }],
    });

    // Assess
    expect(reply.status).toBe(status);
    if (code === undefined) {
      // Confluent's producer throws synchronously: a bare 500 and nothing written.
      expect(JSON.parse(reply.text)).toEqual({ error_code: 500, message: 'Internal Server Error' });
      expect(values(s, 'demo', 0)).toEqual([]);
    } else {
      expect(JSON.parse(reply.text).offsets[1].error_code).toBe(code);
      expect(values(s, 'demo', 0)).toEqual(['ok']);
    }
  });

  it('redpanda reports an unknown topic per record with Kafka code 3 in error-per-record mode', async () => {
    // Prepare
    await start({ flavor: 'redpanda', unknownTopic: 'error-per-record' });

    // Act
    const reply = await produce('/topics/nope', { records: [{ value: b64('v') }] });

    // Assess
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ offsets: [{ partition: 0, offset: -1, error_code: 3 }] });
  });

  it.each([
    { flavor: 'confluent' as const, code: 429, expected: 429 },
    { flavor: 'karapace' as const, code: 2, expected: 2 },
    { flavor: 'redpanda' as const, code: 7, expected: 7 },
  ])(
    '$flavor: a code below 1000 is already the flavor’s own and passes through',
    ({ flavor, code, expected }) => {
      expect(toFlavorRecordCode(flavor as Flavor, code, 'injected')).toBe(expected);
    },
  );
});

describe('GET /topics/{t}/partitions/{p}/offsets (v2, CP 5.4+)', () => {
  it('answers the log start and the next offset to be written', async () => {
    // Prepare
    const s = await start({ topics: { demo: 2 } });
    s.append('demo', 1, [
      { value: Buffer.from('a') },
      { value: Buffer.from('b') },
      { value: Buffer.from('c') },
    ]);
    s.truncateBefore('demo', 1, 1);

    // Act
    const reply = await call('GET', '/topics/demo/partitions/1/offsets', { headers: { accept: V2 } });
    const empty = await call('GET', '/topics/demo/partitions/0/offsets');

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(V2);
    expect(JSON.parse(reply.text)).toEqual({ beginning_offset: 1, end_offset: 3 });
    expect(JSON.parse(empty.text)).toEqual({ beginning_offset: 0, end_offset: 0 });
  });

  it.each([
    {
      name: 'unknown topic',
      path: '/topics/nope/partitions/0/offsets',
      status: 404,
      body: { error_code: 40401, message: 'Topic not found.' },
    },
    {
      name: 'unknown partition',
      path: '/topics/demo/partitions/2/offsets',
      status: 404,
      body: { error_code: 40402, message: 'Partition not found.' },
    },
    {
      name: 'negative partition',
      path: '/topics/demo/partitions/-1/offsets',
      status: 404,
      body: { error_code: 40402, message: 'Partition not found.' },
    },
    {
      name: 'non-integer partition',
      path: '/topics/demo/partitions/x/offsets',
      status: 404,
      body: { error_code: 404, message: 'HTTP 404 Not Found' },
    },
  ])('$name → $status', async ({ path, status, body }) => {
    // Prepare
    await start({ topics: { demo: 2 } });

    // Act
    const reply = await call('GET', path, { headers: { accept: V2 } });

    // Assess
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe(V2);
    expect(JSON.parse(reply.text)).toEqual(body);
  });

  it.each([
    { name: 'a v1-only Accept', accept: V1 },
    { name: 'text/plain', accept: 'text/plain' },
  ])('406 with no body for $name (a v2-only resource)', async ({ accept }) => {
    // Prepare
    await start();

    // Act
    const reply = await call('GET', '/topics/demo/partitions/0/offsets', { headers: { accept } });

    // Assess
    expect(reply.status).toBe(406);
    expect(reply.text).toBe('');
  });

  it('allows GET only', async () => {
    // Prepare
    await start();

    // Act
    const reply = await call('POST', '/topics/demo/partitions/0/offsets', {
      headers: { 'content-type': V2 },
      body: '{}',
    });

    // Assess
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('GET, HEAD, OPTIONS');
  });
});

describe('options and CLI', () => {
  it.each([
    {
      name: 'an unknown flavor',
      options: { flavor: 'kafka' as Flavor },
      problem: 'flavor must be one of confluent, redpanda, karapace, strimzi',
    },
    {
      name: 'an empty cluster id',
      options: { clusterId: '' },
      problem: 'clusterId must be a non-empty string',
    },
    {
      name: 'a zero idle timeout',
      options: { consumerIdleMs: 0 },
      problem: 'consumerIdleMs must be a positive integer',
    },
    {
      name: 'negative empty reads',
      options: { emptyReadsAfterSeek: -1 },
      problem: 'emptyReadsAfterSeek must be an integer >= 0',
    },
    {
      name: 'a fractional request timeout',
      options: { consumerRequestTimeoutMs: 1.5 },
      problem: 'consumerRequestTimeoutMs must be an integer >= 0',
    },
  ])('rejects $name', async ({ options, problem }) => {
    const attempt = startKafkaRestServer(options);
    await expect(attempt).rejects.toBeInstanceOf(DevKafkaRestError);
    await expect(attempt).rejects.toThrow(problem);
  });

  it('parses --flavor, --cluster-id and --consumer-idle-ms', () => {
    const args = parseCliArgs(['--flavor', 'karapace', '--cluster-id', 'c-1', '--consumer-idle-ms', '5000']);
    expect(args).toMatchObject({
      ok: true,
      options: { flavor: 'karapace', clusterId: 'c-1', consumerIdleMs: 5000 },
    });
  });

  it.each([
    {
      argv: ['--flavor', 'kafka'],
      problem: '--flavor must be one of confluent, redpanda, karapace, strimzi',
    },
    { argv: ['--cluster-id', ''], problem: '--cluster-id must not be empty' },
    { argv: ['--consumer-idle-ms', '0'], problem: '--consumer-idle-ms must be at least 1' },
  ])('rejects $argv', ({ argv, problem }) => {
    expect(parseCliArgs(argv)).toEqual({ ok: false, problems: [problem] });
  });
});
