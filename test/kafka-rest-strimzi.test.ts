import { afterEach, describe, expect, it } from 'vitest';
import { rawCall } from '../dev/kafka-rest/raw-client.js';
import { isAppError } from '../lib/core/errors.js';
import { noAuth } from '../lib/kafka-rest/auth.js';
import { createKafkaRest, type KafkaRestOptions } from '../lib/kafka-rest/client.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import {
  bytes,
  type DialectCase,
  deadlineIn,
  failureOf,
  type KafkaRestFixture,
  PRODUCE_DIALECTS,
  startKafkaRestWithClient,
} from './helpers/kafka-rest.js';

/**
 * The client against the local server's strimzi flavor, for each way the Strimzi Kafka Bridge differs from
 * Confluent v2 (protocol doc §9, peers/observed-answers.md). Each test fails on a client that speaks
 * Confluent v2 to it.
 */
const STRIMZI = PRODUCE_DIALECTS.find((c) => c.flavor === 'strimzi') as DialectCase;

const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';

describe('Kafka REST client over the Strimzi bridge (local server, strimzi flavor)', () => {
  let kit: KafkaRestFixture;

  afterEach(async () => {
    await kit.close();
  });

  const start = async (client: Partial<KafkaRestOptions> = {}) => {
    kit = await startKafkaRestWithClient({ dialect: STRIMZI, server: { topics: { demo: 2 } }, client });
  };
  const append = (values: readonly string[], partition = 0) =>
    kit.server.append(
      'demo',
      partition,
      values.map((value) => ({ value: bytes(value) })),
    );
  const fetchAt = (offset: number, maxRecords = 100) =>
    kit.client.fetch('demo', 0, offset, { maxRecords, ...deadlineIn() });
  const requestsTo = (suffix: string) =>
    kit.server.requests.filter((request) => request.path.endsWith(suffix));

  it('hands out each record’s Kafka timestamp, and none for a record the bridge shows with -1', async () => {
    // Prepare: one record stamped by its producer, one written without a timestamp (Kafka's -1).
    await start();
    const produced = await rawCall(kit.server.url, 'POST', '/topics/demo/partitions/0', {
      headers: { 'content-type': BINARY_V2 },
      body: { records: [{ value: bytes('stamped').toString('base64'), timestamp: 1_764_547_200_000 }] },
    });
    append(['unstamped']);

    // Act
    const records = await fetchAt(0);

    // Assess
    expect(produced.status).toBe(200);
    expect(records.map((record) => [record.value?.toString(), record.timestamp])).toEqual([
      ['stamped', 1_764_547_200_000],
      ['unstamped', undefined],
    ]);
  });

  it('creates its consumer with "enable.auto.commit": false (a JSON boolean) and nothing the bridge refuses', async () => {
    // Prepare
    await start();
    append(['a', 'b']);

    // Act
    const records = await fetchAt(0);

    // Assess
    expect(records.map((record) => record.value?.toString())).toEqual(['a', 'b']);
    const create = requestsTo('/consumers/kafka-rest-bridge')[0];
    const body = JSON.parse(create?.body ?? '') as Record<string, unknown>;
    expect(body['enable.auto.commit']).toBe(false);
    expect(body).not.toHaveProperty('auto.commit.enable');
    const read = requestsTo('/records')[0];
    expect(read?.headers.accept).toBe(BINARY_V2);
  });

  it('produces with exactly the binary v2 Content-Type (a charset suffix is a 500 there)', async () => {
    // Prepare
    await start();

    // Act
    const results = await kit.client.produce('demo', [{ value: bytes('x'), partition: 0 }], deadlineIn());

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    expect(kit.server.requests[0]?.headers['content-type']).toBe(BINARY_V2);
  });

  it('refuses a tombstone per record, never sending it (the bridge would store the three bytes of "null")', async () => {
    // Prepare
    await start();
    const records: ProduceRecord[] = [
      { value: bytes('before'), partition: 0 },
      { key: bytes('k'), value: null, partition: 0 },
      { value: bytes('after'), partition: 0 },
    ];

    // Act
    const results = await kit.client.produce('demo', records, deadlineIn());

    // Assess
    expect(results[0]).toEqual({ ok: true, partition: 0, offset: 0 });
    expect(results[2]).toEqual({ ok: true, partition: 0, offset: 1 });
    expect(failureOf(results[1])).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', retriable: false });
    expect(kit.server.records('demo', 0).map((record) => record.value?.toString())).toEqual([
      'before',
      'after',
    ]);
    expect(kit.server.requests[0]?.body).not.toContain('null');
  });

  it('carries record headers both ways, repeated names and bytes kept', async () => {
    // Prepare
    await start();
    const headers = [
      { name: 'trace', value: bytes('t-1') },
      { name: 'trace', value: new Uint8Array([0, 255]) },
      { name: 'émoji ✓', value: bytes('') },
    ];

    // Act
    const results = await kit.client.produce(
      'demo',
      [{ value: bytes('with headers'), partition: 0, headers }],
      deadlineIn(),
    );
    const [fetched] = await fetchAt(0);

    // Assess
    expect(results).toEqual([{ ok: true, partition: 0, offset: 0 }]);
    const stored = kit.server.records('demo', 0)[0];
    expect(stored?.headers).toEqual(headers.map((h) => ({ name: h.name, value: Buffer.from(h.value) })));
    expect(fetched?.headers).toEqual(headers.map((h) => ({ name: h.name, value: Buffer.from(h.value) })));
    expect(fetched?.value?.toString()).toBe('with headers');
  });

  it('refuses a header without a value per record (the bridge requires one)', async () => {
    // Prepare
    await start();

    // Act
    const results = await kit.client.produce(
      'demo',
      [{ value: bytes('v'), partition: 0, headers: [{ name: 'h', value: null }] }],
      deadlineIn(),
    );

    // Assess
    expect(failureOf(results[0])).toMatchObject({ code: 'ERR_PAYLOAD_INVALID', retriable: false });
    expect(kit.server.requests).toHaveLength(0);
  });

  it.each([
    { name: 'an unknown topic', topic: 'nowhere', partition: 0, code: 404, text: 'not present in metadata' },
    { name: 'a partition past the count', topic: 'demo', partition: 7, code: 404, text: 'partition count 2' },
  ])(
    'reports $name (per-record 404 after the metadata wait) as not final, unsent again, with its message',
    async ({ topic, partition, code, text }) => {
      // Prepare
      await start();

      // Act
      const results = await kit.client.produce(topic, [{ value: bytes('v'), partition }], deadlineIn());

      // Assess
      const error = failureOf(results[0]);
      expect(error).toMatchObject({ code: 'ERR_UPSTREAM_STATUS', retriable: true, kafkaErrorCode: code });
      expect(isAppError(error) && 'bodySnippet' in error ? String(error.bodySnippet) : '').toContain(text);
      expect(kit.server.requests).toHaveLength(1);
    },
  );

  it('reads on after a lost instance (404/404): a new instance, seeked to the same offset', async () => {
    // Prepare
    await start();
    append(['a', 'b']);
    await fetchAt(0);
    append(['c']);
    kit.server.restartConsumers();

    // Act
    const records = await fetchAt(2);

    // Assess
    expect(records.map((record) => record.offset)).toEqual([2]);
    expect(requestsTo('/consumers/kafka-rest-bridge')).toHaveLength(2);
    expect(JSON.parse(requestsTo('/positions').at(-1)?.body ?? '')).toMatchObject({
      offsets: [{ offset: 2 }],
    });
  });

  it('re-assigns (never recreates) on a seek the bridge answers 404 "No current assignment"', async () => {
    // Prepare
    await start();
    append(['a', 'b', 'c']);
    await fetchAt(0, 1);
    kit.server.inject({ kind: 'unassign', match: { path: /\/positions$/ } });

    // Act
    const records = await fetchAt(2);

    // Assess
    expect(records.map((record) => record.offset)).toEqual([2]);
    expect(requestsTo('/consumers/kafka-rest-bridge')).toHaveLength(1);
    expect(requestsTo('/assignments')).toHaveLength(2);
    expect(kit.server.consumerInstances()).toBe(1);
  });

  it('reads the same offset again, at the fetch budget, after a 422 over max_bytes (the poll had moved on): nothing skipped', async () => {
    // Prepare: each read polls all 20 records, whose answer is far over 1 KiB.
    await start({ fetchMaxBytes: 1_024 });
    const values = Array.from({ length: 20 }, (_, i) => `${i}`.padStart(200, '.'));
    append(values);

    // Act
    const records = await fetchAt(0);

    // Assess
    expect(records.map((record) => record.offset)).toEqual(values.map((_, i) => i));
    const reads = requestsTo('/records');
    expect(reads.map((read) => read.query.max_bytes)).toContain('1024');
    expect(reads.at(-1)?.query.max_bytes).not.toBe('1024');
    expect(requestsTo('/positions').map((seek) => JSON.parse(seek.body).offsets[0].offset)).toEqual([0, 0]);
  });

  it('fails plainly (not retriable) when even the fetch budget cannot hold one poll', async () => {
    // Prepare: 1 KiB records; the bridge's poll (up to 1 MiB) encodes past the smallest budget allowed.
    await start({ fetchMaxBytes: 1_024, maxRecordBytes: 1_024, fetchBudgetBytes: 70_000 });
    append(Array.from({ length: 80 }, () => 'x'.repeat(1_000)));

    // Act
    const error = await fetchAt(0).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_PROTOCOL', retriable: false });
    expect(String((error as Error).message)).toMatch(/KAFKA_REST_FETCH_BUDGET_BYTES/);
  });

  it('says the instance stays on the bridge when it cannot delete it (Strimzi keeps idle instances by default)', async () => {
    // Prepare
    await start({ maxAttempts: 1 });
    append(['a']);
    await fetchAt(0);
    kit.server.inject({ kind: 'status', status: 503, match: { method: 'DELETE' } });

    // Act
    await kit.client.endFetch('demo', 0, deadlineIn());

    // Assess
    expect(kit.server.consumerInstances()).toBe(1);
    expect(kit.log.lines.map((line) => line.message)).toContain(
      'could not delete a Kafka REST consumer instance; the bridge keeps it unless its http.timeoutSeconds is set',
    );
  });

  it('reads the log bounds from GET …/partitions/{p}/offsets in one request', async () => {
    // Prepare
    await start();
    append(['a', 'b', 'c']);
    kit.server.truncateBefore('demo', 0, 1);

    // Act
    const bounds = await kit.client.logBounds('demo', 0, deadlineIn());

    // Assess
    expect(bounds).toEqual({ start: 1, end: 3 });
    expect(kit.client.exactLogBounds).toBe(true);
    expect(kit.server.requests.map((request) => request.path)).toEqual(['/topics/demo/partitions/0/offsets']);
  });
});

describe('strimzi settings', () => {
  const env = {
    KAFKA_REST_URL: 'http://127.0.0.1:1',
    KAFKA_REST_ALLOW_HTTP: 'true',
    KAFKA_REST_AUTH: 'none',
  };

  it.each(['v1', 'v3'])(
    'refuses KAFKA_REST_FLAVOR=strimzi with KAFKA_REST_DIALECT=%s (ERR_CONFIG)',
    (dialect) => {
      // Act
      const error = (() => {
        try {
          loadConfig({
            ...env,
            KAFKA_REST_DIALECT: dialect,
            KAFKA_REST_FLAVOR: 'strimzi',
            KAFKA_REST_CLUSTER_ID: 'c',
          });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();

      // Assess
      expect(error).toMatchObject({ code: 'ERR_CONFIG' });
      expect(String((error as Error).message)).toContain(
        'KAFKA_REST_FLAVOR=strimzi needs KAFKA_REST_DIALECT=v2',
      );
    },
  );

  it('accepts strimzi with v2, and the client refuses it with another dialect', () => {
    // Act
    const config = loadConfig({ ...env, KAFKA_REST_DIALECT: 'v2', KAFKA_REST_FLAVOR: 'strimzi' });

    // Assess
    expect(config.kafka).toMatchObject({ dialect: 'v2', flavor: 'strimzi' });
    expect(() =>
      createKafkaRest({
        baseUrl: 'http://127.0.0.1:1',
        allowHttp: true,
        auth: noAuth(),
        dialect: 'v1',
        flavor: 'strimzi',
      }),
    ).toThrow(/flavor strimzi needs dialect v2/);
  });
});
