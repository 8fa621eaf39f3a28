import { createHash, createHmac } from 'node:crypto';

/** An execution role's keys: in Lambda, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** A request to sign: the bridge only POSTs JSON to `/`, so no query string is taken. */
export interface SigningRequest {
  readonly method: string;
  /** As sent in `Host` (with the port when it is not the scheme's default). */
  readonly host: string;
  /** Already URI-encoded. */
  readonly path: string;
  /** Lower-case names; every one is signed. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
  readonly service: string;
  readonly region: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** `YYYYMMDD'T'HHMMSS'Z'`, the form of `X-Amz-Date`. */
export const toAmzDate = (atMs: number): string =>
  new Date(atMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * The signing key only changes with the date, region and service: one entry saves four HMACs per call
 * (the bridge signs for one or two services a day per container).
 */
let cachedKey: { readonly id: string; readonly key: Buffer } | undefined;

const signingKey = (secret: string, date: string, region: string, service: string): Buffer => {
  const id = `${secret}\n${date}\n${region}\n${service}`;
  if (cachedKey?.id !== id) {
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    cachedKey = { id, key };
  }
  return cachedKey.key;
};

/**
 * Signs with AWS Signature Version 4 (header form): returns every header to send, the request's own plus
 * `host`, `x-amz-date`, `x-amz-security-token` (with a session token, which is signed too) and
 * `authorization`. Checked against the published aws-sig-v4-test-suite vectors.
 */
export const signRequest = (
  request: SigningRequest,
  credentials: AwsCredentials,
  atMs: number,
): Record<string, string> => {
  const amzDate = toAmzDate(atMs);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...request.headers, host: request.host, 'x-amz-date': amzDate };
  if (credentials.sessionToken !== undefined && credentials.sessionToken !== '') {
    headers['x-amz-security-token'] = credentials.sessionToken;
  }
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  let canonicalHeaders = '';
  for (const name of names)
    canonicalHeaders += `${name}:${String(headers[name]).trim().replace(/\s+/g, ' ')}\n`;
  const canonicalRequest = [
    request.method,
    request.path,
    '',
    canonicalHeaders,
    signedHeaders,
    sha256Hex(request.body),
  ].join('\n');
  const scope = `${date}/${request.region}/${request.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = signingKey(credentials.secretAccessKey, date, request.region, request.service);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
};
