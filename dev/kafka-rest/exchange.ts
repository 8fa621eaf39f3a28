import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** One request being answered, with what every handler needs from it. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Upper-case, HEAD already folded into GET. */
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body: string;
  readonly accept: string | undefined;
  /** The Content-Type an error envelope goes out with (v1 negotiates it, v2 and v3 have their own). */
  readonly errorContentType: string;
}

export const envelope = (errorCode: number, message: string): string =>
  JSON.stringify({ error_code: errorCode, message });

/** Answers with a complete body (Content-Length set), or none. */
export const send = (
  x: Exchange,
  status: number,
  contentType: string | undefined,
  body: string | undefined,
  headers?: OutgoingHttpHeaders,
): void => {
  const out: OutgoingHttpHeaders = { ...headers };
  if (contentType !== undefined) out['content-type'] = contentType;
  out['content-length'] = body === undefined ? 0 : Buffer.byteLength(body);
  x.res.writeHead(status, out);
  x.res.end(body);
};

/** The `{"error_code","message"}` envelope of §1, in the exchange's error Content-Type. */
export const sendError = (
  x: Exchange,
  status: number,
  errorCode: number,
  message: string,
  headers?: OutgoingHttpHeaders,
): void => send(x, status, x.errorContentType, envelope(errorCode, message), headers);

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Java's `Integer.valueOf` / `Long.valueOf` as JAX-RS applies them to parameters: undefined = not a number → 404. */
export const parseJavaInt = (raw: string, bits: 32 | 64): number | undefined => {
  if (!/^[+-]?\d+$/.test(raw)) return undefined;
  if (bits === 32) {
    const n = Number(raw);
    return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
  }
  const big = BigInt(raw);
  return big >= INT64_MIN && big <= INT64_MAX ? Number(big) : undefined;
};

/** A JSON number, or a numeric string as Jackson coerces it into an int/long field; NaN for anything else. */
export const jacksonNumber = (raw: unknown): number =>
  typeof raw === 'number'
    ? raw
    : typeof raw === 'string' && /^[+-]?\d+$/.test(raw)
      ? Number(raw)
      : Number.NaN;

/** First value of each query parameter. */
export const firstQueryValues = (query: string): Record<string, string> => {
  const out: Record<string, string> = {};
  if (query === '') return out;
  for (const [name, value] of new URLSearchParams(query)) if (!(name in out)) out[name] = value;
  return out;
};
