import { describe, expect, it } from 'vitest';
import { PREVIEW_CHARS, toShownBytes } from '../dev/console/snapshot.js';

describe('the console shows record bytes as JSON, text or base64', () => {
  it.each([
    { name: 'JSON', bytes: Buffer.from('{"a":[1,2]}'), shown: { encoding: 'json', text: '{"a":[1,2]}' } },
    { name: 'UTF-8 text', bytes: Buffer.from('héllo <b>'), shown: { encoding: 'text', text: 'héllo <b>' } },
    { name: 'a JSON scalar', bytes: Buffer.from('42'), shown: { encoding: 'json', text: '42' } },
    {
      name: 'bytes that are not UTF-8',
      bytes: Buffer.from([0xff, 0xfe, 0x00, 0x41]),
      shown: { encoding: 'base64', text: '//4AQQ==' },
    },
    {
      name: 'a UTF-8 sequence cut short',
      bytes: Buffer.from([0x68, 0xc3]),
      shown: { encoding: 'base64', text: 'aMM=' },
    },
  ])('$name', ({ bytes, shown }) => {
    expect(toShownBytes(bytes)).toEqual({ ...shown, truncated: false });
  });

  it('shows the start of a long value, saying it is cut', () => {
    const long = toShownBytes(Buffer.from(`"${'x'.repeat(PREVIEW_CHARS * 2)}"`));

    expect(long).toEqual({ encoding: 'json', text: `"${'x'.repeat(PREVIEW_CHARS - 1)}`, truncated: true });
  });

  it('keeps a tombstone or an absent key apart from an empty value', () => {
    expect(toShownBytes(null)).toBeNull();
    expect(toShownBytes(Buffer.alloc(0))).toEqual({ encoding: 'text', text: '', truncated: false });
  });
});
