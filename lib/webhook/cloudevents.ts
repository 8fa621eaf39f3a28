import type { ProduceHeader, ProduceRecord } from '../kafka-rest/types.js';

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
  /** RFC 3339, when the bridge received the delivery. */
  readonly time: string;
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
    ['time', attributes.time],
  ];
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
