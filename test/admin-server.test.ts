import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_ERROR_CODES } from '../dev/kafka-rest/admin.js';
import type { KafkaRestServer, KafkaRestServerOptions } from '../dev/kafka-rest/server.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';

// The local server's Message Hub admin API (protocol doc §5), over real sockets.

const KEY = 'local-admin-key-0123456789';
let server: KafkaRestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const start = async (options: KafkaRestServerOptions = {}): Promise<KafkaRestServer> => {
  server = await startKafkaRestServer({ topics: { demo: 3 }, ...options });
  return server;
};

const call = async (
  method: string,
  path: string,
  options: { body?: unknown; key?: string | null } = {},
): Promise<{
  status: number;
  contentType: unknown;
  headers: Record<string, unknown>;
  json: unknown;
  text: string;
}> => {
  if (server === undefined) throw new Error('no server started');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.key !== null) headers['x-auth-token'] = options.key ?? KEY;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await request(`${server.url}${path}`, {
    method: method as 'GET',
    headers,
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.statusCode,
    contentType: response.headers['content-type'],
    headers: response.headers,
    json,
    text,
  };
};

describe('GET /admin/topics', () => {
  it('lists every topic with partitions, the default 24 h retention and markedForDeletion', async () => {
    await start({ topics: { demo: 3, orders: 1 } });

    const reply = await call('GET', '/admin/topics');

    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe('application/json');
    expect(reply.json).toEqual([
      { name: 'demo', partitions: 3, retentionMs: 86_400_000, markedForDeletion: false },
      { name: 'orders', partitions: 1, retentionMs: 86_400_000, markedForDeletion: false },
    ]);
  });

  it('answers the trailing-slash form of the IBM curl example the same way', async () => {
    await start();

    const reply = await call('GET', '/admin/topics/');

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual([
      { name: 'demo', partitions: 3, retentionMs: 86_400_000, markedForDeletion: false },
    ]);
  });
});

describe('POST /admin/topics', () => {
  it('creates the topic (202, no body) and the v1 API serves it at once', async () => {
    const srv = await start();

    const created = await call('POST', '/admin/topics', {
      body: { name: 'orders', partitions: 4, configs: { retentionMs: 7 * 86_400_000 } },
    });

    expect(created.status).toBe(202);
    expect(created.text).toBe('');
    const listed = await call('GET', '/admin/topics');
    expect(listed.json).toContainEqual({
      name: 'orders',
      partitions: 4,
      retentionMs: 604_800_000,
      markedForDeletion: false,
    });
    const partitions = await call('GET', '/topics/orders/partitions');
    expect((partitions.json as unknown[]).length).toBe(4);
    srv.append('orders', 3, [{ value: Buffer.from('x') }]);
    expect(srv.records('orders', 3).map((r) => r.value?.toString())).toEqual(['x']);
  });

  it('applies the defaults: 1 partition, 24 h', async () => {
    await start();

    const created = await call('POST', '/admin/topics', { body: { name: 'plain' } });

    expect(created.status).toBe(202);
    expect((await call('GET', '/admin/topics')).json).toContainEqual({
      name: 'plain',
      partitions: 1,
      retentionMs: 86_400_000,
      markedForDeletion: false,
    });
  });

  it('answers 422 with errorCode 42201 for a topic that exists, and leaves it alone', async () => {
    const srv = await start();
    srv.append('demo', 0, [{ value: Buffer.from('kept') }]);

    const reply = await call('POST', '/admin/topics', { body: { name: 'demo', partitions: 1 } });

    expect(reply.status).toBe(422);
    expect(reply.json).toEqual({
      errorCode: ADMIN_ERROR_CODES.TOPIC_EXISTS,
      errorMessage: 'Topic already exists.',
    });
    expect(srv.records('demo', 0)).toHaveLength(1);
  });

  it.each([
    { name: 'a body that is not JSON', body: '{"name":', message: /JSON object/ },
    { name: 'a JSON array', body: '[]', message: /JSON object/ },
    { name: 'a missing name', body: { partitions: 1 }, message: /name must be a topic name/ },
    { name: 'an illegal name', body: { name: 'a/b' }, message: /name must be a topic name/ },
    { name: 'the name ".."', body: { name: '..' }, message: /name must be a topic name/ },
    {
      name: 'a name of 250 characters',
      body: { name: 'x'.repeat(250) },
      message: /name must be a topic name/,
    },
    {
      name: '0 partitions',
      body: { name: 't', partitions: 0 },
      message: /partitions must be an integer from 1 to 100/,
    },
    { name: '101 partitions', body: { name: 't', partitions: 101 }, message: /from 1 to 100/ },
    { name: 'partitions as a string', body: { name: 't', partitions: '2' }, message: /partitions must be/ },
    {
      name: 'retention not a whole hour',
      body: { name: 't', configs: { retentionMs: 5_400_000 } },
      message: /multiple of 3600000/,
    },
    {
      name: 'retention under an hour',
      body: { name: 't', configs: { retentionMs: 0 } },
      message: /retentionMs/,
    },
    {
      name: 'retention over 30 days',
      body: { name: 't', configs: { retentionMs: 31 * 86_400_000 } },
      message: /retentionMs/,
    },
    { name: 'an unknown field', body: { name: 't', replicas: 3 }, message: /Unrecognized field: replicas/ },
    {
      name: 'an unknown config',
      body: { name: 't', configs: { cleanupPolicy: 'compact' } },
      message: /Unrecognized field: configs.cleanupPolicy/,
    },
  ])('refuses $name with 422 and a camelCase error, creating nothing', async ({ body, message }) => {
    await start();

    const reply = await call('POST', '/admin/topics', { body });

    expect(reply.status).toBe(422);
    expect(reply.json).toMatchObject({ errorCode: ADMIN_ERROR_CODES.INVALID_REQUEST });
    expect((reply.json as { errorMessage: string }).errorMessage).toMatch(message);
    expect((await call('GET', '/topics')).json).toEqual(['demo']);
  });
});

describe('DELETE /admin/topics/{name}', () => {
  it('deletes the topic (202): the v1 API no longer knows it, and it can be created again from offset 0', async () => {
    const srv = await start();
    srv.append('demo', 1, [{ value: Buffer.from('old') }]);

    const deleted = await call('DELETE', '/admin/topics/demo');

    expect(deleted.status).toBe(202);
    expect((await call('GET', '/topics/demo/partitions')).status).toBe(404);
    expect((await call('GET', '/admin/topics')).json).toEqual([]);
    expect((await call('POST', '/admin/topics', { body: { name: 'demo', partitions: 2 } })).status).toBe(202);
    expect(srv.records('demo', 1)).toEqual([]);
  });

  it("answers 404 for an unknown topic, as IBM's mock service does", async () => {
    await start();

    const reply = await call('DELETE', '/admin/topics/nope');

    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({ errorCode: 404, errorMessage: 'Topic not found.' });
  });

  it('forgets the retention of a deleted topic: re-created without configs it lists 24 h again', async () => {
    await start();
    await call('POST', '/admin/topics', { body: { name: 'r', configs: { retentionMs: 3_600_000 } } });

    await call('DELETE', '/admin/topics/r');
    await call('POST', '/admin/topics', { body: { name: 'r' } });

    expect((await call('GET', '/admin/topics')).json).toContainEqual({
      name: 'r',
      partitions: 1,
      retentionMs: 86_400_000,
      markedForDeletion: false,
    });
  });
});

describe('admin API errors', () => {
  it.each([
    { name: 'no key', key: null },
    { name: 'a wrong key', key: 'wrong-key-0000000000' },
  ])('answers 401 in camelCase for $name, without echoing any key', async ({ key }) => {
    await start({ apiKey: KEY });

    const reply = await call('POST', '/admin/topics', { key, body: { name: 'blocked' } });

    expect(reply.status).toBe(401);
    expect(reply.json).toMatchObject({ errorCode: 401 });
    expect(reply.text).not.toContain(KEY);
    expect(reply.text).not.toContain('wrong-key');
    expect((await call('GET', '/topics')).json).toEqual(['demo']);
  });

  it('serves a request with the right key', async () => {
    await start({ apiKey: KEY });

    expect((await call('GET', '/admin/topics')).status).toBe(200);
  });

  it.each([
    { name: 'PUT on the collection', method: 'PUT', path: '/admin/topics', allow: 'GET, POST' },
    { name: 'GET on a topic', method: 'GET', path: '/admin/topics/demo', allow: 'DELETE' },
  ])('answers 405 with Allow for $name', async ({ method, path, allow }) => {
    await start();

    const reply = await call(method, path);

    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe(allow);
    expect(reply.json).toMatchObject({ errorCode: 405 });
  });

  it.each(['/admin', '/admin/bridges', '/admin/topics/demo/partitions'])(
    'answers 404 for %s',
    async (path) => {
      await start();

      const reply = await call('GET', path);

      expect(reply.status).toBe(404);
      expect(reply.json).toMatchObject({ errorCode: 404 });
    },
  );

  it('takes scripted faults like any other path', async () => {
    const srv = await start();
    srv.inject({ kind: 'throttle', retryAfterSeconds: 1, match: { path: '/admin/topics' } });

    const throttled = await call('GET', '/admin/topics');
    const next = await call('GET', '/admin/topics');

    expect(throttled.status).toBe(429);
    expect(next.status).toBe(200);
  });
});
