import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type RecordIdParts,
  toRecordId,
  toRecordRangeId,
  toRecordStream,
  toSqsDeduplicationId,
} from '../lib/sinks/index.js';

const parts = (overrides: Partial<RecordIdParts> = {}): RecordIdParts => ({
  namespace: 'prod.eu-1',
  topic: 'orders',
  partition: 3,
  epoch: 2,
  offset: 41,
  ...overrides,
});

// Kafka topic names: 1 to 249 of [a-zA-Z0-9._-].
const topicName = fc.stringMatching(/^[a-zA-Z0-9._-]{1,249}$/);
const recordParts = fc.record({
  namespace: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
  topic: topicName,
  partition: fc.nat({ max: 100_000 }),
  epoch: fc.nat(),
  offset: fc.maxSafeInteger().map(Math.abs),
});

describe('record ids', () => {
  it('reads <namespace>/<topic>/<partition>/<epoch>/<offset>', () => {
    // Act + Assess
    expect(toRecordId(parts())).toBe('prod.eu-1/orders/3/2/41');
  });

  it('gives two different records two different ids, and each id splits back into its parts', () => {
    fc.assert(
      fc.property(recordParts, recordParts, (a, b) => {
        // Act
        const id = toRecordId(a);
        const [namespace, topic, partition, epoch, offset, ...rest] = id.split('/');

        // Assess
        expect({ namespace, topic, partition, epoch, offset, rest }).toEqual({
          namespace: a.namespace,
          topic: a.topic,
          partition: String(a.partition),
          epoch: String(a.epoch),
          offset: String(a.offset),
          rest: [],
        });
        const same = JSON.stringify(a) === JSON.stringify(b);
        expect(id === toRecordId(b)).toBe(same);
      }),
    );
  });

  it.each([
    { name: 'an empty namespace', overrides: { namespace: '' }, code: 'ERR_CONFIG' },
    { name: 'a namespace with a slash', overrides: { namespace: 'a/b' }, code: 'ERR_CONFIG' },
    { name: 'a namespace of 65 characters', overrides: { namespace: 'n'.repeat(65) }, code: 'ERR_CONFIG' },
    { name: 'a topic with a slash', overrides: { topic: 'a/b' }, code: undefined },
    { name: 'a negative offset', overrides: { offset: -1 }, code: undefined },
    { name: 'a fractional epoch', overrides: { epoch: 1.5 }, code: undefined },
  ])('refuses $name', ({ overrides, code }) => {
    // Act + Assess
    expect(() => toRecordId(parts(overrides))).toThrow(
      code === undefined ? Error : expect.objectContaining({ code }),
    );
  });

  it('uses a record id as the SQS deduplication id when SQS accepts it, else its sha256 form', () => {
    // Prepare
    const short = toRecordId(parts());
    const long = toRecordId(parts({ topic: 't'.repeat(200) }));

    // Act + Assess
    expect(toSqsDeduplicationId(short)).toBe(short);
    expect(toSqsDeduplicationId(long)).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(toSqsDeduplicationId(long)).toBe(toSqsDeduplicationId(long));
  });

  it('always makes a deduplication id SQS accepts, distinct for distinct records', () => {
    fc.assert(
      fc.property(recordParts, recordParts, (a, b) => {
        // Act
        const idA = toSqsDeduplicationId(toRecordId(a));
        const idB = toSqsDeduplicationId(toRecordId(b));

        // Assess: 1 to 128 of alphanumerics and punctuation
        expect(idA).toMatch(/^[\x21-\x7e]{1,128}$/);
        expect(idA === idB).toBe(toRecordId(a) === toRecordId(b));
      }),
    );
  });

  it('names a run of offsets of one stream, and refuses a run across two', () => {
    // Prepare
    const first = toRecordId(parts({ offset: 7 }));
    const last = toRecordId(parts({ offset: 19 }));
    const otherEpoch = toRecordId(parts({ epoch: 3, offset: 19 }));

    // Act + Assess
    expect(toRecordStream(first)).toBe('prod.eu-1/orders/3/2');
    expect(toRecordRangeId(first, last)).toBe('prod.eu-1/orders/3/2/7-19');
    expect(() => toRecordRangeId(first, otherEpoch)).toThrow('one stream');
  });
});
