import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSpoolMessage,
  encodeSpoolMessage,
  spoolOrderOf,
  toSpooledRecord,
} from '../lib/ingest/spool/message.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';

const bytes = fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array));
const record: fc.Arbitrary<ProduceRecord> = fc.record(
  {
    key: fc.option(bytes, { nil: null }),
    value: fc.option(bytes, { nil: null }),
    partition: fc.nat({ max: 99 }),
    headers: fc.array(
      fc.record({ name: fc.string({ minLength: 1 }), value: fc.option(bytes, { nil: null }) }),
      {
        maxLength: 4,
      },
    ),
  },
  { requiredKeys: ['value'] },
);

describe('the spool message', () => {
  it('gives back the very record that was spooled: key, value, partition and headers, byte for byte', () => {
    fc.assert(
      fc.property(record, fc.string(), (spooled, route) => {
        const body = encodeSpoolMessage({
          receipt: 'spl_x',
          route,
          topic: 'orders',
          record: spooled,
          requestId: 'r',
          spooledAt: '2026-12-03T12:00:00.000Z',
        });
        const back = toSpooledRecord(decodeSpoolMessage(body));
        expect(back.key ?? null).toEqual(spooled.key ?? null);
        expect(back.value).toEqual(spooled.value);
        expect(back.partition).toBe(spooled.partition);
        expect(back.headers ?? []).toEqual(spooled.headers ?? []);
      }),
    );
  });

  it('orders a keyed record by route and key, and spreads key-less ones over unordered groups', () => {
    const keyed = spoolOrderOf('orders', { key: Buffer.from('k'), value: null }, 'spl_1');
    expect(keyed).toEqual({ group: `k-${keyed.orderKey}`, orderKey: expect.any(String) });
    expect(spoolOrderOf('orders', { key: Buffer.from('k'), value: null }, 'spl_2')).toEqual(keyed);
    expect(spoolOrderOf('other', { key: Buffer.from('k'), value: null }, 'spl_1').orderKey).not.toBe(
      keyed.orderKey,
    );
    // A record pinned to a partition keeps its order there even without a key.
    expect(spoolOrderOf('orders', { value: null, partition: 2 }, 'spl_1').orderKey).toEqual(
      expect.any(String),
    );
    const loose = new Set(
      Array.from({ length: 64 }, (_, n) => spoolOrderOf('orders', { value: null }, `spl_${n}`)).map(
        (order) => {
          expect(order.orderKey).toBeUndefined();
          return order.group;
        },
      ),
    );
    expect(loose.size).toBeGreaterThan(1);
    // SQS FIFO ids are at most 128 characters.
    for (const group of [...loose, keyed.group]) expect(group.length).toBeLessThanOrEqual(128);
  });

  it.each([
    ['not JSON', 'nope'],
    ['another version', '{"v":2}'],
    [
      'a key that is not base64 text',
      '{"v":1,"receipt":"r","route":"a","topic":"t","requestId":"q","spooledAt":"s","key":5,"value":null}',
    ],
    [
      'an object reference without its digest',
      '{"v":1,"receipt":"r","route":"a","topic":"t","requestId":"q","spooledAt":"s","key":null,"valueObject":{"key":"k","bytes":1}}',
    ],
  ])('refuses %s as unreadable, for good', (_, body) => {
    expect(() => decodeSpoolMessage(body)).toThrow(/^the spool message is not readable: /);
  });
});
