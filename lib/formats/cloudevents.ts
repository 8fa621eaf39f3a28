import { isPlainObject } from '../core/checks.js';
import type { ProduceHeader, ProduceRecord } from '../kafka-rest/types.js';
import { jsonTextAt } from './json-pointer.js';

/**
 * CloudEvents v1.0 (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md) as the bridge
 * writes it into Kafka, per the Kafka protocol binding: binary mode (the value is the data as received,
 * attributes in `ce_*` headers, `content-type` for `datacontenttype`) where the proxy carries record
 * headers, structured mode (`application/cloudevents+json`, the JSON event format, as the value) where
 * it cannot. Shared by the webhook and events functions; the HTTP sink reads both back.
 */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';

export type CloudEventsMode = 'binary' | 'structured';

/** The context attributes the bridge sets; `traceparent`/`tracestate` are the distributed tracing extension. */
export interface CloudEventAttributes {
  readonly id: string;
  /** A URI-reference (`/hooks/orders`, or the route's configured one). */
  readonly source: string;
  readonly type: string;
  /** RFC 3339, when the bridge received the delivery; absent where nothing says when the event happened. */
  readonly time?: string | undefined;
  readonly datacontenttype?: string | undefined;
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

/** The attributes that are not the data's content type, in the order they are written. */
const attributeEntries = (attributes: CloudEventAttributes): [string, string][] => {
  const entries: [string, string][] = [
    ['specversion', CLOUDEVENTS_SPEC_VERSION],
    ['id', attributes.id],
    ['source', attributes.source],
    ['type', attributes.type],
  ];
  if (attributes.time !== undefined) entries.push(['time', attributes.time]);
  if (attributes.traceparent !== undefined) entries.push(['traceparent', attributes.traceparent]);
  if (attributes.tracestate !== undefined) entries.push(['tracestate', attributes.tracestate]);
  return entries;
};

/** JSON data is written as JSON (section 3.1.1 of the JSON format); the rest as `data_base64`. */
const isJsonMediaType = (contentType: string | undefined): boolean => {
  const essence = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || essence.endsWith('+json');
};

const isJsonText = (bytes: Uint8Array): boolean => {
  try {
    JSON.parse(Buffer.from(bytes).toString('utf8'));
    return true;
  } catch {
    return false;
  }
};

/**
 * The structured-mode value: the JSON event format with the data in it. JSON data is spliced in as the
 * exact text received (a parse and re-serialisation would round 64-bit numbers and reorder nothing
 * useful), so `data` is byte for byte the sender's JSON.
 */
export const toStructuredCloudEvent = (data: Uint8Array | null, attributes: CloudEventAttributes): Buffer => {
  const head = Object.fromEntries(attributeEntries(attributes));
  const withType =
    attributes.datacontenttype === undefined
      ? head
      : { ...head, datacontenttype: attributes.datacontenttype };
  const prefix = JSON.stringify(withType).slice(0, -1);
  if (data === null || data.byteLength === 0) return Buffer.from(`${prefix}}`, 'utf8');
  if (isJsonMediaType(attributes.datacontenttype) && isJsonText(data)) {
    return Buffer.concat([Buffer.from(`${prefix},"data":`, 'utf8'), data, Buffer.from('}', 'utf8')]);
  }
  return Buffer.from(`${prefix},"data_base64":"${Buffer.from(data).toString('base64')}"}`, 'utf8');
};

/** The binary-mode headers (Kafka binding section 3.2): `ce_<attribute>`, and `content-type`. */
export const toCloudEventHeaders = (attributes: CloudEventAttributes): ProduceHeader[] => {
  const headers = attributeEntries(attributes).map(([name, value]) => ({
    name: `ce_${name}`,
    value: Buffer.from(value, 'utf8'),
  }));
  if (attributes.datacontenttype !== undefined) {
    headers.push({ name: 'content-type', value: Buffer.from(attributes.datacontenttype, 'utf8') });
  }
  return headers;
};

/**
 * `record` as a CloudEvent in `mode`. Binary keeps the value and adds the headers to the record's own;
 * structured replaces the value and leaves the headers as they were (there are none where it is used).
 * The key and partition are the record's.
 */
export const toCloudEventRecord = (
  record: ProduceRecord,
  attributes: CloudEventAttributes,
  mode: CloudEventsMode,
): ProduceRecord =>
  mode === 'binary'
    ? { ...record, headers: [...(record.headers ?? []), ...toCloudEventHeaders(attributes)] }
    : { ...record, value: toStructuredCloudEvent(record.value, attributes) };

/** A CloudEvent read back from a structured-mode value: its attributes (extensions too) and its data's bytes. */
export interface ReadCloudEvent {
  /** Every attribute with a string value but `data`/`data_base64`, `datacontenttype` included. */
  readonly attributes: Readonly<Record<string, string>>;
  /** The data: JSON data as its exact text, `data_base64` decoded, a string's UTF-8; null: none. */
  readonly data: Buffer | null;
}

/**
 * The CloudEvent a record's value holds in structured mode (the JSON event format, specversion 1.0 with
 * an id, a source and a type), or undefined when the value is not one.
 */
export const readStructuredCloudEvent = (value: Buffer | null): ReadCloudEvent | undefined => {
  if (value === null) return undefined;
  const text = value.toString('utf8');
  const fields = jsonObjectOf(text);
  if (fields === undefined || fields.specversion !== CLOUDEVENTS_SPEC_VERSION) return undefined;
  if (!['id', 'source', 'type'].every((name) => typeof fields[name] === 'string' && fields[name] !== '')) {
    return undefined;
  }
  const attributes = Object.fromEntries(
    Object.entries(fields).filter(
      (entry): entry is [string, string] =>
        typeof entry[1] === 'string' && entry[0] !== 'data' && entry[0] !== 'data_base64',
    ),
  );
  let data: Buffer | null = null;
  if (typeof fields.data_base64 === 'string') data = Buffer.from(fields.data_base64, 'base64');
  else if (typeof fields.data === 'string' && !isJsonMediaType(attributes.datacontenttype)) {
    data = Buffer.from(fields.data, 'utf8');
  } else if (fields.data !== undefined) data = Buffer.from(jsonTextAt(text, '/data') ?? 'null', 'utf8');
  return { attributes, data };
};

/** The JSON object `text` holds; undefined for anything else (not JSON, an array, a scalar). */
const jsonObjectOf = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
};

/**
 * HTTP binding (section 3.1.3.2): a `ce-` header value is percent-encoded outside printable ASCII, and
 * for space, `"` and `%`, so any string survives a header.
 */
const toHttpHeaderValue = (value: string): string =>
  Array.from(value, (char) =>
    /^[!#$&-~]$/.test(char)
      ? char
      : Array.from(
          Buffer.from(char, 'utf8'),
          (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
        ).join(''),
  ).join('');

/**
 * A CloudEvent as an HTTP request (the HTTP protocol binding): binary mode puts the attributes in `ce-`
 * headers, `datacontenttype` in `Content-Type`, and the data as the body; structured mode sends the JSON
 * event format as `application/cloudevents+json`. A `traceparent`/`tracestate` extension is also sent as
 * the W3C header of that name, which HTTP tracers read.
 */
export const toHttpCloudEvent = (
  event: ReadCloudEvent,
  mode: CloudEventsMode,
): { readonly body: Buffer; readonly headers: Record<string, string> } => {
  const { attributes, data } = event;
  const trace: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate']) {
    const value = attributes[name];
    if (value !== undefined) trace[name] = value;
  }
  if (mode === 'structured') {
    const head = JSON.stringify(attributes).slice(0, -1);
    const separator = head === '{' ? '' : ',';
    let body: Buffer;
    if (data === null) body = Buffer.from(`${head}}`, 'utf8');
    else if (isJsonMediaType(attributes.datacontenttype) && isJsonText(data)) {
      body = Buffer.concat([Buffer.from(`${head}${separator}"data":`, 'utf8'), data, Buffer.from('}')]);
    } else {
      body = Buffer.from(`${head}${separator}"data_base64":"${data.toString('base64')}"}`, 'utf8');
    }
    return { body, headers: { 'content-type': CLOUDEVENTS_JSON, ...trace } };
  }
  const headers: Record<string, string> = { ...trace };
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'datacontenttype') headers['content-type'] = value;
    else headers[`ce-${name}`] = toHttpHeaderValue(value);
  }
  return { body: data ?? Buffer.alloc(0), headers };
};
