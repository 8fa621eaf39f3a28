import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../lib/ingest/base64.js';

describe('decodeBase64Strict', () => {
  it.each([
    { name: 'empty text', text: '', bytes: '' },
    { name: 'whole quanta', text: 'cmF3IGJ5dGVz', bytes: 'raw bytes' },
    { name: 'one pad', text: 'aGVsbG8h', bytes: 'hello!' },
    { name: 'two pads', text: 'aGk=', bytes: 'hi' },
    { name: 'the + and / letters', text: '+/8=', bytes: '\u00fb\u00ff' },
  ])('decodes $name', ({ text, bytes }) => {
    // Act
    const decoded = decodeBase64Strict(text);

    // Assess
    expect(decoded?.toString('latin1')).toBe(bytes);
  });

  // Each of these Buffer.from(text, 'base64') decodes to something, so a lenient decoder would store it.
  it.each([
    { name: 'letters outside the alphabet', text: '!!!!' },
    { name: 'a letter outside the alphabet inside valid text', text: 'aGVs!bG8=' },
    { name: 'the URL-safe alphabet', text: '-_8=' },
    { name: 'missing padding', text: 'aGk' },
    { name: 'extra padding', text: 'aGk==' },
    { name: 'padding in the middle', text: 'aG==aGk=' },
    { name: 'a lone letter', text: 'a' },
    { name: 'three pads', text: 'a===' },
    { name: 'non-zero pad bits', text: 'aGl=' },
    { name: 'a space', text: 'aGVs bG8h' },
    { name: 'a line break', text: 'aGVs\nbG8h' },
  ])('refuses $name', ({ text }) => {
    // Assess
    expect(decodeBase64Strict(text)).toBeUndefined();
  });

  it('round-trips every byte value', () => {
    // Prepare
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, n) => n));

    // Act, Assess
    for (let end = 0; end <= bytes.length; end += 1) {
      const slice = bytes.subarray(0, end);
      expect(decodeBase64Strict(slice.toString('base64'))?.equals(slice)).toBe(true);
    }
  });
});
