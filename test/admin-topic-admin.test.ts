import { afterEach, describe, expect, it } from 'vitest';
import type { KafkaRestServerOptions } from '../dev/kafka-rest/server.js';
import { createTopicAdmin, type TopicAdminOptions } from '../lib/admin/topic-admin.js';
import type { TopicAdmin } from '../lib/admin/topic-admin-types.js';
import { isAppError, isUpstreamError } from '../lib/core/errors.js';
import { apiKeyAuth } from '../lib/kafka-rest/auth.js';
import { literalSecret } from '../lib/secrets/cache.js';
import type { SecretValue } from '../lib/secrets/types.js';
import { type KafkaRestFixture, startKafkaRestWithClient } from './helpers/kafka-rest.js';

// The topic admin against the local Kafka REST server, which serves both the v1 API and Message Hub's
// admin API, over real sockets. Backoff waits are recorded, not slept.

const KEY = 'admin-test-key-0123456789abcdef';
const HOUR_MS = 3_600_000;

interface Setup {
  readonly fixture: KafkaRestFixture;
  readonly admin: TopicAdmin;
  readonly sleeps: number[];
}

const setups: Setup[] = [];
/** Admins a test builds beside its setup's own, over the same fixture. */
const extraAdmins: TopicAdmin[] = [];

afterEach(async () => {
  for (const admin of extraAdmins.splice(0)) await admin.close();
  for (const setup of setups.splice(0)) {
    await setup.admin.close();
    await setup.fixture.close();
  }
});

const start = async (
  options: {
    server?: KafkaRestServerOptions;
    admin?: Partial<TopicAdminOptions>;
    withAdminApi?: boolean;
  } = {},
): Promise<Setup> => {
  const fixture = await startKafkaRestWithClient({
    server: { topics: { demo: 3 }, apiKey: KEY, ...options.server },
  });
  const sleeps: number[] = [];
  const admin = createTopicAdmin({
    kafka: fixture.client,
    adminUrl: options.withAdminApi === false ? undefined : fixture.server.url,
    allowHttp: true,
    auth: apiKeyAuth(literalSecret(KEY)),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options.admin,
  });
  const setup = { fixture, admin, sleeps };
  setups.push(setup);
  return setup;
};

const adminRequests = (setup: Setup) =>
  setup.fixture.server.requests.filter((r) => r.path.startsWith('/admin/'));

/** Runs `action` and returns what it threw (failing the test if it did not throw). */
const thrown = async (action: () => Promise<unknown>): Promise<Error> => {
  try {
    await action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
};

describe('listTopics', () => {
  it('merges the REST names with the admin view: partitions, retention, state, sorted by name', async () => {
    const setup = await start({ server: { topics: { zeta: 1, demo: 3 } } });
    await setup.admin.createTopic('orders', { partitions: 2, retentionMs: 48 * HOUR_MS });

    const topics = await setup.admin.listTopics();

    expect(setup.admin.hasAdminApi).toBe(true);
    expect(topics).toEqual([
      { name: 'demo', partitions: 3, retentionMs: 24 * HOUR_MS, markedForDeletion: false },
      { name: 'orders', partitions: 2, retentionMs: 48 * HOUR_MS, markedForDeletion: false },
      { name: 'zeta', partitions: 1, retentionMs: 24 * HOUR_MS, markedForDeletion: false },
    ]);
  });

  it('keeps a topic that Message Hub still lists as marked for deletion after the proxy dropped it', async () => {
    const setup = await start();
    setup.fixture.server.inject({
      kind: 'status',
      status: 200,
      match: { method: 'GET', path: '/admin/topics' },
      body: [
        { name: 'demo', partitions: 3, retentionMs: 86_400_000, markedForDeletion: false },
        { name: 'gone', partitions: 5, retentionMs: 3_600_000, markedForDeletion: true },
      ],
    });

    const topics = await setup.admin.listTopics();

    expect(topics.map((t) => [t.name, t.markedForDeletion])).toEqual([
      ['demo', false],
      ['gone', true],
    ]);
  });

  it('without an admin API, counts partitions through the REST API and knows no retention', async () => {
    const setup = await start({
      server: { topics: { demo: 3, a: 1, b: 2, c: 4, d: 5, e: 6 } },
      withAdminApi: false,
    });

    const topics = await setup.admin.listTopics();

    expect(setup.admin.hasAdminApi).toBe(false);
    expect(topics.map((t) => [t.name, t.partitions, t.retentionMs])).toEqual([
      ['a', 1, undefined],
      ['b', 2, undefined],
      ['c', 4, undefined],
      ['d', 5, undefined],
      ['demo', 3, undefined],
      ['e', 6, undefined],
    ]);
    expect(adminRequests(setup)).toEqual([]);
  });

  it('throws ERR_UPSTREAM_PROTOCOL when the admin API answers something that is not a topic list', async () => {
    const setup = await start();
    setup.fixture.server.inject({
      kind: 'status',
      status: 200,
      body: { topics: [] },
      match: { path: '/admin/topics' },
    });

    const error = await thrown(() => setup.admin.listTopics());

    expect(isAppError(error) && error.code).toBe('ERR_UPSTREAM_PROTOCOL');
  });
});

describe('describeTopic', () => {
  it('gives every partition with its leader, replicas and in-sync replicas', async () => {
    const setup = await start();

    const topic = await setup.admin.describeTopic('demo');

    expect(topic).toEqual({
      name: 'demo',
      partitions: [0, 1, 2].map((partition) => ({
        partition,
        leader: 0,
        replicas: [{ broker: 0, leader: true, inSync: true }],
      })),
    });
  });

  it('answers undefined for a topic that does not exist', async () => {
    const setup = await start();

    expect(await setup.admin.describeTopic('missing')).toBeUndefined();
  });

  it('refuses a malformed name before sending anything', async () => {
    const setup = await start();

    const error = await thrown(() => setup.admin.describeTopic('no/slashes'));

    expect(isAppError(error) && error.code).toBe('ERR_PAYLOAD_INVALID');
    expect(setup.fixture.server.requests).toEqual([]);
  });
});

describe('createTopic', () => {
  it('sends name, partitions and configs.retentionMs with the key, and the topic is then served', async () => {
    const setup = await start();

    const outcome = await setup.admin.createTopic('orders', { partitions: 3, retentionMs: 7 * 24 * HOUR_MS });

    expect(outcome).toEqual({ status: 'accepted', name: 'orders', partitions: 3, retentionMs: 604_800_000 });
    const [sent] = adminRequests(setup);
    expect(sent?.method).toBe('POST');
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      name: 'orders',
      partitions: 3,
      configs: { retentionMs: 604_800_000 },
    });
    expect(sent?.headers['x-auth-token']).toBe(KEY);
    expect(sent?.headers['content-type']).toBe('application/json');
    expect((await setup.admin.describeTopic('orders'))?.partitions).toHaveLength(3);
  });

  it("leaves out what the caller did not set, so the admin API's defaults apply", async () => {
    const setup = await start();

    const outcome = await setup.admin.createTopic('plain');

    expect(outcome).toEqual({
      status: 'accepted',
      name: 'plain',
      partitions: undefined,
      retentionMs: undefined,
    });
    expect(JSON.parse(adminRequests(setup)[0]?.body ?? '')).toEqual({ name: 'plain' });
  });

  it('reports an existing topic (422, errorCode 42201) as "exists", not as a failure', async () => {
    const setup = await start();

    expect(await setup.admin.createTopic('demo', { partitions: 9 })).toEqual({
      status: 'exists',
      name: 'demo',
    });
    expect((await setup.admin.describeTopic('demo'))?.partitions).toHaveLength(3);
  });

  it.each([
    { name: 'an illegal name', topic: 'bad name', options: {}, message: /topic name is 1 to 249/ },
    { name: 'an empty name', topic: '', options: {}, message: /topic name/ },
    {
      name: '0 partitions',
      topic: 't',
      options: { partitions: 0 },
      message: /partitions must be an integer from 1 to 100/,
    },
    { name: '101 partitions', topic: 't', options: { partitions: 101 }, message: /from 1 to 100, got 101/ },
    {
      name: '1.5 partitions',
      topic: 't',
      options: { partitions: 1.5 },
      message: /partitions must be an integer/,
    },
    {
      name: 'retention of 90 minutes',
      topic: 't',
      options: { retentionMs: 5_400_000 },
      message: /whole number of hours/,
    },
    {
      name: 'retention of 31 days',
      topic: 't',
      options: { retentionMs: 31 * 24 * HOUR_MS },
      message: /1 h to 30 d/,
    },
    { name: 'retention of 0', topic: 't', options: { retentionMs: 0 }, message: /retention must be/ },
  ])('refuses $name with ERR_PAYLOAD_INVALID before sending', async ({ topic, options, message }) => {
    const setup = await start();

    const error = await thrown(() => setup.admin.createTopic(topic, options));

    expect(isAppError(error) && error.code).toBe('ERR_PAYLOAD_INVALID');
    expect(error.message).toMatch(message);
    expect(setup.fixture.server.requests).toEqual([]);
  });

  it('throws ERR_CONFIG without an admin API, sending nothing', async () => {
    const setup = await start({ withAdminApi: false });

    const error = await thrown(() => setup.admin.createTopic('orders'));

    expect(isAppError(error) && error.code).toBe('ERR_CONFIG');
    expect(error.message).toContain('KAFKA_ADMIN_URL');
    expect(setup.fixture.server.requests).toEqual([]);
  });

  it('turns any other 422 into ERR_UPSTREAM_STATUS with its errorMessage, the key redacted', async () => {
    const setup = await start();
    setup.fixture.server.inject({
      kind: 'status',
      status: 422,
      match: { method: 'POST', path: '/admin/topics' },
      body: { errorCode: 42299, errorMessage: `partition quota reached for key ${KEY}` },
    });

    const error = await thrown(() => setup.admin.createTopic('orders'));

    expect(isUpstreamError(error)).toBe(true);
    if (!isUpstreamError(error)) return;
    expect(error.code).toBe('ERR_UPSTREAM_STATUS');
    expect(error.status).toBe(422);
    expect(error.kafkaErrorCode).toBe(42299);
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('partition quota reached for key [redacted]');
    expect(`${error.message} ${error.bodySnippet}`).not.toContain(KEY);
  });
});

describe('answers that never end or never stop', () => {
  it('a trickling admin answer ends the call by its deadline', { timeout: 15_000 }, async () => {
    // Prepare: the request timeout (2 s) is below the time left, so only the exact timer per call stops it.
    const setup = await start({ admin: { requestTimeoutMs: 2_000, maxAttempts: 2 } });
    setup.fixture.server.inject({
      kind: 'trickle',
      intervalMs: 50,
      times: 10,
      match: { path: '/admin/topics' },
    });
    const deadlineMs = Date.now() + 2_600;

    // Act
    const error = await thrown(() => setup.admin.listTopics({ deadlineMs }));
    const lateMs = Date.now() - deadlineMs;

    // Assess
    expect(isAppError(error) && ['ERR_UPSTREAM_TIMEOUT', 'ERR_DEADLINE'].includes(error.code)).toBe(true);
    expect(lateMs).toBeLessThan(400);
  });

  it('an admin answer of 20 MB is refused unread with ERR_UPSTREAM_PROTOCOL', async () => {
    // Prepare
    const setup = await start();
    setup.fixture.server.inject({
      kind: 'oversized-answer',
      bytes: 20_000_000,
      match: { path: '/admin/topics' },
    });

    // Act
    const error = await thrown(() => setup.admin.listTopics());

    // Assess
    expect(isAppError(error) && error.code).toBe('ERR_UPSTREAM_PROTOCOL');
    expect(error.message).toMatch(/larger than the \d+ bytes/);
  });
});

describe('an echoed key straddling the 256-character cut', () => {
  it.each([
    { name: 'in the errorMessage', field: 'message' as const },
    { name: 'in the body snippet', field: 'bodySnippet' as const },
  ])('is redacted before it is cut: $name', async ({ field }) => {
    // Prepare: the key starts 8 characters before the cut, in the message and (so) in the raw body.
    const setup = await start();
    const prefix = 'x'.repeat(field === 'message' ? 248 : 248 - '{"errorCode":42299,"errorMessage":"'.length);
    setup.fixture.server.inject({
      kind: 'status',
      status: 422,
      match: { method: 'POST', path: '/admin/topics' },
      body: { errorCode: 42299, errorMessage: `${prefix}${KEY} and more` },
    });

    // Act
    const error = await thrown(() => setup.admin.createTopic('orders'));

    // Assess
    expect(isUpstreamError(error)).toBe(true);
    if (!isUpstreamError(error)) return;
    const shown = field === 'message' ? error.message : error.bodySnippet;
    expect(shown).toContain(`${prefix.slice(-8)}[redacted]`.slice(0, 16));
    expect(shown).not.toContain(KEY.slice(0, 6));
  });
});

describe('deleteTopic', () => {
  it('deletes (202) and the REST API stops serving the topic', async () => {
    const setup = await start();

    expect(await setup.admin.deleteTopic('demo')).toEqual({ status: 'accepted', name: 'demo' });
    expect(adminRequests(setup).map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /admin/topics/demo']);
    expect(await setup.admin.describeTopic('demo')).toBeUndefined();
  });

  it('reports an unknown topic as "not-found"', async () => {
    const setup = await start();

    expect(await setup.admin.deleteTopic('nope')).toEqual({ status: 'not-found', name: 'nope' });
  });
});

describe('retries and failures', () => {
  it.each([
    {
      name: 'a 429 on create, after its Retry-After',
      fault: { kind: 'throttle', retryAfterSeconds: 2, match: { method: 'POST' } },
      act: (admin: TopicAdmin) => admin.createTopic('orders'),
      sleeps: [2_000],
    },
    {
      name: 'a 503 on delete (not processed), after backoff',
      fault: { kind: 'status', status: 503, match: { method: 'DELETE' } },
      act: (admin: TopicAdmin) => admin.deleteTopic('demo'),
      sleeps: [100],
    },
    {
      name: 'a dropped connection on the admin list (a read)',
      fault: { kind: 'drop', match: { path: '/admin/topics', method: 'GET' } },
      act: (admin: TopicAdmin) => admin.listTopics(),
      sleeps: [100],
    },
  ] as const)('retries $name', async ({ fault, act, sleeps }) => {
    const setup = await start();
    setup.fixture.server.inject(fault);

    await act(setup.admin);

    expect(setup.sleeps).toEqual(sleeps);
    expect(adminRequests(setup)).toHaveLength(2);
  });

  it('never resends a create whose connection broke: it may have been processed', async () => {
    const setup = await start();
    setup.fixture.server.inject({ kind: 'drop', match: { method: 'POST' } });

    const error = await thrown(() => setup.admin.createTopic('orders'));

    expect(isAppError(error) && error.code).toBe('ERR_UPSTREAM_NETWORK');
    expect(error.message).toContain('may have been processed');
    expect(adminRequests(setup)).toHaveLength(1);
  });

  it('gives up after maxAttempts with the last status, marked retriable', async () => {
    const setup = await start({ admin: { maxAttempts: 3 } });
    setup.fixture.server.inject({ kind: 'status', status: 503, times: 5, match: { method: 'DELETE' } });

    const error = await thrown(() => setup.admin.deleteTopic('demo'));

    expect(isUpstreamError(error) && [error.code, error.status, error.retriable]).toEqual([
      'ERR_UPSTREAM_STATUS',
      503,
      true,
    ]);
    expect(adminRequests(setup)).toHaveLength(3);
  });

  it('times out a create that gets no answer, without resending it', async () => {
    const setup = await start({ admin: { requestTimeoutMs: 500 } });
    setup.fixture.server.inject({ kind: 'delay', ms: 3_000, match: { method: 'POST' } });

    const error = await thrown(() => setup.admin.createTopic('orders'));

    expect(isAppError(error) && error.code).toBe('ERR_UPSTREAM_TIMEOUT');
    expect(adminRequests(setup)).toHaveLength(1);
  });

  it('throws ERR_DEADLINE without sending when the deadline has passed', async () => {
    const setup = await start();

    const error = await thrown(() => setup.admin.deleteTopic('demo', { deadlineMs: Date.now() - 1 }));

    expect(isAppError(error) && error.code).toBe('ERR_DEADLINE');
    expect(setup.fixture.server.requests).toEqual([]);
  });
});

describe('credentials', () => {
  it('reads the key again once after a 401 (rotation) and succeeds with the new one', async () => {
    const setup = await start();
    setup.fixture.server.setApiKey('rotated-key-9876543210');
    let current = KEY;
    let refreshes = 0;
    const secret: SecretValue = {
      get: async () => current,
      refresh: async () => {
        refreshes++;
        current = 'rotated-key-9876543210';
        return current;
      },
    };
    const admin = createTopicAdmin({
      kafka: setup.fixture.client,
      adminUrl: setup.fixture.server.url,
      allowHttp: true,
      auth: apiKeyAuth(secret),
    });
    extraAdmins.push(admin);

    const outcome = await admin.createTopic('orders');

    expect(outcome.status).toBe('accepted');
    expect(refreshes).toBe(1);
    expect(adminRequests(setup).map((r) => r.headers['x-auth-token'])).toEqual([
      KEY,
      'rotated-key-9876543210',
    ]);
  });

  it('throws ERR_UPSTREAM_AUTH when the key is refused also after the refresh, never showing the key', async () => {
    const setup = await start({ admin: { auth: apiKeyAuth(literalSecret('not-the-key-0000000000')) } });

    const error = await thrown(() => setup.admin.deleteTopic('demo'));

    expect(isUpstreamError(error) && [error.code, error.status]).toEqual(['ERR_UPSTREAM_AUTH', 401]);
    expect(`${error.message} ${isUpstreamError(error) ? error.bodySnippet : ''}`).not.toContain(
      'not-the-key',
    );
    expect(adminRequests(setup)).toHaveLength(2);
  });

  it('throws ERR_SECRET when the credential cannot be read', async () => {
    const setup = await start({
      admin: {
        auth: apiKeyAuth({
          get: async () => {
            throw new Error('AccessDenied');
          },
          refresh: async () => '',
        }),
      },
    });

    const error = await thrown(() => setup.admin.createTopic('orders'));

    expect(isAppError(error) && error.code).toBe('ERR_SECRET');
    expect(setup.fixture.server.requests).toEqual([]);
  });
});

describe('construction', () => {
  it.each([
    {
      name: 'plain http without allowHttp',
      adminUrl: 'http://127.0.0.1:1',
      allowHttp: false,
      message: /https/,
    },
    { name: 'a relative URL', adminUrl: '/admin', allowHttp: true, message: /absolute URL/ },
  ])('refuses $name with ERR_CONFIG', async ({ adminUrl, allowHttp, message }) => {
    const setup = await start({ withAdminApi: false });

    const error = await thrown(async () =>
      createTopicAdmin({
        kafka: setup.fixture.client,
        adminUrl,
        allowHttp,
        auth: apiKeyAuth(literalSecret(KEY)),
      }),
    );

    expect(isAppError(error) && error.code).toBe('ERR_CONFIG');
    expect(error.message).toMatch(message);
  });

  it('keeps a path prefix of the admin URL', async () => {
    const setup = await start({ withAdminApi: false });
    const admin = createTopicAdmin({
      kafka: setup.fixture.client,
      adminUrl: `${setup.fixture.server.url}/mh/`,
      allowHttp: true,
      auth: apiKeyAuth(literalSecret(KEY)),
    });
    extraAdmins.push(admin);

    // The local server serves no prefix: 404 on delete reads as "not found", and the path shows the prefix.
    await admin.deleteTopic('demo');

    expect(setup.fixture.server.requests.map((r) => r.path)).toEqual(['/mh/admin/topics/demo']);
  });
});
