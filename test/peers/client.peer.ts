import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawCall } from '../../dev/kafka-rest/raw-client.js';
import { ERROR_CODES } from '../../lib/core/errors.js';
import { isOffsetOutOfRangeError } from '../../lib/kafka-rest/errors.js';
import type { KafkaRestClient, ProduceRecord } from '../../lib/kafka-rest/types.js';
import { V2_BINARY, V2_JSON } from './exchanges.js';
import { bridgeClient, createTopic, deadline, loadPeers, type Peers, readAll, uniqueTopic } from './peers.js';

const text = (value: string) => Buffer.from(value);

/**
 * The status of a first non-empty read of partition 0 from offset 0 with `max_bytes`, through a consumer
 * instance of its own (removed after), straight on the wire: what the bridge does with such a read.
 */
const rawRead = async (peers: Peers, topic: string, maxBytes: number): Promise<number> => {
  const group = uniqueTopic('raw');
  const base = `/consumers/${group}/instances/raw`;
  const control = { 'content-type': V2_JSON, accept: V2_JSON };
  await rawCall(peers.bridgeUrl, 'POST', `/consumers/${group}`, {
    headers: control,
    body: { name: 'raw', format: 'binary', 'enable.auto.commit': false },
  });
  try {
    await rawCall(peers.bridgeUrl, 'POST', `${base}/assignments`, {
      headers: control,
      body: { partitions: [{ topic, partition: 0 }] },
    });
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const reply = await rawCall(
        peers.bridgeUrl,
        'GET',
        `${base}/records?timeout=1000&max_bytes=${maxBytes}`,
        {
          headers: { accept: V2_BINARY },
        },
      );
      if (reply.status !== 200 || reply.text !== '[]') return reply.status;
    }
    return 200;
  } finally {
    await rawCall(peers.bridgeUrl, 'DELETE', base, { headers: { accept: V2_JSON } });
  }
};

describe('the Kafka REST client (v2 strimzi) against the real bridge', () => {
  let peers: Peers;
  let client: KafkaRestClient;
  let topic: string;

  beforeAll(async () => {
    peers = loadPeers();
    topic = uniqueTopic('client');
    await createTopic(peers, topic, 2);
    // The broker decides what is too large: the client's own record limit is above its max.request.size.
    client = bridgeClient(peers, { maxRecordBytes: 2_000_000, fetchWaitMs: 500 });
  });
  afterAll(async () => {
    await client.close();
  });

  it('produces keys, values and headers, and reads them back in order, headers included', async () => {
    const records: ProduceRecord[] = [
      { key: text('k1'), value: text('one'), partition: 0, headers: [{ name: 'trace', value: text('t1') }] },
      { key: text('k2'), value: text('two'), partition: 0 },
      {
        value: text('three'),
        partition: 0,
        headers: [
          { name: 'a', value: text('1') },
          { name: 'a', value: text('2') },
        ],
      },
    ];

    const results = await client.produce(topic, records, deadline());
    const read = await readAll(client, topic, 0, 0, 3);

    expect(results).toEqual([
      { ok: true, partition: 0, offset: 0 },
      { ok: true, partition: 0, offset: 1 },
      { ok: true, partition: 0, offset: 2 },
    ]);
    expect(read.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString()])).toEqual([
      [0, 'k1', 'one'],
      [1, 'k2', 'two'],
      [2, null, 'three'],
    ]);
    expect(read.map((r) => (r.headers ?? []).map((h) => [h.name, h.value?.toString()]))).toEqual([
      [['trace', 't1']],
      [],
      [
        ['a', '1'],
        ['a', '2'],
      ],
    ]);
  });

  it('reads from an offset, and knows the log bounds', async () => {
    const own = uniqueTopic('from');
    await createTopic(peers, own, 1);
    await client.produce(
      own,
      Array.from({ length: 10 }, (_, i) => ({ value: text(`r${i}`) })),
      deadline(),
    );

    const bounds = await client.logBounds(own, 0, deadline());
    const read = await readAll(client, own, 0, 4, 6);

    expect(client.exactLogBounds).toBe(true);
    expect(bounds).toEqual({ start: 0, end: 10 });
    expect(read.map((r) => [r.offset, r.value?.toString()])).toEqual(
      Array.from({ length: 6 }, (_, i) => [i + 4, `r${i + 4}`]),
    );
  });

  it('refuses a read past the log end as out of range, where the bridge itself would restart at earliest', async () => {
    const own = uniqueTopic('range');
    await createTopic(peers, own, 1);
    await client.produce(own, [{ value: text('only') }], deadline());

    const past = await client
      .fetch(own, 0, 5, { maxRecords: 10, ...deadline() })
      .catch((error: unknown) => error);
    await client.endFetch(own, 0, deadline());

    expect(isOffsetOutOfRangeError(past)).toBe(true);
  });

  it('answers [] at the log end: caught up, not an error', async () => {
    const own = uniqueTopic('end');
    await createTopic(peers, own, 1);
    await client.produce(own, [{ value: text('a') }, { value: text('b') }], deadline());

    const atEnd = await client.fetch(own, 0, 2, { maxRecords: 10, ...deadline() });
    await client.endFetch(own, 0, deadline());

    expect(atEnd).toEqual([]);
  });

  // Each row: records sent to `target` (this suite's topic unless named), which of them must fail, with
  // which code and retriability. The other records must be written.
  it.each([
    {
      name: 'a partition past the count fails alone (404 after max.block.ms), never final',
      records: [
        { value: text('ok'), partition: 1 },
        { value: text('nowhere'), partition: 7 },
      ],
      failed: [1],
      code: ERROR_CODES.UPSTREAM_STATUS,
      retriable: true,
    },
    {
      name: 'an unknown topic fails every record, never final',
      target: 'unknown',
      records: [{ value: text('lost') }],
      failed: [0],
      code: ERROR_CODES.UPSTREAM_STATUS,
      retriable: true,
    },
    {
      name: "a record over the broker's max.request.size fails alone (500), the small one is written",
      records: [
        { value: text('small'), partition: 1 },
        { value: Buffer.alloc(1_100_000, 7), partition: 1 },
      ],
      failed: [1],
      code: ERROR_CODES.UPSTREAM_STATUS,
      retriable: true,
    },
    {
      name: 'a tombstone is refused before sending (the bridge would store the bytes of "null")',
      records: [
        { value: null, partition: 1 },
        { value: text('kept'), partition: 1 },
      ],
      failed: [0],
      code: ERROR_CODES.PAYLOAD_INVALID,
      retriable: false,
    },
  ])('per-record results: $name', async ({ records, target, failed, code, retriable }) => {
    const to = target === undefined ? topic : uniqueTopic(target);

    const results = await client.produce(to, records, deadline(60_000));

    results.forEach((result, i) => {
      if (failed.includes(i)) {
        expect(result.ok, `record ${i}`).toBe(false);
        if (!result.ok) {
          expect(result.error.code).toBe(code);
          expect(result.error.retriable).toBe(retriable);
        }
      } else {
        expect(result, `record ${i}`).toMatchObject({ ok: true });
      }
    });
  });

  it('writes and reads back a record near the size limit (1,000,000 bytes)', async () => {
    const own = uniqueTopic('large');
    await createTopic(peers, own, 1);
    const value = Buffer.alloc(1_000_000, 0x5a);

    const [result] = await client.produce(own, [{ key: text('big'), value }], deadline());
    const [read] = await readAll(client, own, 0, 0, 1);

    expect(result).toEqual({ ok: true, partition: 0, offset: 0 });
    expect(read?.value?.equals(value)).toBe(true);
  });

  it('reads every record once and in order when the answer overflows max_bytes (422 after the poll)', async () => {
    const own = uniqueTopic('overflow');
    await createTopic(peers, own, 1);
    const values = Array.from({ length: 30 }, (_, i) => Buffer.alloc(3000, i));
    await client.produce(
      own,
      values.map((value) => ({ value })),
      deadline(),
    );
    // max_bytes below two records' answer: most polls overflow and the bridge has moved past what it polled.
    const small = bridgeClient(peers, { fetchMaxBytes: 5000, fetchWaitMs: 500 });

    try {
      const overflow = await rawRead(peers, own, 5000);
      const read = await readAll(small, own, 0, 0, 30);

      expect(overflow, 'the bridge refuses such a read').toBe(422);
      expect(read.map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(read.every((r, i) => r.value?.equals(values[i] ?? Buffer.alloc(0)))).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('carries on from the next offset when the bridge deleted its consumer instance for inactivity', async () => {
    const own = uniqueTopic('lost');
    await createTopic(peers, own, 1);
    await client.produce(
      own,
      Array.from({ length: 6 }, (_, i) => ({ value: text(`v${i}`) })),
      deadline(),
    );
    const first = await client.fetch(own, 0, 0, { maxRecords: 3, ...deadline() });
    // The bridge looks for idle instances every half timeout.
    await new Promise((resolve) => setTimeout(resolve, peers.consumerTimeoutMs * 1.6));

    const rest = await readAll(client, own, 0, 3, 3);

    expect(first.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(rest.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [3, 'v3'],
      [4, 'v4'],
      [5, 'v5'],
    ]);
  });

  it('lists the topic and its partitions', async () => {
    const topics = await client.listTopics(deadline());
    const partitions = await client.listPartitions(topic, deadline());

    expect(topics).toContain(topic);
    expect(topics).toEqual([...topics].sort());
    expect(partitions.map((p) => [p.partition, p.leader])).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });
});
