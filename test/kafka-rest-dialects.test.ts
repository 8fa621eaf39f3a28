import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isAppError, type UpstreamError } from '../lib/core/errors.js';
import { basicAuth, noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest, type KafkaRestOptions } from '../lib/kafka-rest/client.js';
import { isOffsetOutOfRangeError } from '../lib/kafka-rest/errors.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import { literalSecret } from '../lib/secrets/cache.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import {
  bytes,
  type DialectCase,
  deadlineIn,
  failureOf,
  itWhere,
  type KafkaRestFixture,
  LOCAL_CLUSTER_ID,
  PRODUCE_DIALECTS,
  producePath,
  READ_DIALECTS,
  sentRecords,
  startKafkaRestWithClient,
} from './helpers/kafka-rest.js';

const V3_PATH = `/v3/clusters/${LOCAL_CLUSTER_ID}/topics/demo/records`;
/** v2 servers that read through consumer instances; Redpanda's proxy has no assignments or positions. */
const V2_INSTANCE_DIALECTS = READ_DIALECTS.filter((c) => c.dialect === 'v2' && c.flavor !== 'redpanda');
const REDPANDA = READ_DIALECTS.find((c) => c.flavor === 'redpanda') as DialectCase;

const MEDIA = {
  v1: { contentType: 'application/vnd.kafka.binary.v1+json', accept: 'application/vnd.kafka.v1+json' },
  v2: { contentType: 'application/vnd.kafka.binary.v2+json', accept: 'application/vnd.kafka.v2+json' },
  v3: { contentType: 'application/json', accept: 'application/json' },
} as const;

/** What each flavor sends for a record Confluent would fail with 50002 (the server's translation). */
const FINAL_CODE = { confluent: 50002, karapace: 1, redpanda: 10, strimzi: 500 } as const;

/** Flavors whose per-record "too large" code is not final by the server's own definition. */
const NOT_FINAL_TOO_LARGE: ReadonlySet<string> = new Set(['karapace', 'strimzi']);

const texts = (stored: { value: Buffer | null }[]): (string | null)[] =>
  stored.map((record) => (record.value === null ? null : record.value.toString()));

const fourRecords: ProduceRecord[] = ['r0', 'r1', 'r2', 'r3'].map((value) => ({
  value: bytes(value),
  partition: 0,
}));

describe.each(PRODUCE_DIALECTS)('produce over $name against the local Kafka REST server', (c) => {
  let kit: KafkaRestFixture;

  afterEach(async () => {
    await kit.close();
  });

  const start = async (client: Partial<KafkaRestOptions> = {}) => {
    kit = await startKafkaRestWithClient({ dialect: c, server: { topics: { demo: 2 } }, client });
  };

  it('round-trips keys, absent keys, binary values and tombstones (refused where they cannot be written)', async () => {
    // Prepare
    await start();
    const all: ProduceRecord[] = [
      { key: bytes('k1'), value: bytes('v1'), partition: 1 },
      { value: bytes('v2'), partition: 1 },
      { value: new Uint8Array([0xff, 0x00, 0x7f]), key: null, partition: 1 },
      { key: bytes('k4'), value: null, partition: 1 },
    ];

    // Act
    const results = await kit.client.produce('demo', all, deadlineIn());

    // Assess
    // Strimzi would store a null value as the three bytes base64 `null` decodes to (protocol doc §9).
    const refusesTombstones = c.flavor === 'strimzi' && c.dialect === 'v2';
    const records = refusesTombstones ? all.slice(0, 3) : all;
    if (refusesTombstones) {
      expect(failureOf(results[3])).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', retriable: false });
      expect(failureOf(results[3]).message).toMatch(
        /tombstone \(null value\) cannot be written through strimzi/,
      );
    }
    expect(results.slice(0, records.length)).toEqual(
      records.map((_, offset) => ({ ok: true, partition: 1, offset })),
    );
    // Karapace keeps a missing key as none but writes a null value as empty bytes (protocol doc §6).
    const tombstone = c.flavor === 'karapace' ? Buffer.alloc(0) : null;
    const stored = kit.server.records('demo', 1);
    expect(stored.map((record) => record.key)).toEqual(
      records.map((record) => (record.key ? Buffer.from(record.key) : null)),
    );
    expect(stored.map((record) => record.value)).toEqual(
      records.map((record) => (record.value === null ? tombstone : Buffer.from(record.value))),
    );
    expect(kit.server.requests).toHaveLength(1);
    const request = kit.server.requests[0];
    expect(request?.path).toBe(producePath(c));
    expect(request?.headers['content-type']).toBe(MEDIA[c.dialect].contentType);
    expect(request?.headers.accept).toBe(MEDIA[c.dialect].accept);
  });

  // Strimzi has no per-record code worth resending (its own test says why: test/kafka-rest-strimzi.test.ts).
  itWhere(c.flavor !== 'strimzi')(
    'resends only the records that failed retriably, in order, then succeeds',
    async () => {
      // Prepare
      await start();
      kit.server.inject({
        kind: 'record-errors',
        errors: { 1: { code: 50003 }, 3: { code: 50003 } },
        match: { method: 'POST', path: producePath(c) },
      });

      // Act
      const results = await kit.client.produce('demo', fourRecords, deadlineIn());

      // Assess
      expect(results.map((result) => (result.ok ? result.offset : -1))).toEqual([0, 2, 1, 3]);
      expect(kit.server.requests.map((request) => sentRecords(c, request.body).map((r) => r.value))).toEqual([
        ['r0', 'r1', 'r2', 'r3'],
        ['r1', 'r3'],
      ]);
      expect(texts(kit.server.records('demo', 0))).toEqual(['r0', 'r2', 'r1', 'r3']);
      expect(kit.sleeps).toEqual([50]);
    },
  );

  it("does not resend a record failed with the flavor's 'too large' code; rejects it for good where that code is final (not Karapace's 1, which includes timeouts)", async () => {
    // Prepare
    await start();
    kit.server.inject({
      kind: 'record-errors',
      errors: { 2: { code: 50002, message: 'too large, says the test' } },
      match: { method: 'POST', path: producePath(c) },
    });

    // Act
    const results = await kit.client.produce('demo', fourRecords, deadlineIn());

    // Assess
    expect(results.map((result) => result.ok)).toEqual([true, true, false, true]);
    const final = c.dialect === 'v3' || !NOT_FINAL_TOO_LARGE.has(c.flavor);
    expect(failureOf(results[2])).toMatchObject({
      code: final ? 'ERR_RECORD_REJECTED' : 'ERR_UPSTREAM_STATUS',
      retriable: !final,
      kafkaErrorCode: c.dialect === 'v3' ? 50002 : FINAL_CODE[c.flavor],
    });
    expect(kit.server.requests).toHaveLength(1);
    expect(texts(kit.server.records('demo', 0))).toEqual(['r0', 'r1', 'r3']);
  });

  it('honours Retry-After of a 429', async () => {
    // Prepare
    await start();
    kit.server.inject({ kind: 'throttle', retryAfterSeconds: 1, match: { method: 'POST' } });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn());

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    expect(kit.sleeps).toEqual([1_000]);
    expect(kit.server.requests).toHaveLength(2);
  });

  itWhere(c.flavor !== 'strimzi')(
    'reports a record that keeps failing retriably with its own code once the attempts run out',
    async () => {
      // Prepare
      await start({ maxAttempts: 2 });
      kit.server.inject({
        kind: 'record-errors',
        errors: { 0: { code: 50003 } },
        times: 2,
        match: { method: 'POST', path: producePath(c) },
      });

      // Act
      const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

      // Assess
      expect(results[1]).toEqual({ ok: true, partition: 0, offset: 0 });
      const retriableCode =
        c.dialect === 'v3' ? 50003 : { confluent: 50003, karapace: 2, redpanda: 6, strimzi: 500 }[c.flavor];
      expect(failureOf(results[0])).toMatchObject({
        code: 'ERR_UPSTREAM_STATUS',
        retriable: true,
        kafkaErrorCode: retriableCode,
      });
    },
  );
});

describe('dialect and flavor quirks against the local Kafka REST server', () => {
  let kit: KafkaRestFixture;

  afterEach(async () => {
    await kit.close();
  });

  it.each([
    { name: '400 (bad record)', code: 400, retriable: false },
    { name: '413 (too large)', code: 413, retriable: false },
    { name: '429 (throttled)', code: 429, retriable: true },
    { name: '408 (stream open too long)', code: 408, retriable: true },
    { name: '50003 (retriable Kafka error)', code: 50003, retriable: true },
    { name: '50002 (final Kafka error)', code: 50002, retriable: false },
  ])('v3: a per-record $name is resent only when retriable', async ({ code, retriable }) => {
    // Prepare
    kit = await startKafkaRestWithClient({ dialect: PRODUCE_DIALECTS[4] as DialectCase });
    kit.server.inject({
      kind: 'record-errors',
      errors: { 0: { code } },
      match: { method: 'POST', path: V3_PATH },
    });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

    // Assess
    expect(results[1]).toMatchObject({ ok: true, partition: 0 });
    if (retriable) {
      expect(results[0]).toMatchObject({ ok: true, partition: 0 });
      expect(kit.server.requests).toHaveLength(2);
    } else {
      expect(failureOf(results[0])).toMatchObject({
        code: 'ERR_RECORD_REJECTED',
        retriable: false,
        kafkaErrorCode: code,
      });
      expect(kit.server.requests).toHaveLength(1);
    }
  });

  it('v3: sends headers (repeated names, null values) with the record, and the proxy keeps them', async () => {
    // Prepare
    kit = await startKafkaRestWithClient({ dialect: PRODUCE_DIALECTS[4] as DialectCase });
    const headers = [
      { name: 'trace', value: bytes('t-1') },
      { name: 'trace', value: bytes('t-2') },
      { name: 'empty', value: null },
    ];

    // Act
    const results = await kit.client.produce(
      'demo',
      [{ value: bytes('v'), partition: 0, headers }],
      deadlineIn(),
    );

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    expect(JSON.parse(kit.server.requests[0]?.body ?? '')).toEqual({
      partition_id: 0,
      headers: [
        { name: 'trace', value: 'dC0x' },
        { name: 'trace', value: 'dC0y' },
        { name: 'empty', value: null },
      ],
      value: { type: 'BINARY', data: 'dg==' },
    });
    // Kept with the record, in order, as the proxy stored them.
    expect(kit.server.records('demo', 0)[0]?.headers).toEqual([
      { name: 'trace', value: Buffer.from('t-1') },
      { name: 'trace', value: Buffer.from('t-2') },
      { name: 'empty', value: null },
    ]);
  });

  it('v3: /kafka prefix (Confluent Cloud and Server paths)', async () => {
    // Prepare
    kit = await startKafkaRestWithClient({
      dialect: PRODUCE_DIALECTS[4] as DialectCase,
      client: { v3PathPrefix: '/kafka' },
    });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn());

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    expect(kit.server.requests[0]?.path).toBe(`/kafka${V3_PATH}`);
  });

  it.each(PRODUCE_DIALECTS.filter((c) => c.dialect !== 'v3' && c.flavor !== 'strimzi'))(
    '$name: a record with headers fails alone (ERR_PAYLOAD_INVALID) rather than lose them',
    async (c) => {
      // Prepare
      kit = await startKafkaRestWithClient({ dialect: c });
      const records: ProduceRecord[] = [
        { value: bytes('plain'), partition: 0 },
        { value: bytes('with headers'), partition: 0, headers: [{ name: 'h', value: bytes('x') }] },
      ];

      // Act
      const results = await kit.client.produce('demo', records, deadlineIn());

      // Assess
      expect(results[0]).toEqual({ ok: true, partition: 0, offset: 0 });
      expect(failureOf(results[1])).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', retriable: false });
      expect(failureOf(results[1]).message).toMatch(
        /^record 1 for topic demo: record headers need the v3 dialect/,
      );
      expect(texts(kit.server.records('demo', 0))).toEqual(['plain']);
    },
  );

  it('redpanda: a tombstone goes without its value field (a JSON null is a parse error there) and lands as null', async () => {
    // Prepare
    kit = await startKafkaRestWithClient({ dialect: PRODUCE_DIALECTS[2] as DialectCase });
    const records: ProduceRecord[] = [
      { key: null, value: bytes('a'), partition: 0 },
      { key: bytes('gone'), value: null, partition: 0 },
      { value: null },
    ];

    // Act
    const results = await kit.client.produce('demo', records, deadlineIn());

    // Assess
    expect(results).toEqual([
      { ok: true, partition: 0, offset: 0 },
      { ok: true, partition: 0, offset: 1 },
      { ok: true, partition: 0, offset: 2 },
    ]);
    expect(kit.server.requests.map((request) => request.body)).toEqual([
      '{"records":[{"partition":0,"value":"YQ=="},{"key":"Z29uZQ==","partition":0},{}]}',
    ]);
    expect(
      kit.server.records('demo', 0).map((record) => [record.key?.toString() ?? null, record.value]),
    ).toEqual([
      [null, Buffer.from('a')],
      ['gone', null],
      [null, null],
    ]);
  });

  it('karapace: per-record results in a 500 are read, not taken for an outage', async () => {
    // Prepare
    kit = await startKafkaRestWithClient({ dialect: PRODUCE_DIALECTS[3] as DialectCase });
    kit.server.inject({
      kind: 'record-errors',
      errors: { 0: { code: 50002 } },
      match: { method: 'POST', path: '/topics/demo' },
    });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

    // Assess
    expect(failureOf(results[0])).toMatchObject({
      code: 'ERR_UPSTREAM_STATUS',
      retriable: true,
      kafkaErrorCode: 1,
      status: 500,
    });
    expect(results[1]).toEqual({ ok: true, partition: 0, offset: 0 });
  });
});

describe.each(READ_DIALECTS)('fetch and logBounds over $name against the local Kafka REST server', (c) => {
  let kit: KafkaRestFixture;

  afterEach(async () => {
    await kit.close();
  });

  const startWith = async (count: number) => {
    kit = await startKafkaRestWithClient({ dialect: c, server: { topics: { demo: 2 } } });
    kit.server.append(
      'demo',
      1,
      Array.from({ length: count }, (_, i) => ({
        key: i % 2 === 0 ? bytes(`k${i}`) : null,
        value: bytes(`v${i}`),
      })),
    );
  };

  it('reads from an offset, honours maxRecords, reads on, and answers [] when caught up', async () => {
    // Prepare
    await startWith(5);

    // Act
    const first = await kit.client.fetch('demo', 1, 0, { maxRecords: 2, ...deadlineIn() });
    const rest = await kit.client.fetch('demo', 1, 2, { maxRecords: 10, ...deadlineIn() });
    const none = await kit.client.fetch('demo', 1, 5, { maxRecords: 10, ...deadlineIn() });

    // Assess
    expect(first).toEqual([
      { partition: 1, offset: 0, key: bytes('k0'), value: bytes('v0') },
      { partition: 1, offset: 1, key: null, value: bytes('v1') },
    ]);
    expect(rest.map((record) => [record.offset, record.value?.toString()])).toEqual([
      [2, 'v2'],
      [3, 'v3'],
      [4, 'v4'],
    ]);
    expect(none).toEqual([]);
  });

  it('gives the log bounds after retention moved the start, and out-of-range below it', async () => {
    // Prepare
    await startWith(10);
    kit.server.truncateBefore('demo', 1, 4);

    // Act
    const bounds = await kit.client.logBounds('demo', 1, { near: 6, ...deadlineIn() });
    const error = await kit.client
      .fetch('demo', 1, 2, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);
    const fromStart = await kit.client.fetch('demo', 1, 4, { maxRecords: 1, ...deadlineIn() });

    // Assess
    expect(bounds).toEqual({ start: 4, end: 10 });
    expect(isOffsetOutOfRangeError(error)).toBe(true);
    expect(error).toMatchObject({ topic: 'demo', partition: 1, offset: 2 });
    expect(fromStart.map((record) => record.offset)).toEqual([4]);
  });
});

describe.each(V2_INSTANCE_DIALECTS)('v2 consumer instances over $name', (c) => {
  let kit: KafkaRestFixture;

  afterEach(async () => {
    await kit.close();
  });

  const append = (count: number) =>
    kit.server.append(
      'demo',
      0,
      Array.from({ length: count }, (_, i) => ({ value: bytes(`v${i}`) })),
    );
  const startWith = async (count: number) => {
    kit = await startKafkaRestWithClient({ dialect: c, server: { topics: { demo: 2 } } });
    append(count);
  };
  const calls = (suffix: string) =>
    kit.server.requests.filter((request) => request.path.endsWith(suffix)).map((request) => request.method);
  const fetchAt = (offset: number, maxRecords = 2) =>
    kit.client.fetch('demo', 0, offset, { maxRecords, ...deadlineIn() });

  it('creates one instance without auto-commit, assigns and seeks once, then reads on', async () => {
    // Prepare
    await startWith(6);

    // Act
    const offsets = [...(await fetchAt(0)), ...(await fetchAt(2)), ...(await fetchAt(4))].map(
      (record) => record.offset,
    );

    // Assess
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5]);
    const create = kit.server.requests.find((request) => request.path === '/consumers/kafka-rest-bridge');
    // Strimzi takes Kafka's own name, as a JSON boolean; Confluent's string field is a 400 there (§9).
    const autoCommit: Record<string, unknown> =
      c.flavor === 'strimzi' ? { 'enable.auto.commit': false } : { 'auto.commit.enable': 'false' };
    expect(JSON.parse(create?.body ?? '')).toMatchObject({ format: 'binary', ...autoCommit });
    // No `isolation.level`: Confluent's v2 create request has no such field (some versions answer 422 to
    // an unknown one) and Karapace ignores it; the proxy's own consumer config decides (README).
    expect(Object.keys(JSON.parse(create?.body ?? '')).sort()).toEqual(
      [...Object.keys(autoCommit), 'auto.offset.reset', 'format', 'name'].sort(),
    );
    expect(create?.headers['content-type']).toBe('application/vnd.kafka.v2+json');
    expect(calls('/assignments')).toEqual(['POST']);
    expect(calls('/positions')).toEqual(['POST']);
    const read = kit.server.requests.find((request) => request.path.endsWith('/records'));
    expect(read?.headers.accept).toBe('application/vnd.kafka.binary.v2+json');
    expect(read?.query).toMatchObject({ max_bytes: '2097152', timeout: '50' });
    expect(kit.server.consumerInstances()).toBe(1);
  });

  it('seeks again when asked for an offset other than where the last fetch ended', async () => {
    // Prepare
    await startWith(6);
    await fetchAt(0);

    // Act
    const again = await fetchAt(1);
    const back = await fetchAt(0, 1);

    // Assess
    expect(again.map((record) => record.offset)).toEqual([1, 2]);
    expect(back.map((record) => record.offset)).toEqual([0]);
    expect(
      kit.server.requests
        .filter((request) => request.path.endsWith('/positions'))
        .map((request) => (JSON.parse(request.body) as { offsets: { offset: number }[] }).offsets[0]?.offset),
    ).toEqual([0, 1, 0]);
  });

  it('assigns and seeks again when a seek finds the partition unassigned (409/40903), and reads from there', async () => {
    // Prepare: the instance loses its assignment just before the next seek.
    await startWith(6);
    await fetchAt(0);
    kit.server.inject({ kind: 'unassign', match: { method: 'POST', path: /\/positions$/ } });

    // Act
    const later = await fetchAt(4);

    // Assess
    expect(later.map((record) => [record.offset, record.value?.toString()])).toEqual([
      [4, 'v4'],
      [5, 'v5'],
    ]);
    // The first fetch's assign and seek; then the refused seek, the assign again and the seek that took.
    expect(calls('/positions')).toEqual(['POST', 'POST', 'POST']);
    expect(calls('/assignments')).toEqual(['POST', 'POST']);
    expect(kit.server.consumerInstances()).toBe(1);
  });

  it('recreates the instance when the proxy lost it (restart: 404/40403), and reads on from the same offset', async () => {
    // Prepare
    await startWith(2);
    await fetchAt(0);
    append(2);
    kit.server.restartConsumers();

    // Act
    const next = await fetchAt(2);

    // Assess
    expect(next.map((record) => record.offset)).toEqual([2, 3]);
    expect(calls('/consumers/kafka-rest-bridge')).toEqual(['POST', 'POST']);
    expect(
      kit.server.requests
        .filter((request) => request.path.endsWith('/positions'))
        .map((request) => (JSON.parse(request.body) as { offsets: { offset: number }[] }).offsets[0]?.offset),
    ).toEqual([0, 2]);
    expect(kit.server.consumerInstances()).toBe(1);
  });

  it('gives up with 404 (40403; 404 on Strimzi) when a fresh instance is lost again at once, and seeks on the next fetch', async () => {
    // Prepare
    await startWith(2);
    await fetchAt(0);
    append(2);
    kit.server.inject({ kind: 'restart-consumers', times: 2, match: { path: /\/records$/ } });

    // Act
    const error = await fetchAt(2).catch((caught: unknown) => caught);
    const after = await fetchAt(2);

    // Assess
    // Strimzi says a lost instance with a plain 404/404 (protocol doc §9).
    const lostCode = c.flavor === 'strimzi' ? 404 : 40403;
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_STATUS', status: 404, kafkaErrorCode: lostCode });
    expect(after.map((record) => record.offset)).toEqual([2, 3]);
  });

  it('close() deletes the instance, also after a failed fetch', async () => {
    // Prepare
    await startWith(2);
    await fetchAt(0);
    append(2);
    kit.server.inject({
      kind: 'status',
      status: 500,
      body: { error_code: 50002, message: 'no' },
      match: { path: /\/records$/ },
    });
    const error = await fetchAt(2).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_STATUS', status: 500 });
    expect(kit.server.consumerInstances()).toBe(1);

    // Act
    await kit.client.close();

    // Assess
    expect(kit.server.consumerInstances()).toBe(0);
    expect(calls(kit.server.requests.find((r) => r.method === 'DELETE')?.path ?? 'none')).toEqual(['DELETE']);
  });

  it('endFetch deletes the instance of one partition; a later fetch starts a new one', async () => {
    // Prepare
    await startWith(2);
    await fetchAt(0);
    append(2);

    // Act
    await kit.client.endFetch('demo', 0, deadlineIn());
    const instancesAfterEnd = kit.server.consumerInstances();
    const again = await fetchAt(2);

    // Assess
    expect(instancesAfterEnd).toBe(0);
    expect(again.map((record) => record.offset)).toEqual([2, 3]);
    expect(calls('/consumers/kafka-rest-bridge')).toEqual(['POST', 'POST']);
  });

  it.each([
    { name: 'above the end', offset: 9, side: 'above the end' },
    { name: 'below the start', offset: 1, side: 'below the start' },
  ])(
    'says which side an out-of-range offset is on ($name), before creating any instance',
    async ({ offset, side }) => {
      // Prepare
      await startWith(4);
      kit.server.truncateBefore('demo', 0, 2);

      // Act
      const error = await fetchAt(offset).catch((caught: unknown) => caught);

      // Assess
      expect(isOffsetOutOfRangeError(error)).toBe(true);
      expect((error as Error).message).toContain(side);
      expect(kit.server.consumerInstances()).toBe(0);
    },
  );

  it.each([
    { name: 'served late, after the client gave up', fault: { kind: 'delay', ms: 400 } },
    { name: 'a dropped connection', fault: { kind: 'drop' } },
  ] as const)(
    'reads from the offset asked for after a read that failed ($name), through a new instance',
    async ({ fault }) => {
      // Prepare: a read the client gives up on. Whether the proxy served it anyway (moving the instance's
      // position past records nobody received) cannot be known, so that instance is not read again.
      kit = await startKafkaRestWithClient({
        dialect: c,
        server: { topics: { demo: 2 } },
        client: { requestTimeoutMs: 150 },
      });
      append(6);
      kit.server.inject({ ...fault, match: { method: 'GET', path: /\/records$/ } });

      // Act
      const first = await fetchAt(0);
      // Whatever the late read does, it does to the instance given up.
      await delay(400);
      const next = await fetchAt(2);

      // Assess
      expect(first.map((record) => record.offset)).toEqual([0, 1]);
      expect(next.map((record) => record.offset)).toEqual([2, 3]);
      expect(kit.log.lines).toContainEqual(
        expect.objectContaining({
          message: 'Kafka REST consumer read failed: reading again through a new instance',
        }),
      );
      await kit.client.endFetch('demo', 0, deadlineIn());
      // The one given up is deleted with the other.
      expect(kit.server.consumerInstances()).toBe(0);
    },
  );

  it('turns an instance reset by retention while reading (a gap past the position) into out-of-range', async () => {
    // Prepare
    await startWith(2);
    await fetchAt(0);
    append(4);
    kit.server.truncateBefore('demo', 0, 4);

    // Act
    const error = await fetchAt(2).catch((caught: unknown) => caught);

    // Assess
    expect(isOffsetOutOfRangeError(error)).toBe(true);
    expect((error as Error).message).toContain('below the start');
  });
});

describe('redpanda: simple consume, no consumer instance', () => {
  let kit: KafkaRestFixture;

  afterEach(async () => {
    await kit.close();
  });

  const start = async (client: Partial<KafkaRestOptions> = {}) => {
    kit = await startKafkaRestWithClient({ dialect: REDPANDA, server: { topics: { demo: 1 } }, client });
  };
  const readRequests = () => kit.server.requests.filter((request) => request.path.endsWith('/records'));

  it('reads GET …/partitions/{p}/records with offset, timeout and max_bytes, never a consumer instance', async () => {
    // Prepare
    await start({ fetchMaxBytes: 4096 });
    kit.server.append('demo', 0, [{ key: null, value: bytes('a') }]);

    // Act
    const records = await kit.client.fetch('demo', 0, 0, { maxRecords: 10, ...deadlineIn() });
    await kit.client.endFetch('demo', 0, deadlineIn());

    // Assess
    expect(records.map((record) => record.value?.toString())).toEqual(['a']);
    const [read, ...others] = kit.server.requests;
    expect(others).toEqual([]);
    expect(read?.method).toBe('GET');
    expect(read?.path).toBe('/topics/demo/partitions/0/records');
    expect(read?.query).toMatchObject({ offset: '0', max_bytes: '4096' });
    expect(Number(read?.query.timeout)).toBeLessThanOrEqual(50);
    expect(read?.headers.accept).toBe(MEDIA.v2.contentType); // binary v2 records
    expect(kit.server.consumerInstances()).toBe(0);
    expect(kit.client.exactLogBounds).toBe(false);
  });

  it('drops the earlier records of a whole batch and keeps what a fetch did not take for the next one', async () => {
    // Prepare: one batch of five; reading at 2 answers the whole batch from 0.
    await start();
    kit.server.append(
      'demo',
      0,
      Array.from({ length: 5 }, (_, i) => ({ key: null, value: bytes(`v${i}`) })),
    );

    // Act
    const first = await kit.client.fetch('demo', 0, 2, { maxRecords: 2, ...deadlineIn() });
    const second = await kit.client.fetch('demo', 0, 4, { maxRecords: 2, ...deadlineIn() });
    const elsewhere = await kit.client.fetch('demo', 0, 1, { maxRecords: 1, ...deadlineIn() });

    // Assess
    expect(first.map((record) => record.offset)).toEqual([2, 3]);
    expect(second.map((record) => record.offset)).toEqual([4]);
    expect(elsewhere.map((record) => record.offset)).toEqual([1]);
    // The second fetch continued where the first ended: served from what the first read returned.
    expect(readRequests().map((request) => request.query.offset)).toEqual(['2', '1']);
  });

  it('takes 400/40002 offset_out_of_range for out of range, and finds the bounds by probing', async () => {
    // Prepare
    await start();
    kit.server.append(
      'demo',
      0,
      Array.from({ length: 10 }, (_, i) => ({ key: null, value: bytes(`v${i}`) })),
    );
    kit.server.truncateBefore('demo', 0, 4);

    // Act
    const below = await kit.client
      .fetch('demo', 0, 2, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);
    const above = await kit.client
      .fetch('demo', 0, 11, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);
    const bounds = await kit.client.logBounds('demo', 0, { near: 6, ...deadlineIn() });

    // Assess
    expect(isOffsetOutOfRangeError(below)).toBe(true);
    expect(below).toMatchObject({ topic: 'demo', partition: 0, offset: 2 });
    expect(isOffsetOutOfRangeError(above)).toBe(true);
    expect(bounds).toEqual({ start: 4, end: 10 });
    // Probes ask for one record and never wait at the log end.
    const probes = readRequests().slice(2);
    expect(probes.length).toBeGreaterThan(0);
    for (const probe of probes) expect(probe.query).toMatchObject({ timeout: '0', max_bytes: '1' });
  });
});

describe('v3 has no consume API', () => {
  it.each([
    {
      name: 'fetch',
      call: (client: ReturnType<typeof createKafkaRest>) =>
        client.fetch('demo', 0, 0, { maxRecords: 1, ...deadlineIn() }),
    },
    {
      name: 'logBounds',
      call: (client: ReturnType<typeof createKafkaRest>) => client.logBounds('demo', 0, deadlineIn()),
    },
    {
      name: 'listPartitions',
      call: (client: ReturnType<typeof createKafkaRest>) => client.listPartitions('demo', deadlineIn()),
    },
  ])('$name throws ERR_CONFIG saying what to configure, without a request', async ({ call }) => {
    // Prepare
    const client = createKafkaRest({
      baseUrl: 'https://kafka.invalid',
      auth: noAuth(),
      dialect: 'v3',
      clusterId: 'lkc-1',
    });

    // Act
    const error = await call(client).catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect(error).toMatchObject({ code: 'ERR_CONFIG' });
    expect((error as Error).message).toMatch(/v1 or v2/);
    expect(client.stats().requests).toBe(0);
  });
});

/** A node:http server that answers each request with the next scripted reply, for wire shapes the dev server never sends. */
const startScripted = async (
  replies: ((req: IncomingMessage, body: string, res: ServerResponse) => void)[],
): Promise<{
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  server: Server;
}> => {
  const requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = replies.shift();
      if (reply === undefined) {
        res.writeHead(500).end();
        return;
      }
      reply(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
};

/** Writes `chunks` one by one (each its own write), so the client sees the answer arrive in pieces. */
const chunked =
  (status: number, chunks: string[], contentType = 'application/json') =>
  (_req: IncomingMessage, _body: string, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': contentType });
    for (const chunk of chunks) res.write(chunk);
    res.end();
  };

/** A 200 that sends `text`, then loses its connection mid-answer. */
const brokenAfter = (text: string) => (_req: IncomingMessage, _body: string, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(text);
  setTimeout(() => res.socket?.destroy(), 30);
};

const report = (partition: number, offset: number) =>
  JSON.stringify({
    error_code: 200,
    cluster_id: 'lkc-1',
    topic_name: 'demo',
    partition_id: partition,
    offset,
    timestamp: '2021-02-05T19:14:42Z',
    value: { type: 'BINARY', size: 2 },
  });

describe('wire edge cases (scripted node:http server)', () => {
  let scripted: Awaited<ReturnType<typeof startScripted>> | undefined;

  afterEach(async () => {
    scripted?.server.closeAllConnections();
    await new Promise<void>((resolve) => scripted?.server.close(() => resolve()) ?? resolve());
    scripted = undefined;
  });

  const v3Client = (url: string, options: Partial<KafkaRestOptions> = {}) =>
    createKafkaRest({
      baseUrl: url,
      allowHttp: true,
      auth: noAuth(),
      dialect: 'v3',
      clusterId: 'lkc-1',
      sleep: async () => {},
      random: () => 0.5,
      ...options,
    });

  it.each([
    {
      name: 'redpanda: a batch alone over max_bytes whose later records were compacted away',
      options: { dialect: 'v2', flavor: 'redpanda', fetchMaxBytes: 100 } as const,
      // 0-4 survive of a batch up to 9; the next batch (10-12) comes only with a wider read.
      answers: [
        [0, 1, 2, 3, 4],
        [0, 1, 2, 3, 4, 10, 11, 12],
      ],
      widths: (query: URLSearchParams) => query.get('max_bytes'),
      expected: { widths: ['100', '200'], offsets: [10, 11] },
    },
    {
      name: 'redpanda: the same, one record per fetch (a drain with batchSize 1)',
      options: { dialect: 'v2', flavor: 'redpanda', fetchMaxBytes: 100 } as const,
      answers: [
        [0, 1, 2, 3, 4],
        [0, 1, 2, 3, 4, 10, 11, 12],
      ],
      maxRecords: 1,
      widths: (query: URLSearchParams) => query.get('max_bytes'),
      expected: { widths: ['100', '200'], offsets: [10] },
    },
    {
      name: 'v1: a count that cut a batch before the offset',
      options: { dialect: 'v1' } as const,
      answers: [
        [0, 1],
        [0, 1, 2, 3],
        [0, 1, 2, 3, 4, 5, 6, 7],
      ],
      widths: (query: URLSearchParams) => query.get('count'),
      expected: { widths: ['2', '4', '8'], offsets: [5, 6] },
    },
  ])('reads again, wider, when every record answered lies below the offset: $name', async (row) => {
    // Prepare
    const asRecords = (offsets: number[]) =>
      JSON.stringify(
        offsets.map((offset) => ({ topic: 'demo', key: null, value: 'dg==', partition: 0, offset })),
      );
    scripted = await startScripted(
      row.answers.map((offsets) =>
        chunked(200, [asRecords(offsets)], 'application/vnd.kafka.binary.v2+json'),
      ),
    );
    const client = createKafkaRest({
      baseUrl: scripted.url,
      allowHttp: true,
      auth: noAuth(),
      ...row.options,
    });

    // Act
    const records = await client.fetch('demo', 0, 5, { maxRecords: row.maxRecords ?? 2, ...deadlineIn() });
    await client.close();

    // Assess
    expect(records.map((record) => record.offset)).toEqual(row.expected.offsets);
    const queries = scripted.requests.map((request) => new URL(request.url, 'http://x').searchParams);
    expect(queries.map(row.widths)).toEqual(row.expected.widths);
    expect(queries.every((query) => query.get('offset') === '5')).toBe(true);
  });

  it('takes an answer that stops growing when widened for caught up (nothing is skipped)', async () => {
    // Prepare: only the head of a batch whose tail was compacted away, and nothing after it yet.
    const head = JSON.stringify([{ topic: 'demo', key: null, value: 'dg==', partition: 0, offset: 3 }]);
    scripted = await startScripted([
      chunked(200, [head], 'application/vnd.kafka.binary.v2+json'),
      chunked(200, [head], 'application/vnd.kafka.binary.v2+json'),
    ]);
    const client = createKafkaRest({
      baseUrl: scripted.url,
      allowHttp: true,
      auth: noAuth(),
      dialect: 'v2',
      flavor: 'redpanda',
    });

    // Act
    const records = await client.fetch('demo', 0, 5, { maxRecords: 2, ...deadlineIn() });
    await client.close();

    // Assess
    expect(records).toEqual([]);
    expect(scripted.requests).toHaveLength(2);
  });

  it('redpanda: a 400/40002 other than offset_out_of_range is a failed call, never taken for out of range', async () => {
    // Prepare
    const missing = JSON.stringify({ error_code: 40002, message: "Missing mandatory parameter 'offset'" });
    scripted = await startScripted([chunked(400, [missing], 'application/vnd.kafka.v2+json')]);
    const client = createKafkaRest({
      baseUrl: scripted.url,
      allowHttp: true,
      auth: noAuth(),
      dialect: 'v2',
      flavor: 'redpanda',
    });

    // Act
    const error = await client
      .fetch('demo', 0, 3, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect(isOffsetOutOfRangeError(error)).toBe(false);
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_STATUS', status: 400, kafkaErrorCode: 40002 });
    expect(scripted.requests).toHaveLength(1);
  });

  it.each([
    {
      name: 'separated by \\r\\n, split mid-object across writes',
      chunks: [`${report(0, 7)}\r\n${report(0, 8).slice(0, 20)}`, `${report(0, 8).slice(20)}\r\n`],
    },
    { name: 'concatenated with no separator', chunks: [`${report(0, 7)}${report(0, 8)}`] },
    {
      name: 'with braces and escapes inside strings',
      chunks: [
        `${JSON.stringify({ error_code: 200, partition_id: 0, offset: 7, topic_name: 'a}"{\\' })}\r\n${report(0, 8)}`,
      ],
    },
  ])('v3: reads delivery reports $name', async ({ chunks }) => {
    // Prepare
    scripted = await startScripted([chunked(200, chunks)]);
    const client = v3Client(scripted.url);

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
    await client.close();

    // Assess
    expect(results).toEqual([
      { ok: true, partition: 0, offset: 7 },
      { ok: true, partition: 0, offset: 8 },
    ]);
    expect(scripted.requests[0]?.body).toBe(
      '{"partition_id":0,"value":{"type":"BINARY","data":"cjA="}}{"partition_id":0,"value":{"type":"BINARY","data":"cjE="}}',
    );
  });

  it.each([
    { name: 'a stream cut after the first report', body: `${report(0, 7)}\r\n{"error_code":200,"partiti` },
    { name: 'one report only', body: `${report(0, 7)}\r\n` },
    {
      name: 'a success report without an offset',
      body: `${report(0, 7)}\r\n{"error_code":200,"partition_id":0}`,
    },
  ])(
    'v3: $name leaves the rest not acknowledged (retriable, possible duplicate, not resent)',
    async ({ body }) => {
      // Prepare
      scripted = await startScripted([chunked(200, [body])]);
      const client = v3Client(scripted.url);

      // Act
      const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
      await client.close();

      // Assess
      expect(results[0]).toEqual({ ok: true, partition: 0, offset: 7 });
      expect(failureOf(results[1])).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', retriable: true });
      expect(scripted.requests).toHaveLength(1);
      expect(client.stats().possibleDuplicates).toBe(1);
    },
  );

  it('v3: a connection broken mid-stream keeps the reports that arrived and resends only the rest', async () => {
    // Prepare: the first answer reports record 0, then the socket dies; the resend is answered whole.
    scripted = await startScripted([
      brokenAfter(`${report(0, 7)}\r\n`),
      chunked(200, [`${report(0, 8)}\r\n`]),
    ]);
    const client = v3Client(scripted.url);

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
    await client.close();

    // Assess
    expect(results).toEqual([
      { ok: true, partition: 0, offset: 7 },
      { ok: true, partition: 0, offset: 8 },
    ]);
    const v3 = PRODUCE_DIALECTS[4] as DialectCase;
    const sentValues = scripted.requests.map((request) =>
      sentRecords(v3, request.body).map((record) => record.value),
    );
    expect(sentValues).toEqual([['r0', 'r1'], ['r1']]);
    // Only the record without a report went again, counted as a possible duplicate.
    expect(client.stats()).toMatchObject({ ambiguousResends: 1, possibleDuplicates: 1 });
  });

  it('v3: after a broken stream, counts as possible duplicates only the records that had no report', async () => {
    // Prepare: record 0 is throttled (not written), the stream breaks before record 1's report.
    const throttled = JSON.stringify({ error_code: 429, message: 'throttled' });
    scripted = await startScripted([
      brokenAfter(`${throttled}\r\n`),
      chunked(200, [`${report(0, 8)}\r\n${report(0, 9)}\r\n`]),
    ]);
    const client = v3Client(scripted.url);

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
    await client.close();

    // Assess
    expect(results).toEqual([
      { ok: true, partition: 0, offset: 8 },
      { ok: true, partition: 0, offset: 9 },
    ]);
    expect(scripted.requests).toHaveLength(2);
    expect(client.stats()).toMatchObject({ ambiguousResends: 1, possibleDuplicates: 1 });
  });

  it('v3: more reports than records cannot be matched: every record is a protocol failure', async () => {
    // Prepare
    scripted = await startScripted([chunked(200, [`${report(0, 1)}\r\n${report(0, 2)}\r\n${report(0, 3)}`])]);
    const client = v3Client(scripted.url);

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
    await client.close();

    // Assess
    for (const result of results) expect(failureOf(result)).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL' });
    expect(client.stats().possibleDuplicates).toBe(2);
  });

  it('v3: a request-level 422 (payload error) rejects every record without resending', async () => {
    // Prepare
    scripted = await startScripted([
      chunked(422, [JSON.stringify({ error_code: 42206, message: 'Payload error.' })]),
    ]);
    const client = v3Client(scripted.url);

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
    await client.close();

    // Assess
    for (const result of results) {
      expect(failureOf(result)).toMatchObject({
        code: 'ERR_RECORD_REJECTED',
        status: 422,
        kafkaErrorCode: 42206,
      });
    }
    expect(scripted.requests).toHaveLength(1);
  });

  it('v3 on Confluent Cloud: /kafka prefix, Basic auth from key:secret, never leaked in an error', async () => {
    // Prepare
    const keySecret = 'CLOUDKEY4XQ7:cloud+secret/Zx9';
    scripted = await startScripted([
      chunked(401, [
        JSON.stringify({ error_code: 40101, message: `bad ${Buffer.from(keySecret).toString('base64')}` }),
      ]),
      chunked(401, [JSON.stringify({ error_code: 40101, message: 'still bad' })]),
    ]);
    const client = v3Client(scripted.url, {
      v3PathPrefix: '/kafka',
      auth: basicAuth(literalSecret(keySecret)),
    });

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 1), deadlineIn());
    await client.close();

    // Assess
    expect(scripted.requests[0]?.url).toBe('/kafka/v3/clusters/lkc-1/topics/demo/records');
    expect(scripted.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from(keySecret).toString('base64')}`,
    );
    const error = failureOf(results[0]) as UpstreamError;
    expect(error.code).toBe('ERR_UPSTREAM_AUTH');
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(
      Buffer.from(keySecret).toString('base64'),
    );
  });

  /** A v2 reply: JSON with the v2 media type, or no body (204). */
  const v2Reply =
    (status: number, body?: (req: IncomingMessage) => unknown) =>
    (req: IncomingMessage, _body: string, res: ServerResponse) => {
      if (body === undefined) res.writeHead(status).end();
      else
        res
          .writeHead(status, { 'content-type': 'application/vnd.kafka.v2+json' })
          .end(JSON.stringify(body(req)));
    };
  const bounds = (start: number, end: number) =>
    v2Reply(200, () => ({ beginning_offset: start, end_offset: end }));
  const v2Client = (baseUrl: string) =>
    createKafkaRest({ baseUrl, allowHttp: true, auth: noAuth(), dialect: 'v2', fetchWaitMs: 0 });

  it('v2: re-assigns and seeks again when a seek finds the partition unassigned (409/40903)', async () => {
    // Prepare
    scripted = await startScripted([
      bounds(0, 3),
      v2Reply(200, (req) => ({
        instance_id: 'i1',
        base_uri: `http://${req.headers.host}/consumers/kafka-rest-bridge/instances/i1`,
      })),
      v2Reply(204),
      v2Reply(409, () => ({ error_code: 40903, message: 'Illegal state: not assigned' })),
      bounds(0, 3),
      v2Reply(204),
      v2Reply(204),
      v2Reply(200, () => [{ topic: 'demo', key: null, value: 'dg==', partition: 0, offset: 1 }]),
      v2Reply(204),
    ]);
    const client = v2Client(scripted.url);

    // Act
    const records = await client.fetch('demo', 0, 1, { maxRecords: 5, ...deadlineIn() });
    await client.close();

    // Assess
    expect(records.map((record) => record.offset)).toEqual([1]);
    expect(scripted.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /topics/demo/partitions/0/offsets',
      'POST /consumers/kafka-rest-bridge',
      'POST /consumers/kafka-rest-bridge/instances/i1/assignments',
      'POST /consumers/kafka-rest-bridge/instances/i1/positions',
      'GET /topics/demo/partitions/0/offsets',
      'POST /consumers/kafka-rest-bridge/instances/i1/assignments',
      'POST /consumers/kafka-rest-bridge/instances/i1/positions',
      'GET /consumers/kafka-rest-bridge/instances/i1/records?timeout=0&max_bytes=2097152',
      'DELETE /consumers/kafka-rest-bridge/instances/i1',
    ]);
  });

  it('v2: addresses the instance through the base URL when base_uri names another host', async () => {
    // Prepare
    scripted = await startScripted([
      bounds(0, 0),
      v2Reply(200, () => ({
        instance_id: 'i9',
        base_uri: 'http://proxy-internal-7:8082/consumers/kafka-rest-bridge/instances/i9',
      })),
      v2Reply(204),
      v2Reply(204),
      v2Reply(200, () => []),
      bounds(0, 0),
      v2Reply(204),
    ]);
    const client = v2Client(`${scripted.url}/rest`);

    // Act
    const records = await client.fetch('demo', 0, 0, { maxRecords: 5, ...deadlineIn() });
    await client.close();

    // Assess
    expect(records).toEqual([]);
    expect(scripted.requests.map((request) => `${request.method} ${request.url.split('?')[0]}`)).toEqual([
      'GET /rest/topics/demo/partitions/0/offsets',
      'POST /rest/consumers/kafka-rest-bridge',
      'POST /rest/consumers/kafka-rest-bridge/instances/i9/assignments',
      'POST /rest/consumers/kafka-rest-bridge/instances/i9/positions',
      'GET /rest/consumers/kafka-rest-bridge/instances/i9/records',
      'GET /rest/topics/demo/partitions/0/offsets',
      'DELETE /rest/consumers/kafka-rest-bridge/instances/i9',
    ]);
  });
});

describe('dialect options and config wiring', () => {
  it.each([
    { name: 'an unknown dialect', options: { dialect: 'v4' }, problem: /dialect must be one of v1, v2, v3/ },
    { name: 'an unknown flavor', options: { flavor: 'kafka' }, problem: /flavor must be one of/ },
    {
      name: 'v3 without a cluster id',
      options: { dialect: 'v3' },
      problem: /clusterId is required for dialect v3/,
    },
    { name: 'a prefix with a trailing slash', options: { v3PathPrefix: '/kafka/' }, problem: /v3PathPrefix/ },
    { name: 'a consumer group with a slash', options: { consumerGroup: 'a/b' }, problem: /consumerGroup/ },
    { name: 'a negative fetch wait', options: { fetchWaitMs: -1 }, problem: /fetchWaitMs/ },
  ])('rejects $name with ERR_CONFIG naming the option', ({ options, problem }) => {
    // Act
    const error = (() => {
      try {
        createKafkaRest({
          baseUrl: 'https://kafka.invalid',
          auth: noAuth(),
          ...(options as Partial<KafkaRestOptions>),
        });
        return undefined;
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(isAppError(error) && error.code).toBe('ERR_CONFIG');
    expect((error as Error).message).toMatch(problem);
  });

  it.each([
    {
      name: 'v2 redpanda',
      env: { KAFKA_REST_DIALECT: 'v2', KAFKA_REST_FLAVOR: 'redpanda' },
      path: '/topics/demo',
    },
    {
      name: 'v3 with the /kafka prefix',
      env: {
        KAFKA_REST_DIALECT: 'v3',
        KAFKA_REST_CLUSTER_ID: LOCAL_CLUSTER_ID,
        KAFKA_REST_V3_PATH_PREFIX: '/kafka',
      },
      path: `/kafka${V3_PATH}`,
    },
  ])('createKafkaRestFromConfig wires $name from the environment', async ({ env, path }) => {
    // Prepare
    const kit = await startKafkaRestWithClient({ server: { flavor: 'redpanda' } });
    const config = loadConfig({
      KAFKA_REST_URL: kit.server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'none',
      ...env,
    });
    const client = createKafkaRestFromConfig(config);

    // Act
    const results = await client.produce(
      'demo',
      [
        { value: null, partition: 1 },
        { value: bytes('x'), partition: 0 },
      ],
      deadlineIn(),
    );
    await client.close();
    await kit.close();

    // Assess
    expect(results[1]).toEqual({ ok: true, partition: 0, offset: 0 });
    expect(results[0]).toEqual({ ok: true, partition: 1, offset: 0 }); // Redpanda's tombstone: no value field
    expect(kit.server.requests.map((request) => request.path)).toEqual([path]);
  });

  it('createKafkaRestFromConfig wires the v2 consumer group, max_bytes and timeout of a drain read', async () => {
    // Prepare
    const kit = await startKafkaRestWithClient({ server: { topics: { demo: 1 } } });
    kit.server.append('demo', 0, [{ key: null, value: bytes('a') }]);
    const client = createKafkaRestFromConfig(
      loadConfig({
        KAFKA_REST_URL: kit.server.url,
        KAFKA_REST_ALLOW_HTTP: 'true',
        KAFKA_REST_AUTH: 'none',
        KAFKA_REST_DIALECT: 'v2',
        KAFKA_REST_CONSUMER_GROUP: 'bridge-prod.drains',
        KAFKA_REST_FETCH_MAX_BYTES: '4096',
        KAFKA_REST_FETCH_WAIT_MS: '250',
      }),
    );

    // Act
    const records = await client.fetch('demo', 0, 0, { maxRecords: 10, ...deadlineIn() });
    await client.close();
    await kit.close();

    // Assess
    expect(records.map((record) => Buffer.from(record.value ?? []).toString())).toEqual(['a']);
    const created = kit.server.requests.find(
      (request) => request.method === 'POST' && request.path.startsWith('/consumers/'),
    );
    expect(created?.path).toBe('/consumers/bridge-prod.drains');
    const reads = kit.server.requests.filter((request) => request.path.endsWith('/records'));
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) {
      expect(read.path.startsWith('/consumers/bridge-prod.drains/instances/')).toBe(true);
      expect(read.query).toMatchObject({ max_bytes: '4096' });
      expect(Number(read.query.timeout)).toBeLessThanOrEqual(250);
    }
  });
});
