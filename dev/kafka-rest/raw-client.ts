import { request } from 'node:http';

export interface RawReply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * One HTTP exchange with node:http, for the server's own tests and ad-hoc scripts: unlike fetch it sends a
 * body on a GET (the v2 `GET …/offsets` needs one) and adds no headers beyond the given ones, Host and
 * Content-Length. A string body goes as it is (malformed JSON included); any other value as its JSON.
 * Rejects on a network error (a dropped connection included), and after `timeoutMs` of silence when given.
 */
export const rawCall = (
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<RawReply> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, baseUrl);
    const headers: Record<string, string | number> = { ...options.headers };
    const body =
      options.body === undefined || typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const contentType = res.headers['content-type'];
        resolve({
          status: res.statusCode ?? 0,
          contentType,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () =>
        req.destroy(new Error(`${method} ${url.href}: no answer within ${options.timeoutMs} ms`)),
      );
    }
    req.end(body);
  });

/** Base64 of a UTF-8 string, the binary embedded format's encoding. */
export const b64 = (text: string): string => Buffer.from(text).toString('base64');
