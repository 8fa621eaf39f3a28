import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { b64 } from '../dev/kafka-rest/raw-client.js';
import { json, localServerHarness } from './helpers/local-server.js';
import { exchangesFor, runExchanges, shapeOf } from './peers/exchanges.js';

const V2 = 'application/vnd.kafka.v2+json';
const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
const JSON_V2 = 'application/vnd.kafka.json.v2+json';
const CONTROL = { 'content-type': V2, accept: V2 };
const PRODUCE = { 'content-type': BINARY_V2, accept: V2 };

const { start, call } = localServerHarness({ flavor: 'strimzi', topics: { demo: 2 } });

/** One answer of peers/observed-answers.md: what the real bridge 1.1.0 said to one exchange. */
interface RealAnswer {
  readonly name: string;
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

const parseBody = (text: string): unknown => {
  if (text === '(empty body)') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** The answers section of the real bridge's record, in exchange order. */
const realAnswers = (): RealAnswer[] => {
  const text = readFileSync(new URL('../peers/observed-answers.md', import.meta.url), 'utf8');
  const answers = text.slice(text.indexOf('## The answers'));
  return [
    ...answers.matchAll(
      /^### (.+)\n\n`[^\n]*\n\n→ \*\*(\d+)\*\*, content-type `([^`]+)`\n\n```\n([\s\S]*?)\n```/gm,
    ),
  ].map(([, name, status, contentType, body]) => ({
    name: name as string,
    status: Number(status),
    contentType: contentType === '(none)' ? undefined : contentType,
    body: parseBody(body as string),
  }));
};

describe('local server, strimzi flavor, against what the real Strimzi Kafka Bridge 1.1.0 answered', () => {
  it('answers every recorded exchange with the same status, content type and body shape', async () => {
    // Prepare: the record was made with a fresh topic of 2 partitions and a short instance timeout. Long
    // enough here that a loaded machine's pause between two exchanges does not expire the instance early.
    const timeoutMs = 1_000;
    const server = await start({ topics: { observed: 2 }, consumerIdleMs: timeoutMs });
    const real = realAnswers();

    // Act
    const local = await runExchanges(
      server.url,
      exchangesFor({ topic: 'observed', group: 'group-local', consumerTimeoutMs: timeoutMs }),
    );

    // Assess
    expect(local.map((o) => o.exchange.name)).toEqual(real.map((r) => r.name));
    const answers = local.map((o) => ({
      name: o.exchange.name,
      status: o.reply.status,
      contentType: o.reply.contentType,
      shape: shapeOf(o.body),
    }));
    expect(answers).toEqual(
      real.map((r) => ({
        name: r.name,
        status: r.status,
        contentType: r.contentType,
        shape: shapeOf(r.body),
      })),
    );
  });
});

describe('local server, strimzi flavor (protocol doc §9)', () => {
  it('has no v1, v3 or /brokers routes: 404 in the bridge envelope', async () => {
    // Prepare
    await start();

    // Act
    const replies = await Promise.all(
      [
        '/topics/demo/partitions/0/messages?offset=0',
        '/brokers',
        '/v3/clusters/c/topics/demo/records',
        '/topics/demo/partitions/0/records?offset=0&timeout=0&max_bytes=10',
      ].map((path) => call('GET', path, { headers: { accept: V2 } })),
    );

    // Assess
    for (const reply of replies) {
      expect(reply.status).toBe(404);
      expect(reply.contentType).toBe(V2);
      expect(json(reply)).toEqual({ error_code: 404, message: 'Not Found' });
    }
  });

  it('creates topics with POST /admin/topics (201, then 409) and lists topics unsorted', async () => {
    // Prepare
    await start();
    const create = (name: string) =>
      call('POST', '/admin/topics', {
        headers: { 'content-type': JSON_V2 },
        body: { topic_name: name, partitions_count: 3, replication_factor: 1 },
      });

    // Act
    const created = await create('zebra');
    const again = await create('zebra');
    const alpha = await create('alpha');
    const topics = await call('GET', '/topics', { headers: { accept: V2 } });

    // Assess
    expect([created.status, again.status, alpha.status]).toEqual([201, 409, 201]);
    expect(json(again)).toMatchObject({ error_code: 409 });
    const names = json(topics) as string[];
    expect([...names].sort()).toEqual(['alpha', 'demo', 'zebra']);
    expect(names).not.toEqual([...names].sort());
    const partitions = await call('GET', '/topics/zebra/partitions', { headers: { accept: V2 } });
    expect(json(partitions)).toHaveLength(3);
  });

  it('stores a binary "value": null as the three bytes base64 `null` decodes to, and keeps headers', async () => {
    // Prepare
    const server = await start();

    // Act
    const reply = await call('POST', '/topics/demo', {
      headers: PRODUCE,
      body: {
        records: [
          { value: null, partition: 0 },
          { value: b64('v'), partition: 0, headers: [{ key: 'h', value: b64('x') }] },
        ],
      },
    });

    // Assess
    expect(json(reply)).toEqual({
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 0, offset: 1 },
      ],
    });
    const [tombstone, withHeaders] = server.records('demo', 0);
    expect(tombstone?.value).toEqual(Buffer.from('null', 'base64'));
    expect(tombstone?.value).toHaveLength(3);
    expect(withHeaders?.headers).toEqual([{ name: 'h', value: Buffer.from('x') }]);
  });

  it.each([
    { name: 'Confluent auto.commit.enable', body: { 'auto.commit.enable': 'false' } },
    { name: 'enable.auto.commit as a string', body: { 'enable.auto.commit': 'false' } },
    { name: 'fetch.min.bytes as a string', body: { 'fetch.min.bytes': '1' } },
  ])('refuses a consumer created with $name (400 with validation_errors)', async ({ body }) => {
    // Prepare
    await start();

    // Act
    const reply = await call('POST', '/consumers/g', { headers: CONTROL, body: { name: 'c', ...body } });

    // Assess
    expect(reply.status).toBe(400);
    expect(json(reply)).toMatchObject({
      error_code: 400,
      message: 'Validation error on: Schema validation error',
      validation_errors: expect.arrayContaining([expect.any(String)]),
    });
  });

  it('keeps consumer instances until they are deleted, however long idle (no http.timeoutSeconds)', async () => {
    // Prepare
    let now = 0;
    const server = await start({ now: () => now });
    await call('POST', '/consumers/g', {
      headers: CONTROL,
      body: { name: 'c', 'enable.auto.commit': false },
    });

    // Act
    now += 24 * 3_600_000;
    const read = await call('GET', '/consumers/g/instances/c/records', { headers: { accept: BINARY_V2 } });

    // Assess
    expect(read.status).toBe(200);
    expect(server.consumerInstances()).toBe(1);
  });

  it('answers a read over max_bytes with 422 after moving the position past the polled records', async () => {
    // Prepare
    const server = await start({ emptyReadsAfterSeek: 0 });
    server.append('demo', 0, [{ value: Buffer.from('a'.repeat(100)) }, { value: Buffer.from('b') }]);
    await call('POST', '/consumers/g', {
      headers: CONTROL,
      body: { name: 'c', 'auto.offset.reset': 'earliest', 'enable.auto.commit': false },
    });
    await call('POST', '/consumers/g/instances/c/assignments', {
      headers: CONTROL,
      body: { partitions: [{ topic: 'demo', partition: 0 }] },
    });
    const read = (query: string) =>
      call('GET', `/consumers/g/instances/c/records?${query}`, { headers: { accept: BINARY_V2 } });

    // Act
    const overflow = await read('max_bytes=50');
    const after = await read('timeout=0');

    // Assess
    expect(overflow.status).toBe(422);
    expect(json(overflow)).toEqual({
      error_code: 422,
      message: 'Response exceeds the maximum number of bytes the consumer can receive',
    });
    expect(json(after)).toEqual([]);
  });
});
