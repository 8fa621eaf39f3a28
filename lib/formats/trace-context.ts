import { randomBytes } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) without a tracing SDK: the bridge takes no
 * part in the trace (it records no span), so a valid `traceparent` is passed on unchanged and the
 * consumer's span becomes a child of the sender's. Only what the specification allows is passed on:
 * a malformed header could break, or be used to poison, every consumer's tracer downstream.
 */
export interface TraceContext {
  /** `00-<trace-id>-<parent-id>-<flags>`, always version 00 as written here. */
  readonly traceparent: string;
  /** The vendors' list, only when the sender's was well-formed (and its `traceparent` too). */
  readonly tracestate?: string;
  readonly traceId: string;
  /** True when the sender sent none (or a malformed one) and this one was made here. */
  readonly generated: boolean;
}

/**
 * Version 00 exactly (lowercase hex, section 3.2.2); a later version is read by its first four fields,
 * which it must begin with (section 4.3), and passed on as 00, the only version this code knows.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZEROS = /^0+$/;

/** Section 3.3.1: `key=value`, keys `tenant@vendor` or simple, values printable ASCII but `,` and `=`. */
const TRACESTATE_MEMBER =
  /^(?:[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}|[a-z][a-z0-9_\-*/]{0,255})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_MEMBERS = 32;
/** Section 3.3.1.5 lets a participant drop a tracestate over 512 characters. */
const MAX_TRACESTATE_CHARS = 512;

/** The `traceparent` as passed on, or undefined when it breaks the specification in any way. */
export const parseTraceparent = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || ALL_ZEROS.test(traceId) || ALL_ZEROS.test(parentId)) return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  return `00-${traceId}-${parentId}-${flags}`;
};

/** The list as passed on, or undefined when it is empty or breaks the specification. */
export const parseTracestate = (value: string | undefined): string | undefined => {
  if (value === undefined || value.length > MAX_TRACESTATE_CHARS) return undefined;
  const members = value
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return undefined;
  const keys = new Set<string>();
  for (const member of members) {
    if (!TRACESTATE_MEMBER.test(member)) return undefined;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) return undefined;
    keys.add(key);
  }
  return members.join(',');
};

/**
 * The request's trace context, or a new one (random ids, not sampled: the bridge made no sampling
 * decision) when it has none that is valid. A `tracestate` travels only with the `traceparent` it came
 * with (section 3.3: without a valid traceparent it means nothing).
 */
export const toTraceContext = (headers: {
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
}): TraceContext => {
  const traceparent = parseTraceparent(headers.traceparent);
  if (traceparent === undefined) {
    const traceId = randomBytes(16).toString('hex');
    return { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-00`, traceId, generated: true };
  }
  const tracestate = parseTracestate(headers.tracestate);
  return {
    traceparent,
    traceId: traceparent.slice(3, 35),
    generated: false,
    ...(tracestate === undefined ? {} : { tracestate }),
  };
};

/**
 * X-Ray's `AWSTraceHeader` (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`) as a traceparent:
 * the X-Ray trace id without its `1-` and dash is the W3C trace id, as the AWS X-Ray propagator of
 * OpenTelemetry maps it, and `Sampled=1` is the sampled flag. A header without a `Parent` gets a random
 * one: the trace id is what ties the hops together. Undefined when the header is absent or not that shape.
 */
export const fromAwsTraceHeader = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const fields = new Map(
    value.split(';').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const root = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/.exec(fields.get('Root') ?? '');
  if (root === null) return undefined;
  const parent = fields.get('Parent') ?? randomBytes(8).toString('hex');
  const sampled = fields.get('Sampled') === '1' ? '01' : '00';
  return parseTraceparent(`00-${root[1]}${root[2]}-${parent}-${sampled}`);
};
