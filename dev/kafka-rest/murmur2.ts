/** The seed Kafka's `Utils.murmur2` uses; any other seed sends keys to other partitions than real producers. */
export const MURMUR2_SEED = 0x9747b28c;

const M = 0x5bd1e995;
const R = 24;

/**
 * Kafka's 32-bit murmur2 of `data`, as a signed int32 exactly like `org.apache.kafka.common.utils.Utils.murmur2`
 * (so it can be compared with Kafka's own test vectors). Never throws.
 */
export const murmur2 = (data: Uint8Array): number => {
  const length = data.length;
  let h = (MURMUR2_SEED ^ length) | 0;
  const whole = length & ~3;

  for (let i = 0; i < whole; i += 4) {
    // Little-endian, as Kafka reads the 4-byte blocks.
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }

  // Kafka's switch falls through from 3 to 1 for the tail bytes.
  const tail = length & 3;
  if (tail === 3) h ^= (data[whole + 2] as number) << 16;
  if (tail >= 2) h ^= (data[whole + 1] as number) << 8;
  if (tail >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, M);
  }

  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
};

/**
 * The partition Kafka's default partitioner picks for a non-null key: `toPositive(murmur2(key)) % n`.
 * Throws `RangeError` when `partitionCount` is not a positive integer.
 */
export const partitionForKey = (key: Uint8Array, partitionCount: number): number => {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
  // toPositive is a mask, not Math.abs: abs(MIN_VALUE) would stay negative in Java.
  return (murmur2(key) & 0x7fffffff) % partitionCount;
};
