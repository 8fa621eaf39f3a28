import { describe, expect, it } from 'vitest';
import { checkRecordFits, type PlanItem, planProduceRequests } from '../lib/ingest/plan.js';
import type { ProduceLimits } from '../lib/ingest/types.js';
import { base64Length, encodedRecordBytes, REQUEST_OVERHEAD_BYTES } from '../lib/kafka-rest/request-size.js';

interface Item extends PlanItem {
  readonly n: number;
}

const item = (n: number, valueBytes: number, topic = 't', group?: string, keyBytes = 0): Item => ({
  n,
  topic,
  group,
  record: { key: keyBytes > 0 ? Buffer.alloc(keyBytes, 107) : null, value: Buffer.alloc(valueBytes, 118) },
});

const LIMITS: ProduceLimits = {
  maxRecordBytes: 1_000_000,
  maxRequestBytes: 5_000_000,
  maxRequestRecords: 500,
};

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};

describe('size arithmetic', () => {
  it.each([
    { name: 'empty', bytes: 0, encoded: 0 },
    { name: 'one byte', bytes: 1, encoded: 4 },
    { name: 'three bytes', bytes: 3, encoded: 4 },
    { name: 'four bytes', bytes: 4, encoded: 8 },
    { name: '1 MB', bytes: 1_000_000, encoded: 1_333_336 },
  ])('base64 of $name is $encoded bytes', ({ bytes, encoded }) => {
    expect(base64Length(bytes)).toBe(encoded);
    expect(Buffer.alloc(bytes).toString('base64')).toHaveLength(encoded);
  });

  it('a record entry bounds its real JSON from above', () => {
    // Prepare
    const record = { key: Buffer.alloc(10, 1), value: Buffer.alloc(1001, 2), partition: 2_147_483_647 };
    const json = `${JSON.stringify({ key: record.key.toString('base64'), value: record.value.toString('base64'), partition: record.partition })},`;

    // Act + Assess
    expect(encodedRecordBytes(record)).toBeGreaterThanOrEqual(json.length);
    expect(REQUEST_OVERHEAD_BYTES).toBeGreaterThanOrEqual('{"records":[]}'.length);
  });

  it.each([
    {
      name: 'a record at the limit',
      limits: { ...LIMITS, maxRecordBytes: 100 },
      value: 90,
      key: 10,
      code: undefined,
    },
    {
      name: 'a record one byte over',
      limits: { ...LIMITS, maxRecordBytes: 100 },
      value: 91,
      key: 10,
      code: 'ERR_PAYLOAD_TOO_LARGE',
    },
    {
      name: 'a record under the record limit whose base64 exceeds the request limit',
      limits: { ...LIMITS, maxRequestBytes: 1_024 },
      value: 800,
      key: 0,
      code: 'ERR_PAYLOAD_TOO_LARGE',
    },
  ])('checkRecordFits: $name', ({ limits, value, key, code }) => {
    // Act
    const error = checkRecordFits(item(0, value, 't', undefined, key).record, limits);

    // Assess
    expect(error?.code).toBe(code);
    if (error) expect(error.retriable).toBe(false);
  });
});

describe('planProduceRequests', () => {
  it('packs by record count', () => {
    // Act
    const plan = planProduceRequests(
      Array.from({ length: 10 }, (_, n) => item(n, 10)),
      { ...LIMITS, maxRequestRecords: 4 },
    );

    // Assess
    expect(plan.map((request) => request.items.map((entry) => entry.n))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(plan.every((request) => request.after.length === 0)).toBe(true);
  });

  it('packs by request bytes after base64 growth', () => {
    // Prepare: 300 bytes become 400 of base64 + 48 of JSON, so two fit in 1,024 bytes and three do not.
    const limits = { ...LIMITS, maxRequestBytes: 1_024 };

    // Act
    const plan = planProduceRequests(
      Array.from({ length: 5 }, (_, n) => item(n, 300)),
      limits,
    );

    // Assess
    expect(plan.map((request) => request.items.length)).toEqual([2, 2, 1]);
    for (const request of plan) {
      expect(request.bytes).toBeLessThanOrEqual(limits.maxRequestBytes);
      const realBody = JSON.stringify({
        records: request.items.map((entry) => ({
          value: Buffer.from(entry.record.value ?? []).toString('base64'),
        })),
      });
      expect(request.bytes).toBeGreaterThanOrEqual(realBody.length);
    }
  });

  it('keeps topics apart and fills earlier requests first (first fit)', () => {
    // Prepare: two 600-byte records (848 bytes each once encoded) do not share 1,400 bytes; a later small
    // one goes back into the first request.
    const limits = { ...LIMITS, maxRequestBytes: 1_400 };
    const items = [
      item(0, 600, 'a'),
      item(1, 600, 'a'),
      item(2, 600, 'b'),
      item(3, 100, 'a'),
      item(4, 100, 'b'),
    ];

    // Act
    const plan = planProduceRequests(items, limits);

    // Assess
    expect(plan.map((request) => [request.topic, request.items.map((entry) => entry.n)])).toEqual([
      ['a', [0, 3]],
      ['a', [1]],
      ['b', [2, 4]],
    ]);
  });

  it('puts one record of a FIFO group per request, each request after the one holding the previous', () => {
    // Prepare: g's records would all fit in one request; h's and the unordered ones share g's requests.
    const items = [
      item(0, 10, 't', 'g'),
      item(1, 10, 't', 'g'),
      item(2, 10, 't', 'g'),
      item(3, 10, 't', 'h'),
      item(4, 10, 't'),
      item(5, 10, 't', 'h'),
    ];

    // Act
    const plan = planProduceRequests(items, LIMITS);

    // Assess
    expect(plan.map((request) => [request.items.map((entry) => entry.n), request.after])).toEqual([
      [[0, 3, 4], []],
      [[1, 5], [0]],
      [[2], [1]],
    ]);
  });

  it('orders a group across topics too', () => {
    // Act
    const plan = planProduceRequests(
      [item(0, 5, 'a', 'g'), item(1, 5, 'b', 'g'), item(2, 5, 'a', 'h')],
      LIMITS,
    );

    // Assess
    expect(
      plan.map((request) => [request.topic, request.items.map((entry) => entry.n), request.after]),
    ).toEqual([
      ['a', [0, 2], []],
      ['b', [1], [0]],
    ]);
  });

  it('throws for a record that fits no request', () => {
    expect(() => planProduceRequests([item(0, 2_000)], { ...LIMITS, maxRecordBytes: 1_000 })).toThrow(
      expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' }),
    );
  });

  it.each([
    { name: 'standard queue, mixed sizes', seed: 1, groups: 0, topics: 1 },
    { name: 'FIFO, 3 groups, 2 topics', seed: 2, groups: 3, topics: 2 },
    { name: 'FIFO, 20 groups, 3 topics', seed: 3, groups: 20, topics: 3 },
  ])('holds every invariant on 2,000 random items: $name', ({ seed, groups, topics }) => {
    // Prepare
    const random = seeded(seed);
    const limits: ProduceLimits = { maxRecordBytes: 4_000, maxRequestBytes: 20_000, maxRequestRecords: 37 };
    const items = Array.from({ length: 2_000 }, (_, n) =>
      item(
        n,
        Math.floor(random() * 3_000),
        `t${Math.floor(random() * topics)}`,
        groups > 0 ? `g${Math.floor(random() * groups)}` : undefined,
        Math.floor(random() * 50),
      ),
    );

    // Act
    const plan = planProduceRequests(items, limits);

    // Assess: each item once, limits held, a group's items in later and later requests, each after the last.
    const seen = plan.flatMap((request) => request.items.map((entry) => entry.n)).sort((a, b) => a - b);
    expect(seen).toEqual(items.map((entry) => entry.n));
    const placed = new Map<number, { request: number; position: number }>();
    for (const request of plan) {
      expect(request.items.length).toBeLessThanOrEqual(limits.maxRequestRecords);
      expect(request.bytes).toBeLessThanOrEqual(limits.maxRequestBytes);
      expect(request.items.every((entry) => entry.topic === request.topic)).toBe(true);
      expect(request.after.every((id) => id < request.id)).toBe(true);
      request.items.forEach((entry, position) => {
        placed.set(entry.n, { request: request.id, position });
      });
    }
    const last = new Map<string, { request: number; position: number }>();
    for (const entry of items) {
      if (entry.group === undefined) continue;
      const here = placed.get(entry.n);
      const before = last.get(entry.group);
      if (here && before) {
        expect(here.request).toBeGreaterThan(before.request);
        expect(plan[here.request]?.after).toContain(before.request);
      }
      if (here) last.set(entry.group, here);
    }
    // First fit stays close to the lower bound on the request count: a group needs one request per item.
    const groupSizes = new Map<string, number>();
    for (const entry of items) {
      if (entry.group !== undefined) groupSizes.set(entry.group, (groupSizes.get(entry.group) ?? 0) + 1);
    }
    const lowerBound = Math.max(
      ...groupSizes.values(),
      Math.ceil(items.length / limits.maxRequestRecords),
      Math.ceil(
        items.reduce((sum, entry) => sum + encodedRecordBytes(entry.record), 0) / limits.maxRequestBytes,
      ),
    );
    expect(plan.length).toBeLessThanOrEqual(Math.ceil(lowerBound * (groups > 0 ? 2 : 1.25)) + topics);
  });

  it('plans a 10,000-message batch into the fewest requests the record cap allows', () => {
    // Act
    const plan = planProduceRequests(
      Array.from({ length: 10_000 }, (_, n) => item(n, 200)),
      LIMITS,
    );

    // Assess
    expect(plan).toHaveLength(20);
    expect(plan.every((request) => request.items.length === 500)).toBe(true);
  });
});
