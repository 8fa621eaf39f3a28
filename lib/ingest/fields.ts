import { isPlainObject } from '../core/checks.js';
import { AppError, ERROR_CODES } from '../core/errors.js';
import { HEADER_NAME } from '../core/names.js';
import { isJsonPointer, type JsonAtPointer, valueAt } from '../formats/json-pointer.js';

/**
 * Where the ingest sources find a record's fields (its key, an event type, a delivery id): a header, an
 * RFC 6901 JSON pointer into the body or the event, and how what was found is told back to the sender.
 */

/** A field read from a header or by a JSON pointer. */
export type HeaderOrPointer =
  | { readonly from: 'header'; readonly header: string }
  | { readonly from: 'json-pointer'; readonly pointer: string };

/**
 * A route setting that names where a value is read, `{"header": "<name>"}` (lower-cased, as payload v2
 * delivers names) or `{"jsonPointer": "/path"}`; undefined for anything else.
 */
export const parseHeaderOrPointer = (spec: unknown): HeaderOrPointer | undefined => {
  if (!isPlainObject(spec) || Object.keys(spec).length !== 1) return undefined;
  if (typeof spec.header === 'string' && HEADER_NAME.test(spec.header)) {
    return { from: 'header', header: spec.header.toLowerCase() };
  }
  if (typeof spec.jsonPointer === 'string' && isJsonPointer(spec.jsonPointer)) {
    return { from: 'json-pointer', pointer: spec.jsonPointer };
  }
  return undefined;
};

/** A header by its lower-case name: payload v2 lower-cases names, but Function URL tests and other senders may not. */
export const headerValue = (
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined => {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
};

/**
 * The value at `pointer` in the JSON body. Throws `ERR_PAYLOAD_INVALID`, saying that the route reads
 * `purpose` from the body, when the body is not JSON.
 */
export const readJsonPointer = (body: Buffer, pointer: string, purpose: string): JsonAtPointer => {
  const text = body.toString('utf8');
  try {
    // Validation only: the scanner walks a text known to be JSON, and agrees with JSON.parse on it (the
    // last of duplicate names wins, as JSON.parse keeps it).
    JSON.parse(text);
  } catch {
    throw new AppError(
      ERROR_CODES.PAYLOAD_INVALID,
      `request body is not valid JSON, and this route takes its ${purpose} from JSON pointer ${pointer}`,
    );
  }
  return valueAt(text, pointer);
};

/** How a caller is told what was found instead of what it wanted. */
export const describeFound = (found: JsonAtPointer): string => {
  if (found.type === 'string') return found.value === '' ? 'an empty string' : 'a string';
  if (found.type === 'nothing' || found.type === 'null') return found.type;
  return found.type === 'array' || found.type === 'object' ? `an ${found.type}` : `a ${found.type}`;
};

/** RFC 6901 evaluation on a parsed document; `undefined` when the pointer names nothing in it. */
export const resolvePointer = (document: unknown, pointer: string): unknown => {
  if (pointer === '') return document;
  let current = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, token)) {
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
};
