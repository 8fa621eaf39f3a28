import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NullValueEncoding } from '../lib/kafka-rest/flavors.js';
import type { ProduceRecord } from '../lib/kafka-rest/types.js';
import {
  encodeProduceBody,
  encodeProduceBodyBytes,
  encodeProduceRequestBody,
  STRING_BODY_MAX_BYTES,
} from '../lib/kafka-rest/v1.js';

/**
 * The produce body as the encoder wrote it before large fields became pieces of their own (one string per
 * record, concatenated with `+=`, then copied into the buffer): kept here, and only here, as the reference
 * the bytes must match exactly.
 */
const referenceBody = (
  records: readonly ProduceRecord[],
  indices: readonly number[],
  nullValue: NullValueEncoding,
  withHeaders: boolean,
): Buffer => {
  const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
  const ascii = (text: string): string =>
    JSON.stringify(text).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  const objects = indices.map((index) => {
    const record = records[index] as ProduceRecord;
    let json = '{';
    if (record.key !== undefined && record.key !== null) json += `"key":"${b64(record.key)}"`;
    if (record.partition !== undefined)
      json += `${json.length > 1 ? ',' : ''}"partition":${record.partition}`;
    if (record.value !== null) json += `${json.length > 1 ? ',' : ''}"value":"${b64(record.value)}"`;
    else if (nullValue === 'null') json += `${json.length > 1 ? ',' : ''}"value":null`;
    if (withHeaders && record.headers !== undefined && record.headers.length > 0) {
      const headers = record.headers
        .map((h) => `{"key":${ascii(h.name)},"value":"${b64(h.value ?? new Uint8Array(0))}"}`)
        .join(',');
      json += `${json.length > 1 ? ',' : ''}"headers":[${headers}]`;
    }
    return `${json}}`;
  });
  return Buffer.from(`{"records":[${objects.join(',')}]}`, 'latin1');
};

/** Bytes of any length up to 1 MiB without generating them one by one: a seeded xorshift fill. */
const bytesUpTo = (max: number): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(
      fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 64 }) },
        { weight: 2, arbitrary: fc.integer({ min: 6_000, max: 6_300 }) }, // around the own-piece threshold
        { weight: 1, arbitrary: fc.integer({ min: 0, max }) },
      ),
      fc.integer({ min: 1, max: 0x7fffffff }),
      fc.nat(8),
    )
    .map(([length, seed, offset]) => {
      let x = seed;
      const backing = Buffer.allocUnsafe(length + offset);
      for (let i = 0; i < backing.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        backing[i] = x & 0xff;
      }
      // A view into a larger buffer, and sometimes a plain Uint8Array: callers pass both.
      const view = backing.subarray(offset);
      return seed % 2 === 0 ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    });

const MiB = 1024 * 1024;

const recordArb: fc.Arbitrary<ProduceRecord> = fc.record(
  {
    // Optional fields are sometimes absent altogether (`requiredKeys`).
    key: fc.oneof(fc.constant(null), bytesUpTo(64 * 1024)),
    value: fc.oneof(fc.constant(null), bytesUpTo(MiB)),
    partition: fc.nat(1_000),
    headers: fc.array(
      fc.record({ name: fc.string({ unit: 'binary', maxLength: 12 }), value: bytesUpTo(32) }),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: ['value'] },
);

const bodyCase = fc.record({
  records: fc.array(recordArb, { maxLength: 6 }),
  nullValue: fc.constantFrom<NullValueEncoding>('null', 'omitted', 'refused'),
  withHeaders: fc.boolean(),
  // Which records go into the body, in which order (a retry sends a subset).
  pick: fc.array(fc.nat(), { maxLength: 6 }),
});

describe('produce body encoding', () => {
  it('writes exactly the bytes of the reference encoder for any records, in both forms', () => {
    fc.assert(
      fc.property(bodyCase, ({ records, nullValue, withHeaders, pick }) => {
        // Prepare
        const indices = records.length === 0 ? [] : pick.map((n) => n % records.length);
        const expected = referenceBody(records, indices, nullValue, withHeaders);

        // Act
        const bytes = encodeProduceBodyBytes(records, indices, nullValue, withHeaders);
        const text = encodeProduceBody(records, indices, nullValue, withHeaders);

        // Assess
        expect(bytes.equals(expected)).toBe(true);
        expect(Buffer.from(text, 'latin1').equals(expected)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it.each([
    { description: 'one 1 MiB record', records: [{ key: Buffer.from('k'), value: Buffer.alloc(MiB, 7) }] },
    {
      description: 'a large value between small records, keyless and tombstone',
      records: [
        { value: Buffer.from('a') },
        { key: Buffer.alloc(0), value: Buffer.alloc(500_000, 0xfe), partition: 2 },
        { key: Buffer.from('t'), value: null },
      ],
    },
  ])('sends $description as bytes, byte-exact and parseable', ({ records }) => {
    // Prepare
    const indices = records.map((_, i) => i);

    // Act
    const body = encodeProduceRequestBody(records, indices);

    // Assess: past the string threshold the body is bytes, and it decodes back to the records.
    expect(Buffer.isBuffer(body)).toBe(true);
    expect((body as Buffer).length).toBeGreaterThan(STRING_BODY_MAX_BYTES);
    expect((body as Buffer).equals(referenceBody(records, indices, 'null', false))).toBe(true);
    const parsed = JSON.parse((body as Buffer).toString('latin1')) as {
      records: { key?: string; value: string | null }[];
    };
    expect(
      parsed.records.map((r, i) =>
        r.value === null
          ? records[i]?.value === null
          : Buffer.from(r.value, 'base64').equals(records[i]?.value ?? new Uint8Array(1)),
      ),
    ).toEqual(records.map(() => true));
  });
});
