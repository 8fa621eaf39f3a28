import { describe, expect, it } from 'vitest';
import { MURMUR2_SEED, murmur2, partitionForKey } from '../dev/kafka-rest/murmur2.js';

// Kafka's own vectors: org.apache.kafka.common.utils.UtilsTest#testMurmur2 (the Java client).
const KAFKA_VECTORS = [
  { name: '21', key: '21', hash: -973932308 },
  { name: 'foobar', key: 'foobar', hash: -790332482 },
  { name: 'a-little-bit-long-string', key: 'a-little-bit-long-string', hash: -985981536 },
  { name: 'a-little-bit-longer-string', key: 'a-little-bit-longer-string', hash: -1486304829 },
  {
    name: 'lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8',
    key: 'lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8',
    hash: -58897971,
  },
  { name: 'abc', key: 'abc', hash: 479470107 },
];

// Kafka's vectors never end on a 1-byte tail; these (Akka's Murmur2Spec, taken from Kafka's Utils.murmur2)
// cover every tail length 0–3, and the empty key.
const TAIL_VECTORS = [
  { name: '1 (tail 1)', key: '1', hash: -1993445489 },
  { name: '12 (tail 2)', key: '12', hash: 126087238 },
  { name: '123 (tail 3)', key: '123', hash: -267702483 },
  { name: '1234 (no tail)', key: '1234', hash: -1614185708 },
  { name: '12345 (block + tail 1)', key: '12345', hash: -1188365604 },
];

describe('murmur2', () => {
  it("uses the seed of Kafka's Utils.murmur2", () => {
    expect(MURMUR2_SEED).toBe(0x9747b28c);
  });

  it.each([...KAFKA_VECTORS, ...TAIL_VECTORS])('hashes $name like the Java client', ({ key, hash }) => {
    // Act
    const result = murmur2(Buffer.from(key, 'utf8'));

    // Assess
    expect(result).toBe(hash);
  });

  it('hashes raw bytes, not text (bytes >= 0x80 are not sign-extended)', () => {
    // Prepare: the same bytes through two views must agree, and differ from a shifted input.
    const bytes = Uint8Array.from([0xff, 0x80, 0x7f, 0x00, 0xfe]);

    // Act
    const fromUint8 = murmur2(bytes);
    const fromBuffer = murmur2(Buffer.from(bytes));

    // Assess
    expect(fromUint8).toBe(fromBuffer);
    expect(Number.isInteger(fromUint8) && fromUint8 >= -(2 ** 31) && fromUint8 < 2 ** 31).toBe(true);
    expect(murmur2(Uint8Array.from([0xff, 0x80, 0x7f, 0x00, 0xff]))).not.toBe(fromUint8);
  });
});

describe('partitionForKey', () => {
  const cases = KAFKA_VECTORS.flatMap((v) =>
    [1, 3, 7, 16].map((n) => ({ ...v, n, name: `${v.name} over ${n}` })),
  );

  it.each(cases)('is toPositive(murmur2) % n for $name', ({ key, hash, n }) => {
    // Act
    const partition = partitionForKey(Buffer.from(key), n);

    // Assess: toPositive is a mask of the sign bit, not an absolute value.
    expect(partition).toBe((hash & 0x7fffffff) % n);
  });

  it('masks the sign bit rather than negating (differs from Math.abs for negative hashes)', () => {
    // Prepare: -973932308 & 0x7fffffff = 1173551340, while |−973932308| = 973932308.
    const key = Buffer.from('21');

    // Act
    const partition = partitionForKey(key, 1000);

    // Assess
    expect(partition).toBe(340);
    expect(partition).not.toBe(973932308 % 1000);
  });

  it.each([
    { name: 'zero', n: 0 },
    { name: 'negative', n: -3 },
    { name: 'fractional', n: 2.5 },
  ])('rejects a $name partition count', ({ n }) => {
    expect(() => partitionForKey(Buffer.from('k'), n)).toThrow(RangeError);
  });
});
