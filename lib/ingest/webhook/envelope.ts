import { isPlainObject, unknownKeys } from '../../core/checks.js';
import { AppError, ERROR_CODES } from '../../core/errors.js';
import { type CloudEventsMode, toCloudEventRecord } from '../../formats/cloudevents.js';
import type { TraceContext } from '../../formats/trace-context.js';
import type { ProduceHeader, ProduceRecord } from '../../kafka-rest/types.js';
import {
  describeFound,
  type HeaderOrPointer,
  headerValue,
  parseHeaderOrPointer,
  readJsonPointer,
} from '../fields.js';

/** Where a route's CloudEvents `type` comes from. */
export type CloudEventTypeSource = { readonly from: 'fixed'; readonly value: string } | HeaderOrPointer;

/** A route's `"envelope"` when it has one: a CloudEvent around the body. */
export interface Envelope {
  readonly format: 'cloudevents';
  readonly source: string | undefined;
  readonly type: CloudEventTypeSource;
}

export const DEFAULT_CLOUDEVENT_TYPE = 'kafka-rest-bridge.webhook';

const ENVELOPE_KEYS = ['format', 'source', 'type'] as const;
const SHAPE =
  '"none", "cloudevents" or {"format": "cloudevents", "source"?: "<URI-reference>", "type"?: "<type>" | {"header": "<name>"} | {"jsonPointer": "/path"}}';

/**
 * Parses a route's `"envelope"` (undefined: none, the body as is), pushing a problem naming `at` for
 * anything else than {@link SHAPE}.
 */
export const parseEnvelope = (spec: unknown, at: string, problems: string[]): Envelope | undefined => {
  if (spec === undefined || spec === 'none') return undefined;
  if (spec === 'cloudevents') return { format: 'cloudevents', source: undefined, type: DEFAULT_TYPE };
  if (!isPlainObject(spec) || spec.format !== 'cloudevents') {
    problems.push(`${at}.envelope must be ${SHAPE}`);
    return undefined;
  }
  for (const key of unknownKeys(spec, ENVELOPE_KEYS)) {
    problems.push(`${at}.envelope.${key} is not an envelope setting (one of ${ENVELOPE_KEYS.join(', ')})`);
  }
  const source = spec.source;
  if (source !== undefined && !isUriReference(source)) {
    problems.push(
      `${at}.envelope.source must be a non-empty URI-reference such as "/hooks/orders" (RFC 3986)`,
    );
  }
  return {
    format: 'cloudevents',
    source: source as string | undefined,
    type: parseTypeSource(spec.type, `${at}.envelope.type`, problems),
  };
};

const DEFAULT_TYPE: CloudEventTypeSource = { from: 'fixed', value: DEFAULT_CLOUDEVENT_TYPE };

const parseTypeSource = (spec: unknown, at: string, problems: string[]): CloudEventTypeSource => {
  if (spec === undefined) return DEFAULT_TYPE;
  if (typeof spec === 'string' && spec !== '') return { from: 'fixed', value: spec };
  const source = parseHeaderOrPointer(spec);
  if (source !== undefined) return source;
  problems.push(`${at} must be a non-empty string, {"header": "<name>"} or {"jsonPointer": "/path"}`);
  return DEFAULT_TYPE;
};

/** Printable ASCII only (RFC 3986 has no spaces or raw non-ASCII), and resolvable as a reference (section 4.1). */
const isUriReference = (value: unknown): value is string => {
  if (typeof value !== 'string' || !/^[!-~]+$/.test(value)) return false;
  return URL.canParse(value, 'https://base.invalid/');
};

export interface EnvelopeInput {
  readonly route: { readonly name: string; readonly envelope: Envelope | undefined };
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  /** The delivery's idempotency id (untagged), when the route has one: a redelivery keeps its event id. */
  readonly deliveryId: string | undefined;
  readonly requestId: string;
  readonly receivedAtMs: number;
  readonly trace: TraceContext;
  /** {@link carriesRecordHeaders} for the configured proxy. */
  readonly recordHeaders: boolean;
}

/**
 * The record as it goes to Kafka: the trace context in `traceparent`/`tracestate` headers where the proxy
 * carries headers, and, on a CloudEvents route, the event around it (binary mode with headers, else
 * structured, the trace in its extension attributes). Throws `ERR_PAYLOAD_INVALID` when the route takes
 * its event type from a header or pointer that names no non-empty string.
 */
export const toEnvelopedRecord = (record: ProduceRecord, input: EnvelopeInput): ProduceRecord => {
  const { route, trace, recordHeaders } = input;
  const withTrace: ProduceRecord = recordHeaders ? { ...record, headers: traceHeaders(trace) } : record;
  if (route.envelope === undefined) return withTrace;
  const mode: CloudEventsMode = recordHeaders ? 'binary' : 'structured';
  return toCloudEventRecord(
    withTrace,
    {
      id: input.deliveryId ?? input.requestId,
      source: route.envelope.source ?? `/hooks/${encodeURIComponent(route.name)}`,
      type: eventType(route.envelope.type, input),
      time: new Date(input.receivedAtMs).toISOString(),
      datacontenttype: headerValue(input.headers, 'content-type'),
      traceparent: trace.traceparent,
      tracestate: trace.tracestate,
    },
    mode,
  );
};

const traceHeaders = (trace: TraceContext): ProduceHeader[] => [
  { name: 'traceparent', value: Buffer.from(trace.traceparent, 'utf8') },
  ...(trace.tracestate === undefined
    ? []
    : [{ name: 'tracestate', value: Buffer.from(trace.tracestate, 'utf8') }]),
];

const eventType = (source: CloudEventTypeSource, input: EnvelopeInput): string => {
  switch (source.from) {
    case 'fixed':
      return source.value;
    case 'header': {
      const value = headerValue(input.headers, source.header);
      if (value === undefined || value === '') {
        throw new AppError(ERROR_CODES.PAYLOAD_INVALID, `the event type header ${source.header} is missing`);
      }
      return value;
    }
    case 'json-pointer': {
      const found = readJsonPointer(input.body, source.pointer, 'event type');
      if (found.type === 'string' && found.value !== '') return found.value;
      throw new AppError(
        ERROR_CODES.PAYLOAD_INVALID,
        `the event type at JSON pointer ${source.pointer} must be a non-empty string; found ${describeFound(found)}`,
      );
    }
  }
};
