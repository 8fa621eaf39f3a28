import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDynamoDb } from '../lib/aws/dynamodb.js';
import { AwsRequestError, AwsServiceError, CredentialsProviderError } from '../lib/aws/errors.js';
import {
  createAwsJsonClient,
  credentialsFromEnvironment,
  DYNAMODB,
  SECRETS_MANAGER,
  toAwsJsonClient,
} from '../lib/aws/json-client.js';
import { signRequest, toAmzDate } from '../lib/aws/sigv4.js';
import { type LocalDynamo, startDynalite, TEST_CREDENTIALS } from './helpers/dynalite.js';

// The aws-sig-v4-test-suite's credentials, date and host (docs.aws.amazon.com, "Signature Version 4 test suite").
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  atMs: Date.UTC(2015, 7, 30, 12, 36, 0),
  host: 'example.amazonaws.com',
  region: 'us-east-1',
  service: 'service',
} as const;
const SUITE_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';
const SCOPE = 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

describe('SigV4 signing against the published test suite', () => {
  it.each([
    {
      name: 'post-vanilla',
      headers: {},
      body: '',
      sessionToken: undefined,
      expected: `AWS4-HMAC-SHA256 Credential=${SCOPE}, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b`,
    },
    {
      name: 'post-sts-header-before (a session token is signed)',
      headers: {},
      body: '',
      sessionToken: SUITE_TOKEN,
      expected: `AWS4-HMAC-SHA256 Credential=${SCOPE}, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead`,
    },
  ])('$name', ({ headers, body, sessionToken, expected }) => {
    // Act
    const signed = signRequest(
      {
        method: 'POST',
        host: SUITE.host,
        path: '/',
        headers,
        body,
        region: SUITE.region,
        service: SUITE.service,
      },
      { ...SUITE.credentials, sessionToken },
      SUITE.atMs,
    );

    // Assess
    expect(signed.authorization).toBe(expected);
    expect(signed['x-amz-date']).toBe('20150830T123600Z');
    expect(signed['x-amz-security-token']).toBe(sessionToken);
  });

  it('writes X-Amz-Date without separators or milliseconds', () => {
    expect(toAmzDate(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('20260102T030405Z');
  });

  it('signs a DynamoDB call exactly as the AWS SDK signer does (target header, host with port, token)', async () => {
    // Prepare: the SDK's own signer, with node:crypto behind its hash interface.
    type Data = string | ArrayBuffer | ArrayBufferView;
    const bytes = (data: Data): string | Buffer =>
      typeof data === 'string'
        ? data
        : ArrayBuffer.isView(data)
          ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
          : Buffer.from(data);
    class Sha256 {
      private readonly hash;
      constructor(secret?: Data) {
        this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
      }
      update(data: Data): void {
        this.hash.update(bytes(data));
      }
      async digest(): Promise<Uint8Array> {
        return new Uint8Array(this.hash.digest());
      }
    }
    const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret/key+', sessionToken: 'token=/+' };
    const body = JSON.stringify({ TableName: 't', Key: { pk: { S: 'a#b#0' } }, ConsistentRead: true });
    // As the client sends it: the length is signed too (aws4 signs every header it is given).
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': String(Buffer.byteLength(body)),
      'x-amz-target': 'DynamoDB_20120810.GetItem',
    };
    const atMs = Date.UTC(2026, 11, 2, 6, 0, 0);
    // Without its x-amz-content-sha256 header (an S3 convention), so both sign the same header set.
    const sdk = new SignatureV4({
      credentials,
      region: 'eu-west-1',
      service: 'dynamodb',
      sha256: Sha256,
      applyChecksum: false,
    });

    // Act
    const ours = signRequest(
      {
        method: 'POST',
        host: '127.0.0.1:8000',
        path: '/',
        headers,
        body,
        region: 'eu-west-1',
        service: 'dynamodb',
      },
      credentials,
      atMs,
    );
    const theirs = await sdk.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 8000,
        path: '/',
        headers: { ...headers, host: '127.0.0.1:8000' },
        body,
      },
      { signingDate: new Date(atMs) },
    );

    // Assess
    expect(ours.authorization).toBe(theirs.headers.authorization);
  });
});

describe('credentials from the Lambda environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('reads the keys and the session token', async () => {
    // Prepare
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'sk',
      AWS_SESSION_TOKEN: 'st',
    });

    // Act
    const credentials = await credentialsFromEnvironment();

    // Assess
    expect(credentials).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'sk', sessionToken: 'st' });
  });

  it('refuses to sign without keys, naming the variables and no value', async () => {
    // Prepare
    process.env.AWS_ACCESS_KEY_ID = '';
    process.env.AWS_SECRET_ACCESS_KEY = 'not-logged-secret';

    // Act
    const error = await credentialsFromEnvironment().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(CredentialsProviderError);
    expect((error as Error).message).toContain('AWS_ACCESS_KEY_ID');
    expect((error as Error).message).not.toContain('not-logged-secret');
  });
});

/** A local AWS JSON endpoint that answers from a script and records what it received. */
interface ScriptedAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

const startScripted = async (answers: ScriptedAnswer[]) => {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers.shift() ?? { status: 200, body: '{}' };
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

describe('signed AWS JSON calls over a real socket', () => {
  let scripted: Awaited<ReturnType<typeof startScripted>>;
  const answers: ScriptedAnswer[] = [];
  const throttled = {
    status: 400,
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'slow down',
    }),
  };

  beforeEach(async () => {
    answers.length = 0;
    scripted = await startScripted(answers);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await scripted.close();
  });

  const client = (maxAttempts = 4) =>
    createAwsJsonClient(DYNAMODB, {
      endpoint: scripted.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret', sessionToken: 'local-token' },
      maxAttempts,
    });

  it('POSTs the operation as X-Amz-Target with the JSON input, signed for the region and service', async () => {
    // Prepare
    answers.push({ status: 200, body: '{"Item":{"pk":{"S":"a"}}}' });

    // Act
    const output = await client().call('GetItem', { TableName: 't', Key: { pk: { S: 'a' } } });

    // Assess
    expect(output).toEqual({ Item: { pk: { S: 'a' } } });
    const [request] = scripted.received;
    expect(request?.headers).toMatchObject({
      'x-amz-target': 'DynamoDB_20120810.GetItem',
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-security-token': 'local-token',
    });
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDLOCAL\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(request?.body ?? '')).toEqual({ TableName: 't', Key: { pk: { S: 'a' } } });
  });

  it('signs with the Lambda environment’s keys, session token and region when given none', async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENV');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'env-session-token');
    vi.stubEnv('AWS_REGION', 'eu-central-2');
    const fromEnvironment = createAwsJsonClient(SECRETS_MANAGER, { endpoint: scripted.endpoint });

    // Act
    await fromEnvironment.call('GetSecretValue', { SecretId: 's' });

    // Assess
    const headers = scripted.received[0]?.headers;
    expect(headers?.['x-amz-security-token']).toBe('env-session-token');
    expect(headers?.['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(headers?.authorization).toContain('Credential=AKIDFROMENV/');
    expect(headers?.authorization).toContain('/eu-central-2/secretsmanager/aws4_request');
    await fromEnvironment.close();
  });

  it.each([
    { name: 'a 500', answer: { status: 500, body: '{"__type":"InternalServerError","message":"x"}' } },
    { name: 'a throttling code', answer: throttled },
    { name: 'a 503 without a body', answer: { status: 503, body: '' } },
  ])('retries $name and answers from the next attempt', async ({ answer }) => {
    // Prepare
    answers.push(answer, { status: 200, body: '{"ok":1}' });

    // Act
    const output = await client().call('PutItem', {});

    // Assess
    expect(output).toEqual({ ok: 1 });
    expect(scripted.received).toHaveLength(2);
  });

  it('does not retry a client error, and names it as the SDK did (name, $metadata.httpStatusCode)', async () => {
    // Prepare
    answers.push({
      status: 400,
      body: '{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}',
    });

    // Act
    const error = await client()
      .call('UpdateItem', {})
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      name: 'ConditionalCheckFailedException',
      message: 'The conditional request failed',
      $metadata: { httpStatusCode: 400 },
    });
    expect(scripted.received).toHaveLength(1);
  });

  it('fails a 200 whose body is not JSON as no usable answer (it may have been applied), without retrying it', async () => {
    // Prepare
    answers.push({ status: 200, body: '<html>captive portal</html>' });

    // Act
    const error = await client()
      .call('GetItem', {})
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(AwsRequestError);
    expect(error).toMatchObject({
      code: 'MALFORMED_ANSWER',
      message: 'dynamodb GetItem: the answer is not JSON',
    });
    expect(scripted.received).toHaveLength(1);
  });

  it('takes the error code from X-Amzn-ErrorType when the body has none', async () => {
    // Prepare
    answers.push({
      status: 400,
      body: '',
      headers: {
        'x-amzn-errortype':
          'AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/',
      },
    });

    // Act
    const error = await client()
      .call('GetSecretValue', {})
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
  });

  it('stops after maxAttempts, with the last failure', async () => {
    // Prepare
    answers.push(throttled, throttled, throttled);

    // Act
    const error = await client(2)
      .call('PutItem', {})
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(scripted.received).toHaveLength(2);
  });

  it('ends a backoff at the caller’s abort, with its reason, and sends nothing more', async () => {
    // Prepare: throttling backs off up to 1 s before the second attempt.
    answers.push(throttled, throttled, throttled, throttled);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const call = client().call('PutItem', {}, { abortSignal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Act
    controller.abort(reason);
    const outcome = await call.catch((caught: unknown) => caught);

    // Assess
    expect(outcome).toBe(reason);
    const sent = scripted.received.length;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(scripted.received).toHaveLength(sent);
  });

  it('reports no answer as AwsRequestError with the network code, after the attempts', async () => {
    // Prepare
    const unreachable = createAwsJsonClient(SECRETS_MANAGER, {
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });

    // Act
    const error = await unreachable.call('GetSecretValue', {}).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(AwsRequestError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('uses an SDK client’s endpoint, region, credentials and attempts, one signed client per SDK client', async () => {
    // Prepare
    answers.push(throttled, throttled);
    const sdk = new DynamoDBClient({
      endpoint: scripted.endpoint,
      region: 'ap-south-1',
      credentials: { accessKeyId: 'AKIDFROMSDK', secretAccessKey: 'x' },
      maxAttempts: 2,
    });

    // Act
    const error = await toAwsJsonClient(DYNAMODB, sdk)
      .call('GetItem', {})
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(scripted.received).toHaveLength(2);
    expect(scripted.received[0]?.headers.authorization).toContain('Credential=AKIDFROMSDK/');
    expect(scripted.received[0]?.headers.authorization).toContain('/ap-south-1/dynamodb/aws4_request');
    expect(toAwsJsonClient(DYNAMODB, sdk)).toBe(toAwsJsonClient(DYNAMODB, sdk));
    sdk.destroy();
  });
});

describe('signed DynamoDB calls against dynalite', () => {
  let dynamo: LocalDynamo;

  beforeAll(async () => {
    dynamo = await startDynalite('signed-calls');
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('writes conditionally, reads back, and fails a broken condition as ConditionalCheckFailedException', async () => {
    // Prepare
    const client = createDynamoDb({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
    });
    const put = {
      TableName: dynamo.tableName,
      Item: { pk: { S: 'signed#1' }, note: { S: 'ü, 🚀' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    };

    // Act
    await client.call('PutItem', put);
    const again = await client.call('PutItem', put).catch((caught: unknown) => caught);
    const read = await client.call('GetItem', {
      TableName: dynamo.tableName,
      Key: { pk: { S: 'signed#1' } },
      ConsistentRead: true,
    });
    await client.close();

    // Assess
    expect(again).toMatchObject({
      name: 'ConditionalCheckFailedException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(read).toEqual({ Item: { pk: { S: 'signed#1' }, note: { S: 'ü, 🚀' } } });
  });
});
