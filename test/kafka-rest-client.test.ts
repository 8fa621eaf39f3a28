import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Fault } from '../dev/kafka-rest/server.js';
import { isAppError, isUpstreamError, type UpstreamError } from '../lib/core/errors.js';
import { apiKeyAuth, basicAuth, bearerAuth, noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest } from '../lib/kafka-rest/client.js';
import { isOffsetOutOfRangeError, OffsetOutOfRangeError } from '../lib/kafka-rest/errors.js';
import type { KafkaRestFlavor } from '../lib/kafka-rest/flavors.js';
import { createKafkaRestProducer } from '../lib/kafka-rest/producer.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import { createSecretsCache, literalSecret, secretValue } from '../lib/secrets/cache.js';
import { createKafkaRestFromConfig } from '../lib/wiring/kafka-rest-reader.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import {
  bytes,
  clientOptionsFor,
  type DialectCase,
  deadlineIn,
  failureOf,
  itWhere,
  type KafkaRestFixture,
  PRODUCE_DIALECTS,
  producePath,
  sentRecords,
  startKafkaRestWithClient,
} from './helpers/kafka-rest.js';
import { createMemoryLog } from './helpers/log.js';
import { type LocalSecretsManager, startSecretsManager } from './helpers/secrets-manager.js';

const API_KEY = 'krb-test-key-3e9f1c7a5b2d48e6a0c4f8d2b7e1a9c3';
const ROTATED_KEY = 'krb-test-key-rotated-6d2a8f4c1e7b39a5d0f6c2e8';

const recordsOf = (body: string): { key?: string; value: string | null; partition?: number }[] =>
  (JSON.parse(body) as { records: { key?: string; value: string | null; partition?: number }[] }).records;

const values = (stored: { value: Buffer | null }[]): (string | null)[] =>
  stored.map((record) => (record.value === null ? null : record.value.toString('utf8')));

const fourRecords: ProduceRecord[] = ['r0', 'r1', 'r2', 'r3'].map((value) => ({
  value: bytes(value),
  partition: 0,
}));

interface RecordCode {
  readonly name: string;
  readonly code: number;
}

/**
 * How a dialect's proxy fails a record alone (protocol doc §4, §7), in that proxy's own numbering: the local
 * server sends an injected code as it is (it translates only Confluent's five-digit codes, on v2 flavors).
 */
interface RecordFailures {
  /** Codes the record is resent for. */
  readonly retriable: readonly RecordCode[];
  /** Codes that reject the record for good: final by the server's own definition. */
  readonly final: readonly RecordCode[];
  /** Codes not resent by the client, yet not final: the caller may succeed later (503, redelivery). */
  readonly notFinal: readonly RecordCode[];
  /** The HTTP status of an answer in which a record failed. */
  readonly status: 200 | 500;
  /** The proxy's message for a failed record; Redpanda's entry has only the code. */
  readonly withMessage: boolean;
}

const RECORD_FAILURES: Readonly<Record<KafkaRestFlavor | 'v3', RecordFailures>> = {
  confluent: {
    retriable: [
      { name: 'Confluent 50003', code: 50003 },
      { name: 'Confluent docs 2', code: 2 },
    ],
    final: [
      { name: 'Kafka error 50002 (e.g. record too large)', code: 50002 },
      { name: 'documented non-retriable 1', code: 1 },
    ],
    notFinal: [
      { name: 'a code Confluent does not define per record (Kafka MESSAGE_TOO_LARGE 10)', code: 10 },
    ],
    status: 200,
    withMessage: true,
  },
  redpanda: {
    retriable: [
      { name: 'Kafka NOT_LEADER_OR_FOLLOWER 6', code: 6 },
      { name: 'Kafka UNKNOWN_TOPIC_OR_PARTITION 3', code: 3 },
      { name: 'Kafka CORRUPT_MESSAGE 2 (a RetriableException in Kafka)', code: 2 },
    ],
    final: [{ name: 'Kafka MESSAGE_TOO_LARGE 10', code: 10 }],
    notFinal: [{ name: 'Kafka TOPIC_AUTHORIZATION_FAILED 29 (fixed by granting the ACL)', code: 29 }],
    status: 200,
    withMessage: false,
  },
  karapace: {
    retriable: [{ name: 'Karapace 2', code: 2 }],
    final: [],
    notFinal: [{ name: 'Karapace 1 (timeouts included)', code: 1 }],
    status: 500,
    withMessage: true,
  },
  strimzi: {
    retriable: [],
    final: [],
    notFinal: [
      { name: 'Strimzi 404 (metadata wait ran out: unknown topic or partition)', code: 404 },
      { name: 'Strimzi 500 (Kafka already retried: too large and timeouts alike)', code: 500 },
    ],
    status: 200,
    withMessage: true,
  },
  v3: {
    retriable: [
      { name: 'Kafka retriable 50003', code: 50003 },
      { name: 'throttled 429', code: 429 },
    ],
    final: [
      { name: 'Kafka error 50002', code: 50002 },
      { name: 'too large 413', code: 413 },
      { name: 'bad record 400', code: 400 },
    ],
    notFinal: [{ name: 'unknown partition 40403', code: 40403 }],
    status: 200,
    withMessage: true,
  },
};

/** v1 is Confluent's whatever the flavor, and v3 numbers its reports its own way. */
const recordFailuresOf = (c: DialectCase): RecordFailures =>
  RECORD_FAILURES[c.dialect === 'v3' ? 'v3' : c.flavor];

describe('v1 produce and fetch against the local Kafka REST server', () => {
  let kit: KafkaRestFixture;

  beforeEach(async () => {
    kit = await startKafkaRestWithClient({ server: { topics: { demo: 2 }, apiKey: API_KEY } });
  });
  afterEach(async () => {
    await kit.close();
  });

  it('round-trips keys, absent keys and null values, with v1 binary media types', async () => {
    // Prepare
    const records: ProduceRecord[] = [
      { key: bytes('k1'), value: bytes('v1'), partition: 1 },
      { value: null, key: bytes('k2'), partition: 1 },
      { value: new Uint8Array([0xff, 0x00, 0x7f]), partition: 1 },
      { key: null, value: bytes(''), partition: 1 },
    ];

    // Act
    const results = await kit.client.produce('demo', records, deadlineIn());
    const fetched = await kit.client.fetch('demo', 1, 0, { maxRecords: 10, ...deadlineIn() });

    // Assess
    expect(results).toEqual([0, 1, 2, 3].map((offset) => ({ ok: true, partition: 1, offset })));
    const request = kit.server.requests[0];
    expect(request?.headers['content-type']).toBe('application/vnd.kafka.binary.v1+json');
    expect(request?.headers.accept).toBe('application/vnd.kafka.v1+json');
    expect(request?.headers['x-auth-token']).toBe(API_KEY);
    expect(recordsOf(request?.body ?? '')).toEqual([
      { key: 'azE=', value: 'djE=', partition: 1 },
      { key: 'azI=', value: null, partition: 1 },
      { value: '/wB/', partition: 1 },
      { value: '', partition: 1 },
    ]);
    expect(fetched).toEqual([
      { partition: 1, offset: 0, key: bytes('k1'), value: bytes('v1') },
      { partition: 1, offset: 1, key: bytes('k2'), value: null },
      { partition: 1, offset: 2, key: null, value: Buffer.from([0xff, 0x00, 0x7f]) },
      { partition: 1, offset: 3, key: null, value: bytes('') },
    ]);
    const fetchRequest = kit.server.requests[1];
    expect(fetchRequest?.query).toMatchObject({ offset: '0', count: '10' });
    expect(fetchRequest?.headers.accept).toBe('application/vnd.kafka.binary.v1+json');
    expect(kit.client.stats()).toMatchObject({ requests: 2, retries: 0, ambiguousResends: 0 });
  });
});

describe.each(PRODUCE_DIALECTS)('produce over $name: retries, resends and deadlines', (c) => {
  let kit: KafkaRestFixture;
  const postRecords = { method: 'POST', path: producePath(c) } as const;
  const failures = recordFailuresOf(c);

  beforeEach(async () => {
    kit = await startKafkaRestWithClient({ dialect: c, server: { topics: { demo: 2 }, apiKey: API_KEY } });
  });
  afterEach(async () => {
    await kit.close();
  });

  it.each(failures.retriable)(
    'resends only the records that failed retriably ($name), then succeeds',
    async ({ code }) => {
      // Prepare
      kit.server.inject({ kind: 'record-errors', errors: { 1: { code }, 3: { code } }, match: postRecords });

      // Act
      const results = await kit.client.produce('demo', fourRecords, deadlineIn());

      // Assess
      expect(results.every((result) => result.ok)).toBe(true);
      expect(
        kit.server.requests.map((request) => sentRecords(c, request.body).map((record) => record.value)),
      ).toEqual([
        ['r0', 'r1', 'r2', 'r3'],
        ['r1', 'r3'],
      ]);
      expect(values(kit.server.records('demo', 0))).toEqual(['r0', 'r2', 'r1', 'r3']);
      expect(results.map((result) => (result.ok ? result.offset : -1))).toEqual([0, 2, 1, 3]);
      expect(kit.sleeps).toEqual([50]); // full jitter: 0.5 × 100 ms
      expect(kit.client.stats()).toMatchObject({ requests: 2, retries: 1, ambiguousResends: 0 });
    },
  );

  it.each([
    ...failures.final.map((failure) => ({ ...failure, final: true })),
    ...failures.notFinal.map((failure) => ({ ...failure, final: false })),
  ])(
    'reports a record failed with $name without resending it, rejected for good only if final: $final',
    async ({ code, final }) => {
      // Prepare
      kit.server.inject({
        kind: 'record-errors',
        errors: { 2: { code, message: 'rejected by the test' } },
        match: postRecords,
      });

      // Act
      const results = await kit.client.produce('demo', fourRecords, deadlineIn());

      // Assess
      expect(results.map((result) => result.ok)).toEqual([true, true, false, true]);
      const error = failureOf(results[2]) as UpstreamError;
      expect(error).toMatchObject({
        code: final ? 'ERR_RECORD_REJECTED' : 'ERR_UPSTREAM_STATUS',
        retriable: !final,
        kafkaErrorCode: code,
        status: failures.status,
      });
      expect(error.bodySnippet).toBe(failures.withMessage ? 'rejected by the test' : '');
      expect(kit.server.requests).toHaveLength(1);
      expect(values(kit.server.records('demo', 0))).toEqual(['r0', 'r1', 'r3']);
    },
  );

  // Strimzi has no per-record code worth resending.
  itWhere(failures.retriable.length > 0)(
    'reports a retriable record that keeps failing once maxAttempts is used up, with its own code',
    async () => {
      // Prepare
      const { code } = failures.retriable[0] as RecordCode;
      kit.server.inject({ kind: 'record-errors', errors: { 0: { code } }, times: 10, match: postRecords });

      // Act
      const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

      // Assess
      expect(results[1]).toEqual({ ok: true, partition: 0, offset: 0 });
      expect(failureOf(results[0])).toMatchObject({
        code: 'ERR_UPSTREAM_STATUS',
        retriable: true,
        kafkaErrorCode: code,
        status: failures.status,
      });
      expect(kit.server.requests).toHaveLength(5); // default maxAttempts
      expect(kit.sleeps).toEqual([50, 100, 200, 400]);
    },
  );

  it('honours Retry-After of a 429 (recording the wait instead of waiting)', async () => {
    // Prepare
    kit.server.inject({ kind: 'throttle', retryAfterSeconds: 1, match: postRecords });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn());

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    expect(kit.sleeps).toEqual([1_000]);
    expect(kit.server.requests).toHaveLength(2);
  });

  it('stops when Retry-After reaches past the deadline and reports it with retryAfterMs', async () => {
    // Prepare
    kit.server.inject({ kind: 'throttle', retryAfterSeconds: 30, match: postRecords });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn(5_000));

    // Assess
    for (const result of results) {
      expect(failureOf(result)).toMatchObject({
        code: 'ERR_UPSTREAM_STATUS',
        status: 429,
        retryAfterMs: 30_000,
        retriable: true,
      });
    }
    expect(kit.sleeps).toEqual([]);
    expect(kit.server.requests).toHaveLength(1);
  });

  it.each([
    { name: '503', fault: { status: 503 } },
    { name: '502', fault: { status: 502 } },
    { name: '504', fault: { status: 504 } },
    {
      name: '500 with retriable 50003',
      fault: { status: 500, body: { error_code: 50003, message: 'retriable' } },
    },
    {
      name: '500 with 50301',
      fault: { status: 500, body: { error_code: 50301, message: 'pool exhausted' } },
    },
  ])('retries the whole request after $name', async ({ fault }) => {
    // Prepare
    kit.server.inject({ kind: 'status', ...fault, match: postRecords });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

    // Assess
    expect(results.every((result) => result.ok)).toBe(true);
    expect(kit.server.requests).toHaveLength(2);
    expect(values(kit.server.records('demo', 0))).toEqual(['r0', 'r1']);
    expect(kit.client.stats()).toMatchObject({ retries: 1, ambiguousResends: 0 });
  });

  it.each([
    {
      name: 'a plain 500 (records may be partly written)',
      fault: { status: 500 },
      expected: { code: 'ERR_UPSTREAM_STATUS', status: 500, kafkaErrorCode: 500, retriable: true },
    },
    {
      name: '422 (request error)',
      fault: { status: 422, body: { error_code: 422, message: 'records may not be empty' } },
      expected: { code: 'ERR_RECORD_REJECTED', status: 422, retriable: false },
    },
    {
      name: '400 with a text/plain body (old rest-utils)',
      fault: {
        status: 400,
        body: 'Unexpected character at line 1',
        headers: { 'content-type': 'text/plain' },
      },
      expected: {
        code: 'ERR_RECORD_REJECTED',
        status: 400,
        kafkaErrorCode: null,
        bodySnippet: 'Unexpected character at line 1',
      },
    },
    {
      name: '406 without a body',
      fault: { status: 406, body: '' },
      expected: {
        code: 'ERR_UPSTREAM_STATUS',
        status: 406,
        kafkaErrorCode: null,
        bodySnippet: '',
        retriable: false,
      },
    },
    {
      name: '404 unknown topic',
      fault: { status: 404, body: { error_code: 40401, message: 'Topic not found.' } },
      expected: { code: 'ERR_UPSTREAM_STATUS', status: 404, kafkaErrorCode: 40401, retriable: false },
    },
  ])('does not resend after $name', async ({ fault, expected }) => {
    // Prepare
    kit.server.inject({ kind: 'status', ...fault, match: postRecords } as Fault);

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

    // Assess
    expect(failureOf(results[0])).toMatchObject(expected);
    expect(failureOf(results[1])).toBe(failureOf(results[0]));
    expect(kit.server.requests).toHaveLength(1);
  });

  it('resends after a connection dropped before any answer, counting it as a possible duplicate', async () => {
    // Prepare
    kit.server.inject({ kind: 'drop', match: postRecords });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

    // Assess
    expect(results.every((result) => result.ok)).toBe(true);
    // This server dropped before writing, but a client cannot tell that apart from a drop after writing.
    expect(values(kit.server.records('demo', 0))).toEqual(['r0', 'r1']);
    expect(kit.client.stats()).toMatchObject({
      requests: 2,
      retries: 1,
      ambiguousResends: 1,
      possibleDuplicates: 2,
    });
  });

  it('counts and logs the resend after a connection dropped AFTER the write: the duplicate it makes', async () => {
    // Prepare
    kit.server.inject({ kind: 'after-write', action: 'drop', match: postRecords });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

    // Assess
    expect(results).toEqual([
      { ok: true, partition: 0, offset: 2 },
      { ok: true, partition: 0, offset: 3 },
    ]);
    expect(values(kit.server.records('demo', 0))).toEqual(['r0', 'r1', 'r0', 'r1']);
    expect(kit.client.stats()).toMatchObject({ ambiguousResends: 1, possibleDuplicates: 2 });
    const warning = kit.log.lines.find((line) => line.level === 'warn');
    expect(warning?.message).toMatch(/may be written twice/);
    expect(warning?.attributes).toMatchObject({ topic: 'demo', records: 2, attempt: 2 });
  });

  it('after an answer broken off past the write, resends what it cannot know was written, and no more', async () => {
    // Prepare: both records are written; the answer breaks after one v3 report, or halfway on v1/v2.
    kit.server.inject({ kind: 'after-write', action: 'cut', reports: 1, match: postRecords });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 2), deadlineIn());

    // Assess
    // v3 reports each record as it goes: the first one's report arrived, so only the second goes again.
    // A v1/v2 answer is one document: half of it says nothing, so both go again.
    const resent = c.dialect === 'v3' ? ['r1'] : ['r0', 'r1'];
    expect(values(kit.server.records('demo', 0))).toEqual(['r0', 'r1', ...resent]);
    expect(results).toEqual(
      c.dialect === 'v3'
        ? [
            { ok: true, partition: 0, offset: 0 },
            { ok: true, partition: 0, offset: 2 },
          ]
        : [
            { ok: true, partition: 0, offset: 2 },
            { ok: true, partition: 0, offset: 3 },
          ],
    );
    expect(kit.client.stats()).toMatchObject({ ambiguousResends: 1, possibleDuplicates: resent.length });
  });

  it('times out an attempt and retries it within the deadline (ambiguous: counted)', async () => {
    // Prepare
    const client = createKafkaRest({
      baseUrl: kit.server.url,
      allowHttp: true,
      auth: apiKeyAuth(literalSecret(API_KEY)),
      ...clientOptionsFor(c),
      // The retry must answer within it: wide enough for a loaded machine, still far below the delay.
      requestTimeoutMs: 500,
      sleep: async () => {},
    });
    kit.server.inject({ kind: 'after-write', action: 'delay', ms: 2_000, match: postRecords });

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 1), deadlineIn());
    const stats = client.stats();
    await client.close();

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 1 }]);
    expect(stats).toMatchObject({ requests: 2, ambiguousResends: 1, possibleDuplicates: 1 });
  });

  it('caps the wait for an answer at the deadline, below requestTimeoutMs', async () => {
    // Prepare: the answer would come after 2 s, well inside requestTimeoutMs, but the deadline is closer.
    kit.server.inject({ kind: 'delay', ms: 2_000, match: postRecords });

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn(500));

    // Assess
    expect(failureOf(results[0])).toMatchObject({ code: 'ERR_UPSTREAM_TIMEOUT', retriable: true });
    expect(kit.server.requests).toHaveLength(1);
  });

  it('reports a deadline already passed without sending anything', async () => {
    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 1), { deadlineMs: Date.now() - 1 });

    // Assess
    expect(failureOf(results[0])).toMatchObject({ code: 'ERR_DEADLINE' });
    expect(kit.server.requests).toHaveLength(0);
  });

  it.each([
    { name: 'an empty list', topic: 'demo', records: [], code: 'ERR_PAYLOAD_INVALID' },
    {
      name: 'a bad topic name',
      topic: '../admin',
      records: fourRecords.slice(0, 1),
      code: 'ERR_PAYLOAD_INVALID',
    },
    {
      name: 'a negative partition',
      topic: 'demo',
      records: [{ value: null, partition: -1 }],
      code: 'ERR_PAYLOAD_INVALID',
    },
    {
      name: 'a record over maxRecordBytes',
      topic: 'demo',
      records: [{ key: Buffer.alloc(600), value: Buffer.alloc(500) }],
      code: 'ERR_PAYLOAD_TOO_LARGE',
    },
  ])('throws before sending for $name', async ({ topic, records, code }) => {
    // Prepare
    const client = createKafkaRest({
      baseUrl: kit.server.url,
      allowHttp: true,
      auth: noAuth(),
      ...clientOptionsFor(c),
      maxRecordBytes: 1_000,
    });

    // Act
    const error = await client.produce(topic, records, deadlineIn()).catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect(error).toMatchObject({ code });
    expect(kit.server.requests).toHaveLength(0);
  });

  it('splits a call over maxRequestRecords into consecutive requests', async () => {
    // Prepare
    const client = createKafkaRest({
      baseUrl: kit.server.url,
      allowHttp: true,
      auth: apiKeyAuth(literalSecret(API_KEY)),
      ...clientOptionsFor(c),
      maxRequestRecords: 3,
    });
    const records = Array.from({ length: 7 }, (_, i) => ({ value: bytes(`m${i}`), partition: 1 }));

    // Act
    const results = await client.produce('demo', records, deadlineIn());
    await client.close();

    // Assess
    expect(results.map((result) => (result.ok ? result.offset : -1))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(kit.server.requests.map((request) => sentRecords(c, request.body).length)).toEqual([3, 3, 1]);
  });

  it('fails over to ERR_UPSTREAM_NETWORK for a proxy that refuses connections (nothing was sent: not ambiguous)', async () => {
    // Prepare
    const url = kit.server.url;
    await kit.server.close();
    const client = createKafkaRest({
      baseUrl: url,
      allowHttp: true,
      auth: noAuth(),
      ...clientOptionsFor(c),
      maxAttempts: 2,
      sleep: async () => {},
    });

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 1), deadlineIn());
    const stats = client.stats();
    await client.close();

    // Assess
    expect(failureOf(results[0])).toMatchObject({ code: 'ERR_UPSTREAM_NETWORK', retriable: true });
    expect(stats).toMatchObject({ requests: 2, retries: 1, ambiguousResends: 0 });
  });
});

describe.each(PRODUCE_DIALECTS)(
  'HTTP Basic (Confluent Cloud key:secret, Redpanda user:password) over $name',
  (c) => {
    const CREDENTIAL = 'bridge-key:s3cret-Basic-9f2c7e1a';
    const ROTATED = 'bridge-key:r0tated-Basic-4b8d2f6c';
    const SECRET_ID = 'kafka-rest/basic';
    let kit: KafkaRestFixture;
    let sm: LocalSecretsManager;

    beforeEach(async () => {
      sm = await startSecretsManager({ [SECRET_ID]: CREDENTIAL });
      const cache = createSecretsCache({ client: sm.client(), ttlMs: 3_600_000 });
      kit = await startKafkaRestWithClient({
        dialect: c,
        server: { basicAuth: CREDENTIAL, topics: { demo: 1 } },
        client: { auth: basicAuth(secretValue(cache, { secretId: SECRET_ID })) },
      });
    });
    afterEach(async () => {
      await kit.close();
      await sm.close();
    });

    const basic = (credential: string) => `Basic ${Buffer.from(credential).toString('base64')}`;

    it('produces (and reads, where the dialect can) with the credential from Secrets Manager, then follows its rotation', async () => {
      // Prepare
      await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn());
      kit.server.setBasicAuth(ROTATED);
      sm.setSecret(SECRET_ID, ROTATED);

      // Act
      const results = await kit.client.produce('demo', fourRecords.slice(1, 2), deadlineIn());
      const read =
        c.dialect === 'v3' ? [] : await kit.client.fetch('demo', 0, 0, { maxRecords: 5, ...deadlineIn() });

      // Assess
      expect(results).toEqual([{ ok: true, partition: 0, offset: 1 }]);
      if (c.dialect !== 'v3') expect(read.map((record) => record.value?.toString())).toEqual(['r0', 'r1']);
      const sent = kit.server.requests.map((request) => request.headers.authorization);
      // The first produce, the refused one with the old credential, then the new one from then on.
      expect(sent.slice(0, 3)).toEqual([basic(CREDENTIAL), basic(CREDENTIAL), basic(ROTATED)]);
      expect(new Set(sent.slice(3))).toEqual(new Set(c.dialect === 'v3' ? [] : [basic(ROTATED)]));
      expect(kit.server.requests.every((request) => request.headers['x-auth-token'] === undefined)).toBe(
        true,
      );
      expect(kit.client.stats()).toMatchObject({ authRefreshes: 1 });
      expect(sm.requests).toHaveLength(2);
    });

    it('gives ERR_UPSTREAM_AUTH when the credential stays refused, with neither password anywhere', async () => {
      // Prepare: the server wants a credential that Secrets Manager does not have.
      kit.server.setBasicAuth(ROTATED);

      // Act
      const results = await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn());

      // Assess
      const error = failureOf(results[0]);
      expect(error).toMatchObject({ code: 'ERR_UPSTREAM_AUTH', status: 401 });
      expect(kit.server.records('demo', 0)).toEqual([]);
      const exposed = [error.message, JSON.stringify(error), kit.log.text()].join('\n');
      for (const credential of [CREDENTIAL, ROTATED]) {
        const [, password = credential] = credential.split(':');
        expect(exposed).not.toContain(password);
        expect(exposed).not.toContain(Buffer.from(credential).toString('base64'));
      }
    });
  },
);

describe.each(PRODUCE_DIALECTS)('auth and key rotation over $name', (c) => {
  let kit: KafkaRestFixture;
  let sm: LocalSecretsManager;
  const SECRET_ID = 'kafka-rest/key';

  beforeEach(async () => {
    sm = await startSecretsManager({ [SECRET_ID]: API_KEY });
    const cache = createSecretsCache({ client: sm.client(), ttlMs: 3_600_000 });
    kit = await startKafkaRestWithClient({
      dialect: c,
      server: { apiKey: API_KEY },
      client: { auth: apiKeyAuth(secretValue(cache, { secretId: SECRET_ID })) },
    });
  });
  afterEach(async () => {
    await kit.close();
    await sm.close();
  });

  it('reads the secret again once after a 401 (rotation) and succeeds with the new key', async () => {
    // Prepare
    await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn());
    kit.server.setApiKey(ROTATED_KEY);
    sm.setSecret(SECRET_ID, ROTATED_KEY);

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(1, 2), deadlineIn());

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 1 }]);
    expect(sm.requests).toHaveLength(2);
    expect(kit.server.requests.map((request) => request.headers['x-auth-token'])).toEqual([
      API_KEY,
      API_KEY,
      ROTATED_KEY,
    ]);
    expect(kit.client.stats()).toMatchObject({ authRefreshes: 1, retries: 1 });
    expect(kit.sleeps).toEqual([]);
  });

  it('gives ERR_UPSTREAM_AUTH after one refresh when the key stays refused, leaking it nowhere', async () => {
    // Prepare: the server wants a key that Secrets Manager does not have.
    kit.server.setApiKey(ROTATED_KEY);

    // Act
    const results = await kit.client.produce('demo', fourRecords.slice(0, 1), deadlineIn());
    const fetchError = await kit.client
      .fetch('demo', 0, 0, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);

    // Assess
    const error = failureOf(results[0]);
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_AUTH', status: 401 });
    // v3 has no consume API: its fetch is refused before any request or secret read (protocol doc §7).
    const read =
      c.dialect === 'v3'
        ? { error: { code: 'ERR_CONFIG' }, requests: 0, secretReads: 0 }
        : { error: { code: 'ERR_UPSTREAM_AUTH', status: 401 }, requests: 2, secretReads: 1 };
    expect(fetchError).toMatchObject(read.error);
    expect(kit.server.requests).toHaveLength(2 + read.requests);
    expect(sm.requests).toHaveLength(2 + read.secretReads);
    const exposed = [
      error.message,
      JSON.stringify(error),
      (error as UpstreamError).bodySnippet,
      (fetchError as Error).message,
      kit.log.text(),
    ].join('\n');
    expect(exposed).not.toContain(API_KEY);
    expect(exposed).not.toContain(ROTATED_KEY);
  });

  it('reports ERR_SECRET for every record when the secret cannot be read', async () => {
    // Prepare
    sm.deleteSecret(SECRET_ID);
    const cache = createSecretsCache({ client: sm.client(), ttlMs: 0 });
    const client = createKafkaRest({
      baseUrl: kit.server.url,
      allowHttp: true,
      auth: apiKeyAuth(secretValue(cache, { secretId: SECRET_ID })),
      ...clientOptionsFor(c),
      maxAttempts: 1,
    });

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
    await client.close();

    // Assess
    expect(failureOf(results[0])).toMatchObject({ code: 'ERR_SECRET' });
    expect(failureOf(results[1]).message).toContain(SECRET_ID);
    expect(kit.server.requests).toHaveLength(0);
  });
});

describe.each([
  {
    name: 'basic',
    auth: basicAuth(literalSecret('user:pa55')),
    header: 'authorization',
    value: 'Basic dXNlcjpwYTU1',
  },
  {
    name: 'bearer',
    auth: bearerAuth(literalSecret('tok-123\n')),
    header: 'authorization',
    value: 'Bearer tok-123',
  },
  { name: 'api key', auth: apiKeyAuth(literalSecret('key-1')), header: 'x-auth-token', value: 'key-1' },
])('auth provider: $name', ({ auth, header, value }) => {
  it('sends its header on every request', async () => {
    // Prepare
    const kit = await startKafkaRestWithClient({ client: { auth } });

    // Act
    await kit.client.listTopics(deadlineIn());
    await kit.client.listTopics(deadlineIn());
    await kit.close();

    // Assess
    expect(kit.server.requests.map((request) => request.headers[header])).toEqual([value, value]);
  });
});

describe('auth provider checks', () => {
  it('refuses a basic credential without a colon, without quoting it', async () => {
    // Act
    const error = await basicAuth(literalSecret('no-colon-secret'))
      .headers()
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'ERR_SECRET' });
    expect((error as Error).message).not.toContain('no-colon-secret');
  });

  it('sends no headers with noAuth', async () => {
    expect(await noAuth().headers()).toEqual({});
  });
});

describe('fetch and logBounds against the local Kafka REST server', () => {
  let kit: KafkaRestFixture;
  const append = (count: number, partition = 0) =>
    kit.server.append(
      'demo',
      partition,
      Array.from({ length: count }, (_, i) => ({ value: bytes(`v${i}`) })),
    );

  beforeEach(async () => {
    kit = await startKafkaRestWithClient({ server: { topics: { demo: 2 } } });
  });
  afterEach(async () => {
    await kit.close();
  });

  it('reads from an offset, honours maxRecords, and answers [] when caught up', async () => {
    // Prepare
    append(5);

    // Act
    const middle = await kit.client.fetch('demo', 0, 2, { maxRecords: 2, ...deadlineIn() });
    const end = await kit.client.fetch('demo', 0, 5, { maxRecords: 10, ...deadlineIn() });

    // Assess
    expect(middle.map((record) => record.offset)).toEqual([2, 3]);
    expect(end).toEqual([]);
  });

  it.each([
    { name: 'below the log start (retention)', offset: 1 },
    { name: 'above the log end (re-created topic)', offset: 9 },
  ])('throws OffsetOutOfRangeError $name', async ({ offset }) => {
    // Prepare
    append(5);
    kit.server.truncateBefore('demo', 0, 3);

    // Act
    const error = await kit.client
      .fetch('demo', 0, offset, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(OffsetOutOfRangeError);
    expect(isOffsetOutOfRangeError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'ERR_OFFSET_OUT_OF_RANGE',
      topic: 'demo',
      partition: 0,
      offset,
      retriable: false,
    });
  });

  it.each([
    {
      name: '500/50301',
      fault: { kind: 'status', status: 500, body: { error_code: 50301, message: 'busy' } },
    },
    { name: '503', fault: { kind: 'status', status: 503 } },
    { name: 'a plain 500 (a read is idempotent)', fault: { kind: 'status', status: 500 } },
    { name: 'a 429', fault: { kind: 'throttle', retryAfterSeconds: 2 } },
    { name: 'a dropped connection', fault: { kind: 'drop' } },
  ])('retries a read after $name', async ({ fault }) => {
    // Prepare
    append(2);
    kit.server.inject({ ...fault, match: { method: 'GET' } } as Fault);

    // Act
    const records = await kit.client.fetch('demo', 0, 0, { maxRecords: 5, ...deadlineIn() });

    // Assess
    expect(records.map((record) => record.offset)).toEqual([0, 1]);
    expect(kit.server.requests).toHaveLength(2);
    expect(kit.client.stats().ambiguousResends).toBe(0); // reads resend freely
  });

  it('throws the last error when a read keeps failing', async () => {
    // Prepare
    kit.server.inject({ kind: 'status', status: 503, times: 10 });

    // Act
    const error = await kit.client
      .fetch('demo', 0, 0, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);

    // Assess
    expect(isUpstreamError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_STATUS', status: 503 });
    expect(kit.server.requests).toHaveLength(5);
  });

  it.each([
    { name: 'an empty partition', setup: () => {}, near: undefined, expected: { start: 0, end: 0 } },
    { name: 'an untruncated log', setup: () => append(10), near: undefined, expected: { start: 0, end: 10 } },
    {
      name: 'an untruncated log, from near',
      setup: () => append(10),
      near: 7,
      expected: { start: 0, end: 10 },
    },
    {
      name: 'a log near above its end',
      setup: () => append(10),
      near: 1_000,
      expected: { start: 0, end: 10 },
    },
    {
      name: 'a truncated log, checkpoint below its start',
      setup: () => {
        append(100);
        kit.server.truncateBefore('demo', 0, 40);
      },
      near: 10,
      expected: { start: 40, end: 100 },
    },
    {
      name: 'a truncated log, no checkpoint',
      setup: () => {
        append(100);
        kit.server.truncateBefore('demo', 0, 40);
      },
      near: undefined,
      expected: { start: 40, end: 100 },
    },
    {
      name: 'a fully truncated log, checkpoint at its end',
      setup: () => {
        append(30);
        kit.server.truncateBefore('demo', 0, 30);
      },
      near: 30,
      expected: { start: 30, end: 30 },
    },
    {
      name: 'a re-created topic, checkpoint above its end',
      setup: () => {
        append(50);
        kit.server.deleteTopic('demo');
        kit.server.createTopic('demo', 2);
        append(5);
      },
      near: 50,
      expected: { start: 0, end: 5 },
    },
  ])('logBounds finds start and end of $name', async ({ setup, near, expected }) => {
    // Prepare
    setup();

    // Act
    const bounds = await kit.client.logBounds('demo', 0, {
      ...deadlineIn(),
      ...(near === undefined ? {} : { near }),
    });

    // Assess
    expect(bounds).toEqual(expected);
    expect(kit.server.requests.every((request) => request.query.count === '1')).toBe(true);
  });

  it.each([
    { name: '2 records left at 998-999, checkpoint at 10', count: 1_000, truncateAt: 998, near: 10 },
    { name: 'an emptied log at 30, checkpoint at 5', count: 30, truncateAt: 30, near: 5 },
  ])(
    'logBounds gives up with ERR_OFFSET_OUT_OF_RANGE when probes step over the log: $name',
    async ({ count, truncateAt, near }) => {
      // Prepare
      append(count);
      kit.server.truncateBefore('demo', 0, truncateAt);

      // Act
      const error = await kit.client
        .logBounds('demo', 0, { near, ...deadlineIn() })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(OffsetOutOfRangeError);
      expect((error as Error).message).toMatch(/could not locate the log of demo\/0/);
    },
  );
});

describe('metadata against the local Kafka REST server', () => {
  let kit: KafkaRestFixture;

  beforeEach(async () => {
    kit = await startKafkaRestWithClient({ server: { topics: { orders: 3, demo: 2, audit: 1 } } });
  });
  afterEach(async () => {
    await kit.close();
  });

  it('lists topics sorted and partitions by number', async () => {
    // Act
    const topics = await kit.client.listTopics(deadlineIn());
    const partitions = await kit.client.listPartitions('orders', deadlineIn());

    // Assess
    expect(topics).toEqual(['audit', 'demo', 'orders']);
    expect(partitions.map((partition) => partition.partition)).toEqual([0, 1, 2]);
    expect(partitions[0]).toMatchObject({ leader: 0, replicas: [{ broker: 0, leader: true, inSync: true }] });
  });

  it('throws ERR_UPSTREAM_STATUS 404 for the partitions of an unknown topic', async () => {
    // Act
    const error = await kit.client.listPartitions('missing', deadlineIn()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({
      code: 'ERR_UPSTREAM_STATUS',
      status: 404,
      kafkaErrorCode: 40401,
      retriable: false,
    });
  });
});

/** A node:http server that answers each request with the next scripted reply, for wire shapes the dev server never sends. */
const startScripted = async (
  replies: ((req: IncomingMessage, body: string, res: ServerResponse) => void)[],
): Promise<{ url: string; bodies: string[]; server: Server }> => {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      bodies.push(`${req.method} ${req.url} ${body}`);
      const reply = replies.shift();
      if (reply === undefined) {
        res.writeHead(500).end();
        return;
      }
      reply(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
};

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  (_req: IncomingMessage, _body: string, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/vnd.kafka.v1+json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

describe('wire edge cases (scripted node:http server)', () => {
  let scripted: Awaited<ReturnType<typeof startScripted>> | undefined;
  const sleeps: number[] = [];
  const clientFor = (url: string, options: { now?: () => number; flavor?: 'karapace' } = {}) =>
    createKafkaRest({
      baseUrl: `${url}/kafka-rest/`,
      allowHttp: true,
      auth: apiKeyAuth(literalSecret(API_KEY)),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...options,
    });

  afterEach(async () => {
    sleeps.length = 0;
    scripted?.server.closeAllConnections();
    await new Promise<void>((resolve) => scripted?.server.close(() => resolve()) ?? resolve());
    scripted = undefined;
  });

  it('drops fetched records below the requested offset (whole batches) and ignores unknown fields', async () => {
    // Prepare
    const record = (offset: number) => ({ topic: 'demo', key: null, value: 'dg==', partition: 0, offset });
    scripted = await startScripted([json(200, [3, 4, 5, 6].map(record))]);
    const client = clientFor(scripted.url);

    // Act
    const records = await client.fetch('demo', 0, 5, { maxRecords: 10, ...deadlineIn() });
    await client.close();

    // Assess
    expect(records.map((item) => item.offset)).toEqual([5, 6]);
    expect(scripted.bodies).toEqual(['GET /kafka-rest/topics/demo/partitions/0/messages?offset=5&count=10 ']);
  });

  it('sorts partitions the proxy lists out of order', async () => {
    // Prepare
    const partition = (id: number) => ({
      partition: id,
      leader: 1,
      replicas: [{ broker: 1, leader: true, in_sync: true }],
    });
    scripted = await startScripted([json(200, [2, 0, 1].map(partition))]);
    const client = clientFor(scripted.url);

    // Act
    const partitions = await client.listPartitions('demo', deadlineIn());
    await client.close();

    // Assess
    expect(partitions.map((item) => item.partition)).toEqual([0, 1, 2]);
  });

  it('handles Karapace-style per-record results sent with HTTP 500 (flavor karapace)', async () => {
    // Prepare
    scripted = await startScripted([
      json(500, {
        offsets: [
          { partition: 0, offset: 7, error_code: null, error: null },
          { partition: null, offset: null, error_code: 2, error: 'retriable' },
        ],
      }),
      json(200, { offsets: [{ partition: 0, offset: 8 }] }),
    ]);
    const client = clientFor(scripted.url, { flavor: 'karapace' });

    // Act
    const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
    await client.close();

    // Assess
    expect(results).toEqual([
      { ok: true, partition: 0, offset: 7 },
      { ok: true, partition: 0, offset: 8 },
    ]);
    expect(scripted.bodies[1]).toBe(
      'POST /kafka-rest/topics/demo {"records":[{"partition":0,"value":"cjE="}]}',
    );
  });

  it('reads Retry-After given as an HTTP date', async () => {
    // Prepare
    const nowMs = Date.parse('2030-01-01T00:00:00Z');
    scripted = await startScripted([
      json(503, { error_code: 503, message: 'busy' }, { 'retry-after': 'Tue, 01 Jan 2030 00:00:03 GMT' }),
      json(200, ['demo']),
    ]);
    const client = clientFor(scripted.url, { now: () => nowMs });

    // Act
    const topics = await client.listTopics({ deadlineMs: nowMs + 10_000 });
    await client.close();

    // Assess
    expect(topics).toEqual(['demo']);
    expect(sleeps).toEqual([3_000]);
  });

  it.each([
    { name: 'not JSON', body: '<html>gateway</html>' },
    { name: 'fewer offsets than records', body: '{"offsets":[{"partition":0,"offset":1}]}' },
  ])(
    'reports a 2xx produce answer that is $name as ERR_UPSTREAM_PROTOCOL, without resending',
    async ({ body }) => {
      // Prepare
      scripted = await startScripted([json(200, body)]);
      const client = clientFor(scripted.url);

      // Act
      const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
      await client.close();

      // Assess
      expect(failureOf(results[0])).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', status: 200 });
      expect(scripted.bodies).toHaveLength(1);
    },
  );

  it('throws ERR_UPSTREAM_PROTOCOL for a fetch answer that is not a list of records', async () => {
    // Prepare
    scripted = await startScripted([json(200, { records: [] })]);
    const client = clientFor(scripted.url);

    // Act
    const error = await client
      .fetch('demo', 0, 0, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', bodySnippet: '{"records":[]}' });
  });

  it('redacts the credential from a body snippet when a proxy echoes it, and keeps snippets to 256 chars', async () => {
    // Prepare
    const echo = `bad token ${API_KEY} ${'x'.repeat(400)}`;
    scripted = await startScripted([json(418, echo)]);
    const client = clientFor(scripted.url);

    // Act
    const error = await client.listTopics(deadlineIn()).catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect(isAppError(error)).toBe(true);
    const snippet = (error as UpstreamError).bodySnippet;
    expect(snippet).toMatch(/^bad token \[redacted\] x+$/);
    expect(snippet).not.toContain(API_KEY);
    expect(snippet.length).toBeLessThanOrEqual(256);
  });

  it('redacts a credential that straddles the snippet cut, leaving none of its characters', async () => {
    // Prepare
    scripted = await startScripted([json(418, `${'x'.repeat(250)}${API_KEY}`)]);
    const client = clientFor(scripted.url);

    // Act
    const error = await client.listTopics(deadlineIn()).catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect((error as UpstreamError).bodySnippet).toBe(`${'x'.repeat(250)}[redac`);
  });
});

describe('answers the client must not trust (scripted node:http server)', () => {
  let scripted: Awaited<ReturnType<typeof startScripted>> | undefined;
  const scriptedReplies: Parameters<typeof startScripted>[0] = [];
  const clientFor = (url: string, options: { maxAttempts?: number } = {}) =>
    createKafkaRest({
      baseUrl: url,
      allowHttp: true,
      auth: noAuth(),
      sleep: async () => {},
      random: () => 0.5,
      ...options,
    });

  afterEach(async () => {
    scriptedReplies.length = 0;
    scripted?.server.closeAllConnections();
    await new Promise<void>((resolve) => scripted?.server.close(() => resolve()) ?? resolve());
    scripted = undefined;
  });

  const record = (offset: number, fields: Record<string, unknown> = {}) => ({
    key: null,
    value: 'dg==',
    partition: 0,
    offset,
    ...fields,
  });

  it.each([
    { name: 'a value missing its padding', records: [record(5, { value: 'dg' })] },
    { name: 'a value with a space', records: [record(5, { value: 'd g==' })] },
    { name: 'an over-padded value', records: [record(5, { value: 'aGVsbG8==' })] },
    { name: 'a value outside the alphabet', records: [record(5, { value: 'dg*=' })] },
    { name: 'a url-safe value', records: [record(5, { value: '-_8=' })] },
    { name: 'a bad key', records: [record(5, { key: 'k=y=' })] },
    { name: 'a value that is not a string', records: [record(5, { value: 7 })] },
    { name: 'offsets going down', records: [record(5), record(7), record(6)] },
    { name: 'a repeated offset', records: [record(5), record(5)] },
    { name: 'offsets going down after the dropped ones', records: [record(3), record(6), record(5)] },
    { name: 'a negative offset', records: [record(-1)] },
    { name: 'a fractional offset', records: [record(5.5)] },
    { name: 'a record of another partition', records: [record(5), record(6, { partition: 1 })] },
    { name: 'a record of another topic', records: [record(5, { topic: 'other' })] },
  ])('fails the whole fetch with ERR_UPSTREAM_PROTOCOL (retriable) for $name', async ({ records }) => {
    // Prepare
    scripted = await startScripted([json(200, records)]);
    const client = clientFor(scripted.url);

    // Act
    const error = await client
      .fetch('demo', 0, 5, { maxRecords: 10, ...deadlineIn() })
      .catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', retriable: true, status: 200 });
    expect(scripted.bodies).toHaveLength(1);
  });

  it("accepts strict base64 of every padding length and a topic field naming the partition's topic", async () => {
    // Prepare
    const answer = [
      record(5, { value: 'YWJj', topic: 'demo' }),
      record(6, { value: 'YWI=' }),
      record(7, { value: 'YQ==', key: '' }),
    ];
    scripted = await startScripted([json(200, answer)]);
    const client = clientFor(scripted.url);

    // Act
    const records = await client.fetch('demo', 0, 5, { maxRecords: 10, ...deadlineIn() });
    await client.close();

    // Assess
    expect(records.map((item) => [item.key?.toString() ?? null, item.value?.toString()])).toEqual([
      [null, 'abc'],
      [null, 'ab'],
      ['', 'a'],
    ]);
  });

  it.each([
    { name: 'offset -1', entry: { partition: 0, offset: -1 } },
    { name: 'a fractional offset', entry: { partition: 0, offset: 1.5 } },
    { name: 'a negative partition', entry: { partition: -1, offset: 3 } },
    { name: 'a fractional partition', entry: { partition: 0.5, offset: 3 } },
    { name: 'an offset given as a string', entry: { partition: 0, offset: '3' } },
  ])(
    'reports a produce entry with $name as not acknowledged: retriable, not resent, a possible duplicate',
    async ({ entry }) => {
      // Prepare
      scripted = await startScripted([
        json(200, { offsets: [{ partition: 0, offset: 2, error_code: null, error: null }, entry] }),
      ]);
      const client = clientFor(scripted.url);

      // Act
      const results = await client.produce('demo', fourRecords.slice(0, 2), deadlineIn());
      await client.close();

      // Assess
      expect(results[0]).toEqual({ ok: true, partition: 0, offset: 2 });
      expect(failureOf(results[1])).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', retriable: true });
      expect(scripted.bodies).toHaveLength(1);
      expect(client.stats()).toMatchObject({ possibleDuplicates: 1, ambiguousResends: 0 });
    },
  );

  it('reads only the first 64 KiB of a huge error page, then drops the connection', async () => {
    // Prepare: a 502 page that never ends (1 MiB sent, then nothing). Reading it whole would wait for the
    // request timeout; a capped read answers with the status as soon as 64 KiB arrived.
    const page = Buffer.alloc(1024 * 1024, 'x');
    page.write('<html><body>Bad Gateway');
    const closed = new Promise<boolean>((resolve) => {
      scriptedReplies.push((_req, _body, res) => {
        res.on('close', () => resolve(res.writableFinished));
        res.writeHead(502, { 'content-type': 'text/html' }).write(page);
      });
    });
    scripted = await startScripted(scriptedReplies);
    const client = createKafkaRest({
      baseUrl: scripted.url,
      allowHttp: true,
      auth: noAuth(),
      maxAttempts: 1,
      requestTimeoutMs: 5_000,
    });

    // Act
    const error = await client.listTopics(deadlineIn()).catch((caught: unknown) => caught);
    await client.close();

    // Assess
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_STATUS', status: 502 });
    expect((error as UpstreamError).bodySnippet).toMatch(/^<html><body>Bad Gatewayx+$/);
    expect(await closed).toBe(false); // the client hung up before the page ended
  });
});

describe('createKafkaRest options', () => {
  it.each([
    {
      name: 'plain http without allowHttp',
      options: { baseUrl: 'http://127.0.0.1:1' },
      problem: /baseUrl must use https/,
    },
    { name: 'a relative URL', options: { baseUrl: '/topics' }, problem: /baseUrl must be an absolute URL/ },
    { name: 'another scheme', options: { baseUrl: 'ftp://kafka' }, problem: /baseUrl must be an https URL/ },
    {
      name: 'credentials in the URL',
      options: { baseUrl: 'https://user:secret@kafka.example' },
      problem: /baseUrl must not carry credentials/,
    },
    {
      name: 'zero connections',
      options: { connections: 0 },
      problem: /connections must be an integer from 1 to 1024, got 0/,
    },
    {
      name: 'a fractional timeout',
      options: { requestTimeoutMs: 1.5 },
      problem: /requestTimeoutMs must be an integer/,
    },
    {
      name: 'maxAttempts 0',
      options: { maxAttempts: 0 },
      problem: /maxAttempts must be an integer from 1 to 100/,
    },
    {
      name: 'backoffMax below backoffBase',
      options: { backoffBaseMs: 500, backoffMaxMs: 100 },
      problem: /backoffMaxMs must be ≥ backoffBaseMs/,
    },
    { name: 'a missing auth', options: { auth: undefined }, problem: /auth must be an AuthProvider/ },
  ])('rejects $name with ERR_CONFIG naming the option', ({ options, problem }) => {
    // Act
    const attempt = () =>
      createKafkaRest({ baseUrl: 'https://kafka.example', auth: noAuth(), ...options } as Parameters<
        typeof createKafkaRest
      >[0]);

    // Assess
    expect(attempt).toThrow(problem);
    expect(attempt).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  it('accepts https, and http when allowHttp is set', async () => {
    // Act
    const clients = [
      createKafkaRest({ baseUrl: new URL('https://kafka.example/rest'), auth: noAuth() }),
      createKafkaRest({ baseUrl: 'http://127.0.0.1:1', allowHttp: true, auth: noAuth() }),
    ];

    // Assess
    expect(clients.map((client) => typeof client.produce)).toEqual(['function', 'function']);
    await Promise.all(clients.map((client) => client.close()));
  });
});

describe('createKafkaRestProducer (the ingestion functions’ client)', () => {
  it('produces like createKafkaRest, and refuses to read with ERR_CONFIG without a request', async () => {
    // Prepare
    const kit = await startKafkaRestWithClient({ server: { topics: { demo: 1 } } });
    const producer = createKafkaRestProducer({ baseUrl: kit.server.url, allowHttp: true, auth: noAuth() });

    // Act
    const results = await producer.produce('demo', fourRecords.slice(0, 1), deadlineIn());
    const readError = await producer
      .fetch('demo', 0, 0, { maxRecords: 1, ...deadlineIn() })
      .catch((caught: unknown) => caught);
    const boundsError = await producer.logBounds('demo', 0, deadlineIn()).catch((caught: unknown) => caught);
    await producer.endFetch('demo', 0, deadlineIn());
    await producer.close();
    await kit.close();

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    for (const error of [readError, boundsError]) {
      expect(error).toMatchObject({ code: 'ERR_CONFIG' });
      expect((error as Error).message).toMatch(/produce only/);
    }
    expect(kit.server.requests.map((request) => request.method)).toEqual(['POST']);
  });
});

describe('createKafkaRestFromConfig', () => {
  it('wires URL, key and limits from the config', async () => {
    // Prepare
    const kit = await startKafkaRestWithClient({ server: { apiKey: API_KEY } });
    const config = loadConfig({
      KAFKA_REST_URL: kit.server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_API_KEY: API_KEY,
      KAFKA_REST_MAX_RECORD_BYTES: '10',
    });
    const log = createMemoryLog();
    const client = createKafkaRestFromConfig(config, { log });

    // Act
    const results = await client.produce('demo', [{ value: bytes('hello'), partition: 2 }], deadlineIn());
    const tooLarge = await client
      .produce('demo', [{ value: bytes('more than ten bytes') }], deadlineIn())
      .catch((caught: unknown) => caught);
    await client.close();
    await kit.close();

    // Assess
    expect(results).toEqual([{ ok: true, partition: 2, offset: 0 }]);
    expect(kit.server.requests[0]?.headers['x-auth-token']).toBe(API_KEY);
    expect(tooLarge).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE' });
  });

  it('reads a secret id through the given secrets cache', async () => {
    // Prepare
    const sm = await startSecretsManager({ 'kafka/key': API_KEY });
    const kit = await startKafkaRestWithClient({ server: { apiKey: API_KEY } });
    const config = loadConfig({
      KAFKA_REST_URL: kit.server.url,
      KAFKA_REST_ALLOW_HTTP: 'true',
      KAFKA_REST_AUTH: 'api-key',
      KAFKA_REST_SECRET_ID: 'kafka/key',
    });
    const secrets = createSecretsCache({ client: sm.client(), ttlMs: 60_000 });
    const client = createKafkaRestFromConfig(config, { secrets });

    // Act
    const topics = await client.listTopics(deadlineIn());
    await client.listTopics(deadlineIn());
    await client.close();
    await kit.close();
    await sm.close();

    // Assess
    expect(topics).toEqual(['demo']);
    expect(sm.requests).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: 'kafka/key' }]);
  });

  // A fresh process, because this one has loaded the SDK already (the Secrets Manager helper). One process
  // for all three cases keeps it fast: the SDK, once loaded, stays loaded, so the secret id case goes last.
  it('loads no Secrets Manager SDK, not even for a secret id (one signed GetSecretValue)', () => {
    // Prepare
    const script = `
      import { createRequire } from 'node:module';
      import { loadConfig } from './lib/wiring/settings/all.js';
      import { createKafkaRestFromConfig } from './lib/wiring/kafka-rest-reader.js';
      const base = { KAFKA_REST_URL: 'http://127.0.0.1:9', KAFKA_REST_ALLOW_HTTP: 'true', KAFKA_REST_MAX_ATTEMPTS: '1',
        SECRETS_MANAGER_ENDPOINT: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' };
      const isLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('client-secrets-manager'));
      const loaded = {};
      for (const [name, env] of [
        ['none', { KAFKA_REST_AUTH: 'none' }],
        ['literal', { KAFKA_REST_API_KEY: 'literal' }],
        ['secretId', { KAFKA_REST_SECRET_ID: 'kafka/key' }],
      ]) {
        const client = createKafkaRestFromConfig(loadConfig({ ...base, ...env }));
        const [result] = await client.produce('demo', [{ value: null }], { deadlineMs: Date.now() + 5000 });
        await client.close();
        loaded[name] = { loaded: isLoaded(), code: result.error.code };
      }
      process.stdout.write(JSON.stringify(loaded));
    `;

    // Act
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    });

    // Assess: nothing listens on port 9, so each produce fails where its credential path ends.
    expect(child.stderr).not.toMatch(/Error \[|SyntaxError/);
    expect(JSON.parse(child.stdout)).toEqual({
      none: { loaded: false, code: 'ERR_UPSTREAM_NETWORK' },
      literal: { loaded: false, code: 'ERR_UPSTREAM_NETWORK' },
      secretId: { loaded: false, code: 'ERR_SECRET' },
    });
  });
});
