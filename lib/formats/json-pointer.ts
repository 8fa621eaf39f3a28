/**
 * RFC 6901 JSON pointers over JSON text, without a parse that would round its numbers: the webhook reads
 * keys and ids with them, the HTTP sink the data of a structured CloudEvent.
 */

/** RFC 6901: empty (the whole document) or `/`-separated tokens where `~` is only `~0` or `~1`. */
export const isJsonPointer = (pointer: string): boolean => /^(\/([^~]|~[01])*)*$/.test(pointer);

/**
 * What an RFC 6901 pointer names in a JSON text. A number keeps its exact source text: `JSON.parse` rounds
 * to a double, so `9007199254740993` would read as `9007199254740992` (and a key or an id built from it
 * would be another event's). Node 20 has no `JSON.parse` source-text access; this works on every runtime.
 */
export type JsonAtPointer =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'number'; readonly text: string }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'null' | 'object' | 'array' | 'nothing' };

const NOTHING: JsonAtPointer = { type: 'nothing' };
const ARRAY_INDEX = /^(0|[1-9]\d*)$/;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What `pointer` names in `text`, which must be valid JSON. */
export const valueAt = (text: string, pointer: string): JsonAtPointer => {
  const at = locate(text, pointer);
  return at < 0 ? NOTHING : describeValue(text, at);
};

/**
 * The exact source text of the value at `pointer` in `text`, which must be valid JSON (undefined when the
 * pointer names nothing): a part of a document handed on without a parse that would round its numbers.
 */
export const jsonTextAt = (text: string, pointer: string): string | undefined => {
  const at = locate(text, pointer);
  return at < 0 ? undefined : text.slice(at, skipValue(text, at));
};

/** Where the value at `pointer` starts in `text`, or -1. */
const locate = (text: string, pointer: string): number => {
  let at = skipSpace(text, 0);
  if (pointer === '') return at;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const opening = text[at];
    let found = -1;
    if (opening === '{') {
      forEachEntry(text, at, '}', (start) => {
        const nameEnd = skipString(text, start);
        const valueStart = skipSpace(text, skipSpace(text, nameEnd) + 1); // past the ':'
        if (stringValue(text, start, nameEnd) === token) found = valueStart;
        return valueStart;
      });
    } else if (opening === '[' && ARRAY_INDEX.test(token)) {
      const wanted = Number(token);
      let index = 0;
      forEachEntry(text, at, ']', (start) => {
        if (index === wanted) found = start;
        index += 1;
        return start;
      });
    }
    if (found < 0) return -1;
    at = found;
  }
  return at;
};

/**
 * Calls `visit` with the start of each member (object) or element (array) of the container opening at
 * `at`; `visit` returns where the member's value starts, which is then skipped.
 */
const forEachEntry = (text: string, at: number, closing: string, visit: (start: number) => number): void => {
  let i = skipSpace(text, at + 1);
  if (text[i] === closing) return;
  for (;;) {
    i = skipSpace(text, skipValue(text, visit(i)));
    if (text[i] !== ',') return;
    i = skipSpace(text, i + 1);
  }
};

const describeValue = (text: string, at: number): JsonAtPointer => {
  switch (text[at]) {
    case '"':
      return { type: 'string', value: stringValue(text, at, skipString(text, at)) };
    case '{':
      return { type: 'object' };
    case '[':
      return { type: 'array' };
    case 't':
      return { type: 'boolean', value: true };
    case 'f':
      return { type: 'boolean', value: false };
    case 'n':
      return { type: 'null' };
    default:
      return { type: 'number', text: text.slice(at, skipScalar(text, at)) };
  }
};

const stringValue = (text: string, start: number, end: number): string => {
  const inner = text.slice(start + 1, end - 1);
  return inner.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : inner;
};

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

const skipSpace = (text: string, at: number): number => {
  let i = at;
  while (i < text.length && isSpace(text.charCodeAt(i))) i += 1;
  return i;
};

/** `at` is an opening quote; returns the index after the closing one. */
const skipString = (text: string, at: number): number => {
  let i = at + 1;
  for (;;) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) return i + 1;
    i += code === BACKSLASH ? 2 : 1;
  }
};

const skipScalar = (text: string, at: number): number => {
  let i = at;
  while (i < text.length && !',]}'.includes(text[i] as string) && !isSpace(text.charCodeAt(i))) i += 1;
  return i;
};

const skipValue = (text: string, at: number): number => {
  const opening = text[at];
  if (opening === '"') return skipString(text, at);
  if (opening !== '{' && opening !== '[') return skipScalar(text, at);
  let depth = 0;
  let i = at;
  do {
    const char = text[i];
    if (char === '"') {
      i = skipString(text, i);
      continue;
    }
    if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') depth -= 1;
    i += 1;
  } while (depth > 0);
  return i;
};
