import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3, startLocalS3 } from '../dev/aws-local/s3-server.js';
import { signRequest } from '../lib/aws/sigv4.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';

// The local S3 over plain HTTP, signed as an S3 client signs (SigV4, x-amz-content-sha256), though the
// server checks no signature.
describe('the local S3 server', () => {
  let s3: LocalS3;

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['payloads'] });
  });
  afterAll(async () => {
    await s3.close();
  });

  const call = async (method: string, path: string, body = '', headers: Record<string, string> = {}) => {
    const url = new URL(path, s3.endpoint);
    const signed = signRequest(
      {
        method,
        host: url.host,
        path: url.pathname,
        headers: { ...headers, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
        body,
        service: 's3',
        region: FAKE_AWS.region,
      },
      FAKE_AWS.credentials,
      Date.now(),
    );
    const response = await request(url, { method, headers: signed, ...(body === '' ? {} : { body }) });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  };

  it('stores an object with its encryption and metadata, and serves it back by GET and HEAD', async () => {
    // Act
    const put = await call('PUT', '/payloads/records/0.json', '{"a":1}', {
      'content-type': 'application/json',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/bridge',
      'x-amz-meta-record-id': 'stage/demo/0/1/0',
    });
    const got = await call('GET', '/payloads/records/0.json');
    const head = await call('HEAD', '/payloads/records/0.json');

    // Assess
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(`"${createHash('md5').update('{"a":1}').digest('hex')}"`);
    expect(got).toMatchObject({ status: 200, text: '{"a":1}' });
    expect(got.headers).toMatchObject({
      'content-type': 'application/json',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/bridge',
      'x-amz-meta-record-id': 'stage/demo/0/1/0',
    });
    expect(head).toMatchObject({ status: 200, text: '' });
    expect(head.headers['content-length']).toBe('7');
    expect(s3.object('payloads', 'records/0.json')?.metadata).toEqual({ 'record-id': 'stage/demo/0/1/0' });
  });

  it('deletes an object with 204, and answers 204 for a key that is not there as S3 does', async () => {
    // Prepare
    await call('PUT', '/payloads/gone', 'x');

    // Act
    const deleted = await call('DELETE', '/payloads/gone');
    const again = await call('DELETE', '/payloads/gone');

    // Assess
    expect([deleted.status, again.status]).toEqual([204, 204]);
    expect(s3.object('payloads', 'gone')).toBeUndefined();
  });

  it.each([
    { name: 'a missing key', path: '/payloads/none', code: 'NoSuchKey' },
    { name: 'a missing bucket', path: '/other/key', code: 'NoSuchBucket' },
  ])('answers $name with 404 and S3’s XML error (HEAD: the status only)', async ({ path, code }) => {
    // Act
    const got = await call('GET', path);
    const head = await call('HEAD', path);

    // Assess
    expect(got.status).toBe(404);
    expect(got.headers['content-type']).toBe('application/xml');
    expect(got.text).toContain(`<Code>${code}</Code>`);
    expect(head).toMatchObject({ status: 404, text: '' });
  });
});
