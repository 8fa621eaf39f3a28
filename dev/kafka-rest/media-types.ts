/**
 * Media-type negotiation as Confluent's v1 resources do it through Jersey (protocol doc §2.1). The `qs`
 * (server-side quality) values are Confluent's `Versions` constants: they decide what a request with no
 * Accept, or with a wildcard, gets back.
 */
export const MEDIA_TYPES = {
  V1_JSON: 'application/vnd.kafka.v1+json',
  DEFAULT_JSON: 'application/vnd.kafka+json',
  JSON: 'application/json',
  V1_BINARY: 'application/vnd.kafka.binary.v1+json',
  V1_JSON_EMBEDDED: 'application/vnd.kafka.json.v1+json',
  V1_AVRO: 'application/vnd.kafka.avro.v1+json',
  GENERIC_REQUEST: 'application/octet-stream',
  V2_JSON: 'application/vnd.kafka.v2+json',
  V2_BINARY: 'application/vnd.kafka.binary.v2+json',
  V2_JSON_EMBEDDED: 'application/vnd.kafka.json.v2+json',
  V2_AVRO: 'application/vnd.kafka.avro.v2+json',
  V2_JSONSCHEMA: 'application/vnd.kafka.jsonschema.v2+json',
  V2_PROTOBUF: 'application/vnd.kafka.protobuf.v2+json',
} as const;

export interface Producible {
  readonly type: string;
  readonly qs: number;
}

const V1_JSON_WEIGHTED: Producible = { type: MEDIA_TYPES.V1_JSON, qs: 0.9 };
const DEFAULT_JSON_WEIGHTED: Producible = { type: MEDIA_TYPES.DEFAULT_JSON, qs: 0.8 };
const JSON_WEIGHTED: Producible = { type: MEDIA_TYPES.JSON, qs: 0.5 };

/** What each group of endpoints can answer with (Confluent's `@Produces`). */
export const PRODUCES = {
  /** `GET /`, `/topics`, `/topics/{t}`, `POST /topics/{t}`, `/brokers`: no binary type, hence the §2.1 gotcha. */
  metadata: [V1_JSON_WEIGHTED, DEFAULT_JSON_WEIGHTED, JSON_WEIGHTED],
  /** The partitions resource lists the binary type at qs=0.1 on the class, so it is acceptable but never preferred. */
  partitions: [
    { type: MEDIA_TYPES.V1_BINARY, qs: 0.1 },
    V1_JSON_WEIGHTED,
    DEFAULT_JSON_WEIGHTED,
    JSON_WEIGHTED,
  ],
  /** Binary at qs=1 wins a request with no Accept: the default response type of `/messages` is binary. */
  messages: [{ type: MEDIA_TYPES.V1_BINARY, qs: 1 }, V1_JSON_WEIGHTED, DEFAULT_JSON_WEIGHTED, JSON_WEIGHTED],
  /**
   * v1 consumer read (`GET /consumers/{g}/instances/{i}/topics/{t}`): the binary method as `messages`, plus
   * the json and avro read methods at low weight, so that asking for them reaches the format check (40601).
   */
  v1ConsumerRead: [
    { type: MEDIA_TYPES.V1_BINARY, qs: 1 },
    V1_JSON_WEIGHTED,
    DEFAULT_JSON_WEIGHTED,
    JSON_WEIGHTED,
    { type: MEDIA_TYPES.V1_JSON_EMBEDDED, qs: 0.1 },
    { type: MEDIA_TYPES.V1_AVRO, qs: 0.1 },
  ],
  /**
   * v2 resources (CP 5.x `Versions`): `v2+json` at qs=0.9 like v1's, so a request with no Accept still
   * lands on v1 (listed first), as the existing v1 clients expect; only an Accept naming a v2 type picks v2.
   */
  v2: [{ type: MEDIA_TYPES.V2_JSON, qs: 0.9 }],
  /** Metadata and partitions in v2 also list the binary type at low weight (acceptable, never preferred). */
  v2Metadata: [
    { type: MEDIA_TYPES.V2_BINARY, qs: 0.1 },
    { type: MEDIA_TYPES.V2_JSON, qs: 0.9 },
  ],
  /** `GET …/records`: one method per embedded format; binary first, so no Accept means binary. */
  v2Records: [
    { type: MEDIA_TYPES.V2_BINARY, qs: 1 },
    { type: MEDIA_TYPES.V2_JSON_EMBEDDED, qs: 1 },
    { type: MEDIA_TYPES.V2_AVRO, qs: 1 },
    { type: MEDIA_TYPES.V2_JSONSCHEMA, qs: 1 },
    { type: MEDIA_TYPES.V2_PROTOBUF, qs: 1 },
  ],
  /** Redpanda's simple consume `…/partitions/{p}/records`, in the binary embedded format only. */
  v2BinaryRecords: [{ type: MEDIA_TYPES.V2_BINARY, qs: 1 }],
  /** v3 answers JSON only. */
  v3: [{ type: MEDIA_TYPES.JSON, qs: 1 }],
} as const satisfies Record<string, readonly Producible[]>;

/** Request types that select the v2 resources (CP 5.x serves v1 and v2 side by side, §6). */
const V2_REQUEST_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.V2_JSON,
  MEDIA_TYPES.V2_BINARY,
  MEDIA_TYPES.V2_JSON_EMBEDDED,
  MEDIA_TYPES.V2_AVRO,
  MEDIA_TYPES.V2_JSONSCHEMA,
  MEDIA_TYPES.V2_PROTOBUF,
]);

/** The v1-only vendor types: a request that names one of them means v1 even where v2 shares the path. */
const V1_VENDOR_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.V1_JSON,
  MEDIA_TYPES.V1_BINARY,
  MEDIA_TYPES.V1_JSON_EMBEDDED,
  MEDIA_TYPES.V1_AVRO,
]);

/** Whether a type is one of the v2 family (`application/vnd.kafka[.x].v2+json`). */
export const isV2Type = (mediaType: string): boolean => V2_REQUEST_TYPES.has(essence(mediaType));

/**
 * Which API a request names by its Content-Type (POST) or Accept: `'v2'` for a v2 vendor type, `'v1'` for
 * a v1 vendor type, undefined when it says nothing either way (generic JSON, octet-stream, none, wildcards).
 * The gotcha of §6 follows: `application/json` and friends are not v2.
 */
export const namedApiVersion = (
  contentType: string | undefined,
  accept: string | undefined,
): 'v1' | 'v2' | undefined => {
  if (contentType !== undefined && contentType.trim() !== '') {
    const type = essence(contentType);
    if (V2_REQUEST_TYPES.has(type)) return 'v2';
    if (V1_VENDOR_TYPES.has(type)) return 'v1';
  }
  if (accept === undefined) return undefined;
  let v1 = false;
  let v2 = false;
  for (const range of parseAccept(accept)) {
    if (range.q <= 0) continue;
    const type = `${range.type}/${range.subtype}`;
    if (V2_REQUEST_TYPES.has(type)) v2 = true;
    else if (V1_VENDOR_TYPES.has(type)) v1 = true;
  }
  return v2 && !v1 ? 'v2' : v1 && !v2 ? 'v1' : undefined;
};

/** Whether a v2 produce Content-Type selects binary embedding (the embedded part missing means binary). */
export const isV2BinaryProduceContentType = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false;
  const type = essence(contentType);
  return type === MEDIA_TYPES.V2_BINARY || type === MEDIA_TYPES.V2_JSON;
};

/** Essence of a Content-Type (no parameters, lower case), or '' when there is none. */
export const mediaTypeEssence = (contentType: string | undefined): string =>
  contentType === undefined ? '' : essence(contentType);

/** Request types the binary produce methods accept (§2.1); a missing Content-Type counts as octet-stream. */
const BINARY_PRODUCE_CONSUMES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.V1_BINARY,
  MEDIA_TYPES.V1_JSON,
  MEDIA_TYPES.DEFAULT_JSON,
  MEDIA_TYPES.JSON,
  MEDIA_TYPES.GENERIC_REQUEST,
]);

interface AcceptRange {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
}

/** Whether a produce request's Content-Type is one the binary produce endpoints take. */
export const isBinaryProduceContentType = (contentType: string | undefined): boolean => {
  if (contentType === undefined || contentType.trim() === '') return true;
  return BINARY_PRODUCE_CONSUMES.has(essence(contentType));
};

const essence = (mediaType: string): string => {
  const semi = mediaType.indexOf(';');
  return (semi === -1 ? mediaType : mediaType.slice(0, semi)).trim().toLowerCase();
};

const parseAccept = (accept: string): AcceptRange[] => {
  const ranges: AcceptRange[] = [];
  for (const part of accept.split(',')) {
    const [rawType = '', ...params] = part.split(';');
    const full = rawType.trim().toLowerCase();
    if (full === '') continue;
    const slash = full.indexOf('/');
    // `*` alone is what some old clients send for "anything".
    const type = slash === -1 ? full : full.slice(0, slash);
    const subtype = slash === -1 ? '*' : full.slice(slash + 1);
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq !== -1 && param.slice(0, eq).trim().toLowerCase() === 'q') {
        const parsed = Number(param.slice(eq + 1).trim());
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 1;
      }
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
};

const matches = (range: AcceptRange, producible: string): boolean => {
  if (range.type === '*') return true;
  const slash = producible.indexOf('/');
  if (range.type !== producible.slice(0, slash)) return false;
  return range.subtype === '*' || range.subtype === producible.slice(slash + 1);
};

/**
 * The response Content-Type for `accept` among `produces`, or undefined when nothing is acceptable (406).
 * Jersey's order: the client's q first, then the server's qs; a q of 0 means "not this one".
 */
export const negotiate = (
  accept: string | undefined,
  produces: readonly Producible[],
): string | undefined => {
  if (accept === undefined || accept.trim() === '') return bestByQs(produces);
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return bestByQs(produces);
  let best: string | undefined;
  let bestQ = 0;
  let bestQs = 0;
  for (const producible of produces) {
    // The most specific matching range decides the q for this type (RFC 9110 §12.5.1).
    let q = -1;
    let specificity = -1;
    for (const range of ranges) {
      if (!matches(range, producible.type)) continue;
      const s = range.type === '*' ? 0 : range.subtype === '*' ? 1 : 2;
      if (s > specificity) {
        specificity = s;
        q = range.q;
      }
    }
    if (q <= 0) continue;
    if (q > bestQ || (q === bestQ && producible.qs > bestQs)) {
      best = producible.type;
      bestQ = q;
      bestQs = producible.qs;
    }
  }
  return best;
};

const bestByQs = (produces: readonly Producible[]): string | undefined => {
  let best: Producible | undefined;
  for (const producible of produces) if (best === undefined || producible.qs > best.qs) best = producible;
  return best?.type;
};

/** Content-Type of an error body: the client's preferred JSON type, else the v1 default (rest-utils). */
export const errorContentType = (accept: string | undefined): string =>
  negotiate(accept, PRODUCES.metadata) ?? MEDIA_TYPES.V1_JSON;

/** Content-Type of a v2 error body: v2 JSON whatever the Accept (the v2 resources produce nothing else). */
export const V2_ERROR_CONTENT_TYPE = MEDIA_TYPES.V2_JSON;
