import { describe, expect, it } from 'vitest';
import type { RawReply } from '../dev/kafka-rest/raw-client.js';
import { b64 } from '../dev/kafka-rest/raw-client.js';
import type { KafkaRestServer } from '../dev/kafka-rest/server.js';
import { json, localServerHarness } from './helpers/local-server.js';

const V2 = 'application/vnd.kafka.v2+json';
const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
const V2_CONTROL = { 'content-type': V2, accept: V2 };
const READ = { accept: BINARY_V2 };
const SEASTAR_NOT_FOUND = { message: 'Not found', code: 404 };

const { start, call, tempDir } = localServerHarness({ flavor: 'redpanda', topics: { demo: 2 } });

const records = (query: string, headers: Record<string, string> = READ, path = '/topics/demo/partitions/0') =>
  call('GET', `${path}/records?${query}`, { headers });

const offsetsOf = (reply: RawReply): number[] => (json(reply) as { offset: number }[]).map((r) => r.offset);

/** One batch per call, as `server.append` writes them. */
const appendBatch = (s: KafkaRestServer, ...values: string[]): number[] =>
  s.append(
    'demo',
    0,
    values.map((v) => ({ value: Buffer.from(v) })),
  );

describe('redpanda simple consume: GET /topics/{t}/partitions/{p}/records (protocol doc §6)', () => {
  it('answers whole batches: a read inside a batch starts at its first offset', async () => {
    // Prepare
    const s = await start();
    s.append('demo', 0, [
      { key: Buffer.from('k0'), value: Buffer.from('a') },
      { value: Buffer.from('b') },
      { value: null },
    ]);
    appendBatch(s, 'd');

    // Act
    const inFirst = await records('offset=2&timeout=0&max_bytes=1048576');
    const atSecond = await records('offset=3&timeout=0&max_bytes=1048576');

    // Assess
    expect(inFirst.status).toBe(200);
    expect(inFirst.contentType).toBe(BINARY_V2);
    expect(json(inFirst)).toEqual([
      { topic: 'demo', key: b64('k0'), value: b64('a'), partition: 0, offset: 0 },
      { topic: 'demo', key: null, value: b64('b'), partition: 0, offset: 1 },
      { topic: 'demo', key: null, value: null, partition: 0, offset: 2 },
      { topic: 'demo', key: null, value: b64('d'), partition: 0, offset: 3 },
    ]);
    expect(json(atSecond)).toEqual([{ topic: 'demo', key: null, value: b64('d'), partition: 0, offset: 3 }]);
    // A stateless read: no consumer instance was created for it.
    expect(s.consumerInstances()).toBe(0);
  });

  it('keeps the records of one produce request in one batch', async () => {
    // Prepare
    await start();
    const produce = (values: string[]) =>
      call('POST', '/topics/demo/partitions/0', {
        headers: { 'content-type': BINARY_V2, accept: V2 },
        body: { records: values.map((v) => ({ value: b64(v) })) },
      });
    await produce(['a', 'b']);
    await produce(['c']);

    // Act
    const reply = await records('offset=1&timeout=0&max_bytes=1048576');

    // Assess
    expect(offsetsOf(reply)).toEqual([0, 1, 2]);
  });

  it.each([
    { maxBytes: 1, offset: 2, expected: [0, 1, 2], why: 'the first batch comes whole, even past max_bytes' },
    { maxBytes: 3, offset: 0, expected: [0, 1, 2], why: 'the next batch would not fit' },
    { maxBytes: 4, offset: 0, expected: [0, 1, 2, 3], why: 'both batches fit exactly' },
    { maxBytes: 0, offset: 3, expected: [3], why: 'at least one record, whatever max_bytes says' },
  ])('max_bytes=$maxBytes at offset $offset → $expected: $why', async ({ maxBytes, offset, expected }) => {
    // Prepare
    const s = await start();
    appendBatch(s, 'a', 'b', 'c');
    appendBatch(s, 'd');

    // Act
    const reply = await records(`offset=${offset}&timeout=0&max_bytes=${maxBytes}`);

    // Assess
    expect(reply.status).toBe(200);
    expect(offsetsOf(reply)).toEqual(expected);
  });

  it.each([
    { name: 'below the log start', offset: 1 },
    { name: 'above the log end', offset: 5 },
    { name: 'negative', offset: -1 },
  ])('an offset $name → 400/40002 offset_out_of_range', async ({ offset }) => {
    // Prepare
    const s = await start();
    appendBatch(s, 'a', 'b', 'c', 'd');
    s.truncateBefore('demo', 0, 2);

    // Act
    const reply = await records(`offset=${offset}&timeout=0&max_bytes=1048576`);

    // Assess
    expect(reply.status).toBe(400);
    expect(reply.contentType).toBe(V2);
    expect(json(reply)).toEqual({ error_code: 40002, message: 'offset_out_of_range' });
  });

  it('answers [] at the log end at once when the server does not let reads wait (the default)', async () => {
    // Prepare
    const s = await start();
    appendBatch(s, 'a');

    // Act
    const reply = await records('offset=1&timeout=60000&max_bytes=1048576');

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(BINARY_V2);
    expect(json(reply)).toEqual([]);
  });

  it('at the log end, waits (consumer request timeout) and returns a record appended meanwhile', async () => {
    // Prepare
    const s = await start({ consumerRequestTimeoutMs: 10_000 });
    appendBatch(s, 'a');

    // Act
    const pending = records('offset=1&timeout=10000&max_bytes=1048576');
    await new Promise((resolve) => setTimeout(resolve, 50));
    appendBatch(s, 'b');
    const reply = await pending;

    // Assess
    expect(json(reply)).toEqual([{ topic: 'demo', key: null, value: b64('b'), partition: 0, offset: 1 }]);
  });

  it('waits no longer than the smaller of timeout and the consumer request timeout', async () => {
    // Prepare
    await start({ consumerRequestTimeoutMs: 150 });

    // Act
    const startedAt = performance.now();
    const capped = await records('offset=0&timeout=60000&max_bytes=1048576');
    const cappedMs = performance.now() - startedAt;
    const immediate = await records('offset=0&timeout=0&max_bytes=1048576');

    // Assess
    expect(json(capped)).toEqual([]);
    expect(cappedMs).toBeGreaterThanOrEqual(140);
    expect(cappedMs).toBeLessThan(5000);
    expect(json(immediate)).toEqual([]);
  });

  it.each([
    { query: '', message: "Missing mandatory parameter 'offset'" },
    { query: 'timeout=0&max_bytes=1', message: "Missing mandatory parameter 'offset'" },
    { query: 'offset=&timeout=0&max_bytes=1', message: "Missing mandatory parameter 'offset'" },
    { query: 'offset=0&max_bytes=1', message: "Missing mandatory parameter 'timeout'" },
    { query: 'offset=0&timeout=0', message: "Missing mandatory parameter 'max_bytes'" },
    { query: 'offset=abc&timeout=0&max_bytes=1', message: "Invalid parameter 'offset' got 'abc'" },
    { query: 'offset=0&timeout=1.5&max_bytes=1', message: "Invalid parameter 'timeout' got '1.5'" },
    {
      query: 'offset=0&timeout=0&max_bytes=2147483648',
      message: "Invalid parameter 'max_bytes' got '2147483648'",
    },
  ])('"$query" → 400/40002 $message', async ({ query, message }) => {
    // Prepare
    await start();

    // Act
    const reply = await records(query);

    // Assess
    expect(reply.status).toBe(400);
    expect(reply.contentType).toBe(V2);
    expect(json(reply)).toEqual({ error_code: 40002, message });
  });

  it('a partition that is not an integer → 400/40002 naming partition_id', async () => {
    // Prepare
    await start();

    // Act
    const reply = await records('offset=0&timeout=0&max_bytes=1', READ, '/topics/demo/partitions/x');

    // Assess
    expect(reply.status).toBe(400);
    expect(json(reply)).toEqual({ error_code: 40002, message: "Invalid parameter 'partition_id' got 'x'" });
  });

  it.each([
    { name: 'an unknown topic', path: '/topics/nope/partitions/0' },
    { name: 'an unknown partition', path: '/topics/demo/partitions/2' },
    { name: 'a negative partition', path: '/topics/demo/partitions/-1' },
  ])('$name → 404/40402 unknown_topic_or_partition', async ({ path }) => {
    // Prepare
    await start();

    // Act
    const reply = await records('offset=0&timeout=0&max_bytes=1', READ, path);

    // Assess
    expect(reply.status).toBe(404);
    expect(reply.contentType).toBe(V2);
    expect(json(reply)).toEqual({ error_code: 40402, message: 'unknown_topic_or_partition' });
  });

  it.each([
    { name: 'the JSON embedded format', accept: 'application/vnd.kafka.json.v2+json' },
    { name: 'the v2 control type', accept: V2 },
    { name: 'text/plain', accept: 'text/plain' },
  ])('406 with no body for $name (binary only)', async ({ accept }) => {
    // Prepare
    const s = await start();
    appendBatch(s, 'a');

    // Act
    const reply = await records('offset=0&timeout=0&max_bytes=1', { accept });

    // Assess
    expect(reply.status).toBe(406);
    expect(reply.contentType).toBeUndefined();
    expect(reply.text).toBe('');
  });

  it.each([
    { name: 'a wildcard', headers: { accept: '*/*' } },
    { name: 'no Accept', headers: {} as Record<string, string> },
  ])('answers binary for $name', async ({ headers }) => {
    // Prepare
    const s = await start();
    appendBatch(s, 'a');

    // Act
    const reply = await records('offset=0&timeout=0&max_bytes=1', headers);

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(BINARY_V2);
    expect(offsetsOf(reply)).toEqual([0]);
  });

  it('keeps batches across a restart, and a batch cut by retention keeps its rest as one', async () => {
    // Prepare
    const dataDir = tempDir();
    const first = await start({ dataDir });
    appendBatch(first, 'a', 'b', 'c');
    appendBatch(first, 'd');
    first.truncateBefore('demo', 0, 1);
    await first.close();

    // Act
    await start({ dataDir });
    const inCutBatch = await records('offset=2&timeout=0&max_bytes=1');
    const atLast = await records('offset=3&timeout=0&max_bytes=1');

    // Assess
    expect(offsetsOf(inCutBatch)).toEqual([1, 2]);
    expect(offsetsOf(atLast)).toEqual([3]);
  });

  it.each(['confluent', 'karapace'] as const)(
    '%s has no such route: 404 as for any unknown path',
    async (flavor) => {
      // Prepare
      const s = await start({ flavor });
      appendBatch(s, 'a');

      // Act
      const reply = await records('offset=0&timeout=0&max_bytes=1');

      // Assess
      expect(reply.status).toBe(404);
      expect(json(reply)).toEqual({ error_code: 404, message: 'HTTP 404 Not Found' });
    },
  );
});

describe('v2 routes Redpanda does not have (pandaproxy rest/proxy.cc)', () => {
  const base = '/consumers/g/instances/c';
  const tp = { topic: 'demo', partition: 0 };
  const calls = [
    { method: 'POST', path: `${base}/assignments`, body: { partitions: [tp] }, status: 204 },
    { method: 'GET', path: `${base}/assignments`, body: undefined, status: 200 },
    { method: 'POST', path: `${base}/positions`, body: { offsets: [{ ...tp, offset: 0 }] }, status: 204 },
    { method: 'POST', path: `${base}/positions/beginning`, body: { partitions: [tp] }, status: 204 },
    { method: 'POST', path: `${base}/positions/end`, body: { partitions: [tp] }, status: 204 },
    { method: 'GET', path: '/topics/demo/partitions/0/offsets', body: undefined, status: 200 },
  ];

  const createInstance = () =>
    call('POST', '/consumers/g', { headers: V2_CONTROL, body: { name: 'c', format: 'binary' } });

  it.each(calls)('redpanda: $method $path → Seastar 404', async ({ method, path, body }) => {
    // Prepare
    await start();
    // The instance exists, so the 404 is the route's, not a 40403.
    expect((await createInstance()).status).toBe(200);

    // Act
    const reply = await call(method, path, { headers: V2_CONTROL, body });

    // Assess
    expect(reply.status).toBe(404);
    expect(reply.contentType).toBe('application/json');
    expect(json(reply)).toEqual(SEASTAR_NOT_FOUND);
  });

  it('redpanda: the absent routes answer no OPTIONS either', async () => {
    // Prepare
    await start();

    // Act
    const reply = await call('OPTIONS', '/topics/demo/partitions/0/offsets');

    // Assess
    expect(reply.status).toBe(404);
    expect(reply.headers.allow).toBeUndefined();
    expect(json(reply)).toEqual(SEASTAR_NOT_FOUND);
  });

  it.each(['confluent', 'karapace'] as const)('%s still serves every one of them', async (flavor) => {
    // Prepare
    await start({ flavor });
    expect((await createInstance()).status).toBe(200);

    // Act
    const replies: RawReply[] = [];
    for (const { method, path, body } of calls) {
      replies.push(await call(method, path, { headers: V2_CONTROL, body }));
    }

    // Assess
    expect(replies.map((r) => r.status)).toEqual(calls.map((c) => c.status));
  });
});

describe('redpanda consumer create: earliest, no auto-commit (create_consumer)', () => {
  it.each([
    { config: { 'auto.offset.reset': 'latest' }, message: 'auto.offset must be earliest' },
    { config: { 'auto.offset.reset': 'none' }, message: 'auto.offset must be earliest' },
    { config: { 'auto.offset.reset': 'smallest' }, message: 'auto.offset must be earliest' },
    { config: { 'auto.commit.enable': 'true' }, message: 'auto.commit must be false' },
    // Its parser takes these settings as strings only.
    { config: { 'auto.commit.enable': false }, message: 'auto.commit must be false' },
  ])('$config → 400/40002 $message', async ({ config, message }) => {
    // Prepare
    const s = await start();

    // Act
    const reply = await call('POST', '/consumers/g', { headers: V2_CONTROL, body: config });

    // Assess
    expect(reply.status).toBe(400);
    expect(reply.contentType).toBe(V2);
    expect(json(reply)).toEqual({ error_code: 40002, message });
    expect(s.consumerInstances()).toBe(0);
  });

  it('accepts earliest and false when given', async () => {
    // Prepare
    await start();

    // Act
    const reply = await call('POST', '/consumers/g', {
      headers: V2_CONTROL,
      body: { name: 'c', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' },
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(json(reply)).toMatchObject({ instance_id: 'c' });
  });

  it('reads from the earliest offset when auto.offset.reset is left out (its only policy)', async () => {
    // Prepare
    const s = await start();
    appendBatch(s, 'a', 'b');
    const created = await call('POST', '/consumers/g', { headers: V2_CONTROL, body: { name: 'c' } });
    const instance = '/consumers/g/instances/c';
    await call('POST', `${instance}/subscription`, { headers: V2_CONTROL, body: { topics: ['demo'] } });

    // Act
    const join = await call('GET', `${instance}/records`, { headers: READ });
    const read = await call('GET', `${instance}/records`, { headers: READ });

    // Assess
    expect(created.status).toBe(200);
    expect(json(join)).toEqual([]);
    expect(offsetsOf(read)).toEqual([0, 1]);
  });

  it('leaves the other flavors alone: confluent creates a latest, auto-committing instance', async () => {
    // Prepare
    await start({ flavor: 'confluent' });

    // Act
    const reply = await call('POST', '/consumers/g', {
      headers: V2_CONTROL,
      body: { 'auto.offset.reset': 'latest', 'auto.commit.enable': 'true' },
    });

    // Assess
    expect(reply.status).toBe(200);
  });
});
