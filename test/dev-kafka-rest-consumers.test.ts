import { describe, expect, it } from 'vitest';
import type { RawReply } from '../dev/kafka-rest/raw-client.js';
import { b64, rawCall } from '../dev/kafka-rest/raw-client.js';
import type { KafkaRestServer } from '../dev/kafka-rest/server.js';
import { json, localServerHarness } from './helpers/local-server.js';

const V1 = 'application/vnd.kafka.v1+json';
const BINARY_V1 = 'application/vnd.kafka.binary.v1+json';
const V2 = 'application/vnd.kafka.v2+json';
const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
const V2_CONTROL = { 'content-type': V2, accept: V2 };

const { start, call } = localServerHarness({ topics: { demo: 2, other: 1 } });

const seed = (s: KafkaRestServer, topic: string, partition: number, ...values: string[]): void => {
  s.append(
    topic,
    partition,
    values.map((v) => ({ value: Buffer.from(v) })),
  );
};

/** base64 → text of each record, for compact assertions. */
const decoded = (
  reply: RawReply,
): { topic?: string; partition: number; offset: number; value: string | null }[] =>
  (json(reply) as { topic?: string; partition: number; offset: number; value: string | null }[]).map((r) => ({
    ...(r.topic === undefined ? {} : { topic: r.topic }),
    partition: r.partition,
    offset: r.offset,
    value: r.value === null ? null : Buffer.from(r.value, 'base64').toString(),
  }));

// ───────────────────────────────────────── v2 ─────────────────────────────────────────

const createV2 = async (group: string, config: Record<string, unknown> = {}): Promise<string> => {
  const reply = await call('POST', `/consumers/${group}`, { headers: V2_CONTROL, body: config });
  expect(reply.status).toBe(200);
  const { instance_id: id } = json(reply) as { instance_id: string };
  return `/consumers/${group}/instances/${encodeURIComponent(id)}`;
};

const assign = (base: string, partitions: { topic: string; partition: number }[]) =>
  call('POST', `${base}/assignments`, { headers: V2_CONTROL, body: { partitions } });

const readRecords = (base: string, query = '') =>
  call('GET', `${base}/records${query}`, { headers: { accept: BINARY_V2 } });

describe('v2 consumer instances (protocol doc §6)', () => {
  it('runs the checkpointed-read recipe: create, assign, seek, read, commit, read offsets, delete', async () => {
    // Prepare
    const s = await start();
    seed(s, 'demo', 1, 'r0', 'r1', 'r2', 'r3');

    // Act
    const created = await call('POST', '/consumers/drain', {
      headers: V2_CONTROL,
      body: { name: 'd-1', format: 'binary', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' },
    });
    const base = '/consumers/drain/instances/d-1';
    const assigned = await assign(base, [{ topic: 'demo', partition: 1 }]);
    const seeked = await call('POST', `${base}/positions`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 1, offset: 1 }] },
    });
    const warmup = await readRecords(base, '?timeout=100&max_bytes=1048576');
    const first = await readRecords(base, '?timeout=100&max_bytes=1048576');
    const caughtUp = await readRecords(base);
    const committed = await call('POST', `${base}/offsets`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 1, offset: 3 }] },
    });
    const offsets = await call('GET', `${base}/offsets`, {
      headers: V2_CONTROL,
      body: {
        partitions: [
          { topic: 'demo', partition: 1 },
          { topic: 'demo', partition: 0 },
        ],
      },
    });
    const deleted = await call('DELETE', base, { headers: { accept: V2 } });
    const gone = await readRecords(base);

    // Assess
    expect(created.contentType).toBe(V2);
    expect(json(created)).toEqual({ instance_id: 'd-1', base_uri: `${s.url}/consumers/drain/instances/d-1` });
    expect(assigned.status).toBe(204);
    expect(seeked.status).toBe(204);
    // The first read after a seek is `[]` (deterministic, emptyReadsAfterSeek = 1); it is not the log end.
    expect(json(warmup)).toEqual([]);
    expect(first.contentType).toBe(BINARY_V2);
    expect(decoded(first)).toEqual([
      { topic: 'demo', partition: 1, offset: 1, value: 'r1' },
      { topic: 'demo', partition: 1, offset: 2, value: 'r2' },
      { topic: 'demo', partition: 1, offset: 3, value: 'r3' },
    ]);
    expect(json(first)).toEqual(expect.arrayContaining([expect.objectContaining({ key: null })]));
    expect(json(caughtUp)).toEqual([]);
    expect(committed.status).toBe(200);
    expect(json(committed)).toEqual([]);
    // The proxy commits offset + 1; partition 0 has no commit and is left out.
    expect(json(offsets)).toEqual({ offsets: [{ topic: 'demo', partition: 1, offset: 4, metadata: '' }] });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(gone.status).toBe(404);
    expect(json(gone)).toEqual({ error_code: 40403, message: 'Consumer instance not found.' });
    expect(s.consumerInstances()).toBe(0);
  });

  it('builds base_uri from the Host header and generates an id for an empty body', async () => {
    // Prepare
    await start();

    // Act
    const reply = await call('POST', '/consumers/g', {
      headers: { ...V2_CONTROL, host: 'proxy.example:8082' },
    });

    // Assess
    const body = json(reply) as { instance_id: string; base_uri: string };
    expect(body.instance_id).toMatch(/^rest-consumer-[0-9a-f-]{36}$/);
    expect(body.base_uri).toBe(`http://proxy.example:8082/consumers/g/instances/${body.instance_id}`);
  });

  it.each([
    { name: 'a duplicate name', body: { name: 'dup' }, status: 409, code: 40902 },
    { name: 'a v1 reset value', body: { 'auto.offset.reset': 'smallest' }, status: 422, code: 42204 },
    { name: 'a bad auto.commit.enable', body: { 'auto.commit.enable': 'yes' }, status: 422, code: 42204 },
    { name: 'an unknown format', body: { format: 'xml' }, status: 422, code: 422 },
    { name: 'a format other than binary', body: { format: 'avro' }, status: 422, code: 422 },
    { name: 'an unknown field', body: { 'max.poll.records': 5 }, status: 422, code: 422 },
    { name: 'a negative fetch.min.bytes', body: { 'fetch.min.bytes': -1 }, status: 422, code: 40001 },
  ])('create with $name → $status/$code', async ({ body, status, code }) => {
    // Prepare
    await start();
    await call('POST', '/consumers/g', { headers: V2_CONTROL, body: { name: 'dup' } });

    // Act
    const reply = await call('POST', '/consumers/g', { headers: V2_CONTROL, body });

    // Assess
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe(V2);
    expect((json(reply) as { error_code: number }).error_code).toBe(code);
  });

  it('409/40903 for a seek on a partition that is not assigned', async () => {
    // Prepare
    await start();
    const base = await createV2('g');
    await assign(base, [{ topic: 'demo', partition: 0 }]);

    // Act
    const positions = await call('POST', `${base}/positions`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 1, offset: 0 }] },
    });
    const beginning = await call('POST', `${base}/positions/beginning`, {
      headers: V2_CONTROL,
      body: { partitions: [{ topic: 'other', partition: 0 }] },
    });

    // Assess
    expect(positions.status).toBe(409);
    expect(json(positions)).toEqual({
      error_code: 40903,
      message: 'Illegal state: No current assignment for partition demo-1',
    });
    expect((json(beginning) as { error_code: number }).error_code).toBe(40903);
  });

  it('seeks to the beginning and to the end (evaluated at the next read)', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    seed(s, 'demo', 0, 'a', 'b');
    s.truncateBefore('demo', 0, 1);
    const base = await createV2('g', { 'auto.offset.reset': 'latest' });
    await assign(base, [{ topic: 'demo', partition: 0 }]);
    const tp = { partitions: [{ topic: 'demo', partition: 0 }] };

    // Act
    const atLatest = await readRecords(base);
    await call('POST', `${base}/positions/beginning`, { headers: V2_CONTROL, body: tp });
    const fromBeginning = await readRecords(base);
    await call('POST', `${base}/positions/end`, { headers: V2_CONTROL, body: tp });
    // Kafka resolves seekToEnd at the next poll, so a record written in between is skipped too.
    seed(s, 'demo', 0, 'c');
    const atEnd = await readRecords(base);
    seed(s, 'demo', 0, 'd');
    const afterEnd = await readRecords(base);

    // Assess
    expect(json(atLatest)).toEqual([]);
    expect(decoded(fromBeginning).map((r) => r.value)).toEqual(['b']);
    expect(json(atEnd)).toEqual([]);
    expect(decoded(afterEnd).map((r) => r.value)).toEqual(['d']);
  });

  it('GET assignments echoes the assignment', async () => {
    // Prepare
    await start();
    const base = await createV2('g');
    const partitions = [
      { topic: 'demo', partition: 1 },
      { topic: 'other', partition: 0 },
    ];
    await assign(base, partitions);

    // Act
    const reply = await call('GET', `${base}/assignments`, { headers: { accept: V2 } });

    // Assess
    expect(json(reply)).toEqual({ partitions });
  });

  it.each([
    { name: 'an unknown topic', partitions: [{ topic: 'nope', partition: 0 }], code: 40401 },
    { name: 'an unknown partition', partitions: [{ topic: 'demo', partition: 2 }], code: 40402 },
  ])('assigning $name → 404/$code', async ({ partitions, code }) => {
    // Prepare
    await start();
    const base = await createV2('g');

    // Act
    const reply = await assign(base, partitions);

    // Assess
    expect(reply.status).toBe(404);
    expect((json(reply) as { error_code: number }).error_code).toBe(code);
  });

  it('caps a read by max_bytes, but always returns at least one record', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    seed(s, 'demo', 0, 'aaaa', 'bbbb', 'cccc');
    const base = await createV2('g', { 'auto.offset.reset': 'earliest' });
    await assign(base, [{ topic: 'demo', partition: 0 }]);

    // Act
    const one = await readRecords(base, '?max_bytes=1');
    const two = await readRecords(base, '?max_bytes=8');

    // Assess
    expect(decoded(one).map((r) => r.offset)).toEqual([0]);
    expect(decoded(two).map((r) => r.offset)).toEqual([1, 2]);
  });

  it.each([
    {
      name: 'the json embedded format → 406/40601',
      accept: 'application/vnd.kafka.json.v2+json',
      status: 406,
      code: 40601,
    },
    {
      name: 'the avro embedded format → 406/40601',
      accept: 'application/vnd.kafka.avro.v2+json',
      status: 406,
      code: 40601,
    },
    { name: 'text/plain → 406, no body', accept: 'text/plain', status: 406, code: undefined },
    { name: 'no Accept → binary', accept: undefined, status: 200, code: undefined },
  ])('records with Accept $name', async ({ accept, status, code }) => {
    // Prepare
    await start();
    const base = await createV2('g');
    await assign(base, [{ topic: 'demo', partition: 0 }]);

    // Act
    const reply = await call('GET', `${base}/records`, { headers: accept === undefined ? {} : { accept } });

    // Assess
    expect(reply.status).toBe(status);
    if (code === undefined && status === 406) expect(reply.text).toBe('');
    if (code !== undefined) expect((json(reply) as { error_code: number }).error_code).toBe(code);
    if (status === 200) expect(reply.contentType).toBe(BINARY_V2);
  });

  it('GET offsets with no body → 404/40402', async () => {
    // Prepare
    await start();
    const base = await createV2('g');

    // Act
    const reply = await call('GET', `${base}/offsets`, { headers: { accept: V2 } });

    // Assess
    expect(reply.status).toBe(404);
    expect(json(reply)).toEqual({ error_code: 40402, message: 'Partition not found.' });
  });

  it('an empty commit commits every current position; a new instance of the group resumes there', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    seed(s, 'demo', 0, 'a', 'b', 'c');
    const first = await createV2('g', { 'auto.offset.reset': 'earliest' });
    await assign(first, [{ topic: 'demo', partition: 0 }]);
    await readRecords(first, '?max_bytes=1');
    const commit = await call('POST', `${first}/offsets`, { headers: { accept: V2 } });
    await call('DELETE', first);

    // Act
    const second = await createV2('g', { 'auto.offset.reset': 'earliest' });
    await assign(second, [{ topic: 'demo', partition: 0 }]);
    const resumed = await readRecords(second);

    // Assess
    expect(commit.status).toBe(200);
    expect(decoded(resumed).map((r) => r.value)).toEqual(['b', 'c']);
  });

  it('auto.commit.enable "true" commits what each read returned', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    seed(s, 'demo', 0, 'a', 'b');
    const base = await createV2('g', { 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'true' });
    await assign(base, [{ topic: 'demo', partition: 0 }]);

    // Act
    await readRecords(base);
    const offsets = await call('GET', `${base}/offsets`, {
      headers: V2_CONTROL,
      body: { partitions: [{ topic: 'demo', partition: 0 }] },
    });

    // Assess
    expect(json(offsets)).toEqual({ offsets: [{ topic: 'demo', partition: 0, offset: 2, metadata: '' }] });
  });

  it.each([
    { reset: 'earliest', values: ['b', 'c'] },
    { reset: 'latest', values: [] },
  ])('a position below the log start resets to $reset', async ({ reset, values }) => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    seed(s, 'demo', 0, 'a', 'b', 'c');
    s.truncateBefore('demo', 0, 1);
    const base = await createV2('g', { 'auto.offset.reset': reset });
    await assign(base, [{ topic: 'demo', partition: 0 }]);
    await call('POST', `${base}/positions`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 0, offset: 0 }] },
    });

    // Act
    const reply = await readRecords(base);

    // Assess
    expect(decoded(reply).map((r) => r.value)).toEqual(values);
  });

  it('with auto.offset.reset "none", an out-of-range position fails the read with 500/50002', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    seed(s, 'demo', 0, 'a', 'b');
    s.truncateBefore('demo', 0, 2);
    const base = await createV2('g', { 'auto.offset.reset': 'none' });
    await assign(base, [{ topic: 'demo', partition: 0 }]);
    await call('POST', `${base}/positions`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 0, offset: 1 }] },
    });

    // Act
    const reply = await readRecords(base);

    // Assess
    expect(reply.status).toBe(500);
    expect(json(reply)).toMatchObject({ error_code: 50002 });
    expect((json(reply) as { message: string }).message).toMatch(/^Kafka error: Offsets out of range/);
  });

  it.each([
    { name: 'emptyReadsAfterSeek 0', emptyReadsAfterSeek: 0, reads: [['a']] },
    { name: 'the default (1)', emptyReadsAfterSeek: undefined, reads: [[], ['a']] },
    { name: 'emptyReadsAfterSeek 2', emptyReadsAfterSeek: 2, reads: [[], [], ['a']] },
  ])('reads after an assign with $name', async ({ emptyReadsAfterSeek, reads }) => {
    // Prepare
    const s = await start(emptyReadsAfterSeek === undefined ? {} : { emptyReadsAfterSeek });
    seed(s, 'demo', 0, 'a');
    const base = await createV2('g', { 'auto.offset.reset': 'earliest' });
    await assign(base, [{ topic: 'demo', partition: 0 }]);

    // Act
    const got: string[][] = [];
    for (let i = 0; i < reads.length; i++) {
      got.push(decoded(await readRecords(base)).map((r) => r.value ?? ''));
    }

    // Assess
    expect(got).toEqual(reads);
  });

  it('a read at the log end waits for new records (long poll) when a request timeout is set', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0, consumerRequestTimeoutMs: 10_000 });
    const base = await createV2('g', { 'auto.offset.reset': 'latest' });
    await assign(base, [{ topic: 'demo', partition: 0 }]);
    await readRecords(base, '?timeout=0');

    // Act
    const pending = readRecords(base, '?timeout=10000');
    await expect.poll(() => s.requests.length).toBe(4);
    const offsets = await produce(s, 'demo', 0, 'late');
    const reply = await pending;

    // Assess
    expect(offsets).toBe(200);
    expect(decoded(reply).map((r) => r.value)).toEqual(['late']);
  });

  it('subscription: the first read joins the group ([]), then reads every partition of the topics', async () => {
    // Prepare
    const s = await start();
    seed(s, 'demo', 0, 'a');
    seed(s, 'demo', 1, 'b');
    const base = await createV2('g', { 'auto.offset.reset': 'earliest' });

    // Act
    const subscribed = await call('POST', `${base}/subscription`, {
      headers: V2_CONTROL,
      body: { topics: ['demo'] },
    });
    const mixed = await assign(base, [{ topic: 'demo', partition: 0 }]);
    const join = await readRecords(base);
    const data = await readRecords(base);
    const topics = await call('GET', `${base}/subscription`, { headers: { accept: V2 } });
    const unsubscribed = await call('DELETE', `${base}/subscription`, { headers: { accept: V2 } });

    // Assess
    expect(subscribed.status).toBe(204);
    expect(mixed.status).toBe(409);
    expect((json(mixed) as { error_code: number }).error_code).toBe(40903);
    expect(json(join)).toEqual([]);
    expect(decoded(data).map((r) => r.value)).toEqual(['a', 'b']);
    expect(json(topics)).toEqual({ topics: ['demo'] });
    expect(unsubscribed.status).toBe(204);
  });

  it('redpanda commits take a "partitions" list; "offsets" is an unknown field there', async () => {
    // Prepare
    await start({ flavor: 'redpanda' });
    const base = await createV2('g');

    // Act
    const wrong = await call('POST', `${base}/offsets`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 0, offset: 4 }] },
    });
    const right = await call('POST', `${base}/offsets`, {
      headers: V2_CONTROL,
      body: { partitions: [{ topic: 'demo', partition: 0, offset: 4 }] },
    });
    const offsets = await call('GET', `${base}/offsets`, {
      headers: V2_CONTROL,
      body: { partitions: [{ topic: 'demo', partition: 0 }] },
    });

    // Assess
    expect(wrong.status).toBe(422);
    expect(json(wrong)).toEqual({ error_code: 422, message: 'Unrecognized field: offsets' });
    expect(right.status).toBe(200);
    expect(json(offsets)).toEqual({ offsets: [{ topic: 'demo', partition: 0, offset: 5, metadata: '' }] });
  });

  it.each([
    { name: 'a v1 Content-Type on a v2-only call → 415', headers: { 'content-type': V1 }, status: 415 },
    { name: 'no Content-Type on assignments → 415', headers: {} as Record<string, string>, status: 415 },
    {
      name: 'an Accept v2 cannot produce → 406',
      headers: { 'content-type': V2, accept: 'application/json' },
      status: 406,
    },
  ])('$name', async ({ headers, status }) => {
    // Prepare
    await start();
    const base = await createV2('g');

    // Act
    const reply = await call('POST', `${base}/assignments`, { headers, body: { partitions: [] } });

    // Assess
    expect(reply.status).toBe(status);
  });
});

describe('v2 instance lifetime: idle expiry and the proxy restart (recreate on 40403)', () => {
  it('an instance unused for consumerIdleMs vanishes; each call restarts its idle clock', async () => {
    // Prepare
    let clock = 1_000_000;
    const s = await start({ consumerIdleMs: 1000, now: () => clock });
    const kept = await createV2('g', { name: 'kept' });
    const idle = await createV2('g', { name: 'idle' });

    // Act
    clock += 600;
    const touch = await call('GET', `${kept}/assignments`, { headers: { accept: V2 } });
    clock += 600;
    const keptAfter = await call('GET', `${kept}/assignments`, { headers: { accept: V2 } });
    const idleAfter = await call('GET', `${idle}/assignments`, { headers: { accept: V2 } });

    // Assess
    expect(touch.status).toBe(200);
    expect(keptAfter.status).toBe(200);
    expect(idleAfter.status).toBe(404);
    expect(json(idleAfter)).toEqual({ error_code: 40403, message: 'Consumer instance not found.' });
    expect(s.consumerInstances()).toBe(1);
  });

  it('the restart-consumers fault drops every instance before the matching request; commits survive', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    seed(s, 'demo', 0, 'a', 'b', 'c');
    const base = await createV2('g', { name: 'c1', 'auto.offset.reset': 'earliest' });
    await assign(base, [{ topic: 'demo', partition: 0 }]);
    await readRecords(base, '?max_bytes=1');
    await call('POST', `${base}/offsets`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 0, offset: 0 }] },
    });
    s.inject({ kind: 'restart-consumers', match: { path: /\/records$/ } });

    // Act
    const lost = await readRecords(base);
    // The client's recovery: recreate (same name is free again), assign, read from the committed offset.
    const again = await createV2('g', { name: 'c1', 'auto.offset.reset': 'earliest' });
    await assign(again, [{ topic: 'demo', partition: 0 }]);
    const resumed = await readRecords(again);

    // Assess
    expect(lost.status).toBe(404);
    expect((json(lost) as { error_code: number }).error_code).toBe(40403);
    expect(decoded(resumed).map((r) => r.value)).toEqual(['b', 'c']);
  });

  it('restartConsumers() drops v1 and v2 instances at once', async () => {
    // Prepare
    const s = await start();
    await createV2('g');
    await call('POST', '/consumers/old', { headers: { 'content-type': BINARY_V1 }, body: { id: 'x' } });

    // Act
    const before = s.consumerInstances();
    s.restartConsumers();

    // Assess
    expect(before).toBe(2);
    expect(s.consumerInstances()).toBe(0);
  });
});

// ───────────────────────────────────────── v1 ─────────────────────────────────────────

const createV1 = async (group: string, config: Record<string, unknown> = {}): Promise<string> => {
  const reply = await call('POST', `/consumers/${group}`, {
    headers: { 'content-type': BINARY_V1 },
    body: config,
  });
  expect(reply.status).toBe(200);
  const { instance_id: id } = json(reply) as { instance_id: string };
  return `/consumers/${group}/instances/${encodeURIComponent(id)}`;
};

const readV1 = (base: string, topic: string, accept: string | undefined = BINARY_V1, query = '') =>
  call('GET', `${base}/topics/${topic}${query}`, { headers: accept === undefined ? {} : { accept } });

const produce = async (
  s: KafkaRestServer,
  topic: string,
  partition: number,
  value: string,
): Promise<number> => {
  const reply = await rawCall(s.url, 'POST', `/topics/${topic}/partitions/${partition}`, {
    headers: { 'content-type': BINARY_V1 },
    body: JSON.stringify({ records: [{ value: b64(value) }] }),
  });
  return reply.status;
};

describe('v1 consumer instances (protocol doc §2.6, IBM Message Hub)', () => {
  it('runs IBM’s flow: create by id, read (subscribes), commit, delete; the group resumes after the commit', async () => {
    // Prepare
    const s = await start();
    seed(s, 'demo', 0, 'a', 'b');
    seed(s, 'demo', 1, 'c');

    // Act
    const created = await call('POST', '/consumers/ibm', {
      headers: { 'content-type': BINARY_V1 },
      body: {
        id: 'my-consumer',
        format: 'binary',
        'auto.offset.reset': 'smallest',
        'auto.commit.enable': 'false',
      },
    });
    const base = '/consumers/ibm/instances/my-consumer';
    const read = await readV1(base, 'demo');
    const commit = await call('POST', `${base}/offsets`);
    const deleted = await call('DELETE', base);
    seed(s, 'demo', 0, 'd');
    const next = await createV1('ibm', { id: 'my-consumer', 'auto.offset.reset': 'smallest' });
    const resumed = await readV1(next, 'demo');

    // Assess
    expect(created.contentType).toBe(V1);
    expect(json(created)).toEqual({
      instance_id: 'my-consumer',
      base_uri: `${s.url}/consumers/ibm/instances/my-consumer`,
    });
    expect(read.contentType).toBe(BINARY_V1);
    expect(decoded(read)).toEqual([
      { partition: 0, offset: 0, value: 'a' },
      { partition: 0, offset: 1, value: 'b' },
      { partition: 1, offset: 0, value: 'c' },
    ]);
    expect(json(commit)).toEqual([
      { topic: 'demo', partition: 0, consumed: 1, committed: 1 },
      { topic: 'demo', partition: 1, consumed: 0, committed: 0 },
    ]);
    expect(deleted.status).toBe(204);
    expect(decoded(resumed).map((r) => r.value)).toEqual(['d']);
  });

  it('"id" overrides "name", and an empty body is allowed', async () => {
    // Prepare
    await start();

    // Act
    const both = await call('POST', '/consumers/g', {
      headers: { 'content-type': BINARY_V1 },
      body: { name: 'n', id: 'i' },
    });
    const empty = await call('POST', '/consumers/g');

    // Assess
    expect((json(both) as { instance_id: string }).instance_id).toBe('i');
    expect(empty.status).toBe(200);
    expect((json(empty) as { instance_id: string }).instance_id).toMatch(/^rest-consumer-/);
  });

  it('defaults to "largest": a new instance reads only what arrives after its subscription', async () => {
    // Prepare
    const s = await start();
    seed(s, 'demo', 0, 'old');
    const base = await createV1('g');

    // Act
    const first = await readV1(base, 'demo');
    seed(s, 'demo', 0, 'new');
    const second = await readV1(base, 'demo');

    // Assess
    expect(json(first)).toEqual([]);
    expect(decoded(second).map((r) => r.value)).toEqual(['new']);
  });

  it.each([
    { name: 'a second topic → 409/40901', topic: 'other', accept: BINARY_V1, status: 409, code: 40901 },
    {
      name: 'Accept json embedded → 406/40601',
      topic: 'demo',
      accept: 'application/vnd.kafka.json.v1+json',
      status: 406,
      code: 40601,
    },
    {
      name: 'Accept avro embedded → 406/40601',
      topic: 'demo',
      accept: 'application/vnd.kafka.avro.v1+json',
      status: 406,
      code: 40601,
    },
    { name: 'an unknown topic → 404/40401', topic: 'nope', accept: BINARY_V1, status: 404, code: 40401 },
    {
      name: 'Accept text/plain → 406 with no body',
      topic: 'demo',
      accept: 'text/plain',
      status: 406,
      code: undefined,
    },
  ])('read with $name', async ({ topic, accept, status, code }) => {
    // Prepare
    await start();
    const base = await createV1('g');
    await readV1(base, 'demo');

    // Act
    const reply = await readV1(base, topic, accept);

    // Assess
    expect(reply.status).toBe(status);
    if (code === undefined) expect(reply.text).toBe('');
    else expect((json(reply) as { error_code: number }).error_code).toBe(code);
  });

  it.each([
    { name: 'no Accept → binary', accept: undefined, contentType: BINARY_V1 },
    {
      name: 'application/json → the binary read, echoed',
      accept: 'application/json',
      contentType: 'application/json',
    },
  ])('read with $name', async ({ accept, contentType }) => {
    // Prepare
    await start();
    const base = await createV1('g');

    // Act
    const reply = await readV1(base, 'demo', accept);

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(contentType);
  });

  it.each([
    { name: 'a duplicate id', body: { id: 'dup' }, status: 409, code: 40902 },
    { name: 'a v2 reset value', body: { 'auto.offset.reset': 'earliest' }, status: 422, code: 42204 },
    { name: 'the avro format (binary only here)', body: { format: 'avro' }, status: 422, code: 422 },
    { name: 'an unknown format', body: { format: 'xml' }, status: 422, code: 422 },
    { name: 'a v2-only field', body: { 'fetch.min.bytes': 1 }, status: 422, code: 422 },
  ])('create with $name → $status/$code', async ({ body, status, code }) => {
    // Prepare
    await start();
    await createV1('g', { id: 'dup' });

    // Act
    const reply = await call('POST', '/consumers/g', { headers: { 'content-type': BINARY_V1 }, body });

    // Assess
    expect(reply.status).toBe(status);
    expect((json(reply) as { error_code: number }).error_code).toBe(code);
  });

  it('a v1 instance is not reachable through v2 calls, nor a v2 one through the v1 read (40403)', async () => {
    // Prepare
    await start();
    const v1 = await createV1('g', { id: 'one' });
    const v2 = await createV2('g', { name: 'two' });

    // Act
    const v1AsV2 = await readRecords(v1);
    const v2AsV1 = await readV1(v2, 'demo');

    // Assess
    expect((json(v1AsV2) as { error_code: number }).error_code).toBe(40403);
    expect((json(v2AsV1) as { error_code: number }).error_code).toBe(40403);
  });

  it('refuses a request while another one is in progress on the same instance (IBM)', async () => {
    // Prepare
    const s = await start({ consumerRequestTimeoutMs: 10_000 });
    seed(s, 'demo', 0, 'first');
    const base = await createV1('g', { 'auto.offset.reset': 'smallest' });
    expect(decoded(await readV1(base, 'demo')).map((r) => r.value)).toEqual(['first']);
    const requestsBefore = s.requests.length;

    // Act: a read at the log end waits for records; a commit and a delete arrive meanwhile.
    const pending = readV1(base, 'demo');
    await expect.poll(() => s.requests.length).toBe(requestsBefore + 1);
    const commit = await call('POST', `${base}/offsets`);
    const remove = await call('DELETE', base);
    expect(await produce(s, 'demo', 1, 'wake')).toBe(200);
    const read = await pending;
    const commitAfter = await call('POST', `${base}/offsets`);

    // Assess
    expect(commit.status).toBe(409);
    expect((json(commit) as { message: string }).message).toMatch(/Another request is in progress/);
    expect(remove.status).toBe(409);
    expect(decoded(read).map((r) => r.value)).toEqual(['wake']);
    expect(json(commitAfter)).toEqual([
      { topic: 'demo', partition: 0, consumed: 0, committed: 0 },
      { topic: 'demo', partition: 1, consumed: 0, committed: 0 },
    ]);
  });

  it('the daily restart: afterwards the instance answers 40403 "Consumer instance not found."', async () => {
    // Prepare
    const s = await start();
    const base = await createV1('g');
    s.inject({ kind: 'restart-consumers' });

    // Act
    const reply = await readV1(base, 'demo');

    // Assess
    expect(reply.status).toBe(404);
    expect(json(reply)).toEqual({ error_code: 40403, message: 'Consumer instance not found.' });
  });

  it('an unknown instance on commit and delete → 404/40403', async () => {
    // Prepare
    await start();

    // Act
    const commit = await call('POST', '/consumers/g/instances/nope/offsets');
    const remove = await call('DELETE', '/consumers/g/instances/nope');

    // Assess
    expect((json(commit) as { error_code: number }).error_code).toBe(40403);
    expect((json(remove) as { error_code: number }).error_code).toBe(40403);
  });
});
