import aws4 from 'aws4';

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

/** `YYYYMMDD'T'HHMMSS'Z'`, the form of `X-Amz-Date`. */
export const toAmzDate = (atMs: number): string =>
  new Date(atMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/**
 * Signs with AWS Signature Version 4 (header form) through `aws4`, the maintained signer: returns every
 * header to send, the request's own plus `host`, `x-amz-date`, `x-amz-security-token` (with a session
 * token, which is signed too) and `authorization`. Checked against the published aws-sig-v4-test-suite
 * vectors and the SDK's own signer.
 */
export const signRequest = (
  request: SigningRequest,
  credentials: AwsCredentials,
  atMs: number,
): Record<string, string> => {
  const signed = aws4.sign(
    {
      method: request.method,
      host: request.host,
      path: request.path,
      // Signed at the caller's clock, so a test vector's time (and a retry's own time) holds.
      headers: { ...request.headers, 'X-Amz-Date': toAmzDate(atMs) },
      body: typeof request.body === 'string' ? request.body : Buffer.from(request.body),
      service: request.service,
      region: request.region,
      doNotEncodePath: true,
    },
    {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined || credentials.sessionToken === ''
        ? {}
        : { sessionToken: credentials.sessionToken }),
    },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = String(value);
  }
  return headers;
};
