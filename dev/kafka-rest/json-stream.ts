/**
 * Splits a v3 produce body, a stream of concatenated JSON values with no array and no commas (protocol doc
 * §7), into the text of each value. Only the value boundaries are found here (string- and escape-aware
 * bracket depth); each piece is then parsed on its own, so one bad record does not hide the ones before it.
 */

export interface JsonValueSplit {
  /** The text of each complete value, in order. */
  readonly values: readonly string[];
  /** Set when the stream ends in the middle of a value, or holds a stray character between values. */
  readonly error: string | undefined;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** Never throws. Top-level scalars are returned as values too (the caller rejects what is not an object). */
export const splitJsonValues = (text: string): JsonValueSplit => {
  const values: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (WHITESPACE.has(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '{' || c === '[') {
      let depth = 0;
      let inString = false;
      for (; i < n; i++) {
        const d = text[i] as string;
        if (inString) {
          if (d === '\\') i++;
          else if (d === '"') inString = false;
        } else if (d === '"') inString = true;
        else if (d === '{' || d === '[') depth++;
        else if (d === '}' || d === ']') {
          depth--;
          if (depth === 0) break;
        }
      }
      if (i >= n) return { values, error: `the stream ends inside a JSON value at character ${start}` };
      i++;
      values.push(text.slice(start, i));
    } else if (c === '"') {
      for (i++; i < n && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (i >= n) return { values, error: `the stream ends inside a JSON string at character ${start}` };
      i++;
      values.push(text.slice(start, i));
    } else {
      // A scalar (number, true, false, null) runs until whitespace or the next value.
      while (i < n && !WHITESPACE.has(text[i] as string) && !'{["'.includes(text[i] as string)) i++;
      values.push(text.slice(start, i));
    }
  }
  return { values, error: undefined };
};
