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
  GENERIC_REQUEST: 'application/octet-stream',
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
} as const satisfies Record<string, readonly Producible[]>;

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
