import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../lib/core/errors.js';
import type { JsonAtPointer } from '../lib/formats/json-pointer.js';
import { readJsonPointer, resolvePointer } from '../lib/ingest/fields.js';

/** Every pointer into `value` (RFC 6901 escaping), the document itself included. */
const pointersOf = (value: unknown, at = ''): string[] => {
  if (typeof value !== 'object' || value === null) return [at];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return [
    at,
    ...entries.flatMap(([name, child]) =>
      pointersOf(child, `${at}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`),
    ),
  ];
};

/** What JSON.parse makes of the same place, for the comparison (numbers by value: JSON.parse rounds). */
const viaJsonParse = (
  value: unknown,
): JsonAtPointer | { readonly type: 'number'; readonly value: number } => {
  if (value === undefined) return { type: 'nothing' };
  if (value === null) return { type: 'null' };
  if (typeof value === 'string') return { type: 'string', value };
  if (typeof value === 'boolean') return { type: 'boolean', value };
  if (typeof value === 'number') return { type: 'number', value };
  return { type: Array.isArray(value) ? 'array' : 'object' };
};

describe('readJsonPointer', () => {
  it('agrees with JSON.parse + RFC 6901 on every place of any JSON text, compact or indented', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), fc.nat(), (value, indent, pick) => {
        // Prepare
        const text = JSON.stringify(value, null, indent ? 2 : undefined);
        const pointers = [...pointersOf(JSON.parse(text)), '/missing', '/0/missing'];
        const pointer = pointers[pick % pointers.length] as string;

        // Act
        const found = readJsonPointer(Buffer.from(text), pointer, 'key');

        // Assess
        const expected = viaJsonParse(resolvePointer(JSON.parse(text), pointer));
        if (found.type === 'number') expect({ type: 'number', value: Number(found.text) }).toEqual(expected);
        else expect(found).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('gives any integer its exact digits, past 2^53 too', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (n) => {
        const found = readJsonPointer(Buffer.from(`{"a":[{"id":${n}}],"id":0}`), '/a/0/id', 'key');
        expect(found).toEqual({ type: 'number', text: String(n) });
      }),
    );
  });

  it('refuses a body that is not JSON, naming the pointer', () => {
    let thrown: unknown;
    try {
      readJsonPointer(Buffer.from('{"id":1'), '/id', 'key');
    } catch (error) {
      thrown = error;
    }
    expect(isAppError(thrown)).toBe(true);
    expect(thrown).toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
      message: 'request body is not valid JSON, and this route takes its key from JSON pointer /id',
    });
  });
});
