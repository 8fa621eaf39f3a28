import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local S3 for `npm start` and tests, path-style (`<endpoint>/<bucket>/<key>`): PutObject, GetObject,
 * HeadObject and DeleteObject, objects in memory with their `x-amz-server-side-encryption`, `x-amz-meta-*`
 * and content type; errors as S3's XML (`NoSuchKey`, `NoSuchBucket`). The buckets are the ones named at
 * start. Signatures are not checked: any request, signed or not, is served.
 */

export interface LocalS3Options {
  /** 0 (the default): any free port. */
  readonly port?: number;
  readonly buckets: readonly string[];
}

export interface StoredObject {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** `x-amz-server-side-encryption` as put; S3 answers `AES256` when none was asked for. */
  readonly serverSideEncryption: string;
  readonly kmsKeyId: string | undefined;
  /** The `x-amz-meta-*` headers, names lower-cased without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModified: Date;
}

export interface LocalS3 {
  readonly endpoint: string;
  /** The object as stored, for tests; undefined when there is none. */
  object(bucket: string, key: string): StoredObject | undefined;
  close(): Promise<void>;
}

const xmlEscape = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

export const startLocalS3 = async (options: LocalS3Options): Promise<LocalS3> => {
  const buckets = new Map<string, Map<string, StoredObject>>(
    options.buckets.map((name) => [name, new Map()]),
  );

  const error = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    resource: string,
    head: boolean,
  ) => {
    const requestId = randomUUID();
    res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
    // A HEAD answer has no body: S3 says only the status.
    res.end(
      head
        ? undefined
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`,
    );
  };

  const objectHeaders = (object: StoredObject): Record<string, string> => ({
    'content-type': object.contentType,
    'content-length': String(object.body.length),
    etag: object.etag,
    'last-modified': object.lastModified.toUTCString(),
    'x-amz-server-side-encryption': object.serverSideEncryption,
    ...(object.kmsKeyId === undefined
      ? {}
      : { 'x-amz-server-side-encryption-aws-kms-key-id': object.kmsKeyId }),
    ...Object.fromEntries(
      Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value]),
    ),
  });

  const toObject = (headers: IncomingHttpHeaders, body: Buffer): StoredObject => {
    const header = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    return {
      body,
      contentType: header('content-type') ?? 'binary/octet-stream',
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      serverSideEncryption: header('x-amz-server-side-encryption') ?? 'AES256',
      kmsKeyId: header('x-amz-server-side-encryption-aws-kms-key-id'),
      metadata: Object.fromEntries(
        Object.entries(headers)
          .filter(([name]) => name.startsWith('x-amz-meta-'))
          .map(([name, value]) => [name.slice('x-amz-meta-'.length), String(value)]),
      ),
      lastModified: new Date(),
    };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      const [, bucketName = '', ...keyParts] = path.split('/');
      const key = decodeURIComponent(keyParts.join('/'));
      const head = req.method === 'HEAD';
      const bucket = buckets.get(decodeURIComponent(bucketName));
      if (bucket === undefined) {
        error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', `/${bucketName}`, head);
        return;
      }
      if (key === '') {
        error(res, 501, 'NotImplemented', 'The local S3 serves objects only', path, head);
        return;
      }
      const object = bucket.get(key);
      switch (req.method) {
        case 'PUT': {
          const stored = toObject(req.headers, Buffer.concat(chunks));
          bucket.set(key, stored);
          res.writeHead(200, {
            etag: stored.etag,
            'x-amz-server-side-encryption': stored.serverSideEncryption,
          });
          res.end();
          return;
        }
        case 'GET':
        case 'HEAD':
          if (object === undefined) {
            error(res, 404, 'NoSuchKey', 'The specified key does not exist.', path, head);
            return;
          }
          res.writeHead(200, objectHeaders(object));
          res.end(head ? undefined : object.body);
          return;
        case 'DELETE':
          // S3 answers 204 whether or not the key existed.
          bucket.delete(key);
          res.writeHead(204);
          res.end();
          return;
        default:
          error(res, 405, 'MethodNotAllowed', `The local S3 does not serve ${req.method}`, path, head);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    object: (bucket, key) => buckets.get(bucket)?.get(key),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
