import { describe, expect, it } from 'vitest';
import type { RawReply } from '../dev/kafka-rest/raw-client.js';
import { b64 } from '../dev/kafka-rest/raw-client.js';
import type { KafkaRestServerOptions } from '../dev/kafka-rest/server.js';
import { startKafkaRestServer } from '../dev/kafka-rest/server.js';
import { json, localServerHarness } from './helpers/local-server.js';

const BINARY_V1 = 'application/vnd.kafka.binary.v1+json';
const V2 = 'application/vnd.kafka.v2+json';
const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
const V2_CONTROL = { 'content-type': V2, accept: V2 };
const JSON_TYPE = 'application/json';
const V3_RECORDS = '/v3/clusters/local-cluster/topics/demo/records';

// A password with a colon of its own: only the first colon ends the user id (RFC 7617).
const USER_PASSWORD = 'svc-bridge:p@ss:w0rd';
const API_KEY = 'k-3f9a2c71e0b84d5e9a1c6b2d8f047e53';
const basic = (userPassword: string): string => `Basic ${b64(userPassword)}`;

const { start, call, tempDir } = localServerHarness({ topics: { demo: 1 } });

/** Concatenated JSON objects, no array and no commas (protocol doc §7). */
const stream = (...records: unknown[]): string => records.map((r) => JSON.stringify(r)).join('\n');

/** One record to partition 0 of `demo` through each API; every one of them passes the same gate. */
const PRODUCE_APIS = [
  {
    api: 'v1',
    path: '/topics/demo/partitions/0',
    headers: { 'content-type': BINARY_V1 },
    body: JSON.stringify({ records: [{ value: b64('x') }] }),
  },
  {
    api: 'v2',
    path: '/topics/demo/partitions/0',
    headers: { 'content-type': BINARY_V2, accept: V2 },
    body: JSON.stringify({ records: [{ value: b64('x') }] }),
  },
  {
    api: 'v3',
    path: V3_RECORDS,
    headers: { 'content-type': JSON_TYPE },
    body: stream({ partition_id: 0, value: { type: 'BINARY', data: b64('x') } }),
  },
] as const;

type ProduceApi = (typeof PRODUCE_APIS)[number];

const produceWith = (api: ProduceApi, credentials: Record<string, string>): Promise<RawReply> =>
  call('POST', api.path, { headers: { ...api.headers, ...credentials }, body: api.body });

describe.each(PRODUCE_APIS)(
  'HTTP Basic on $api produce (Confluent Cloud key:secret, Redpanda SCRAM)',
  (api) => {
    it.each([
      { name: 'the credential', headers: { authorization: basic(USER_PASSWORD) } },
      {
        name: 'a lower-case scheme and extra spaces',
        headers: { authorization: `basic   ${b64(USER_PASSWORD)}` },
      },
    ])('accepts $name', async ({ headers }) => {
      // Prepare
      const s = await start({ basicAuth: USER_PASSWORD });

      // Act
      const reply = await produceWith(api, headers);

      // Assess
      expect(reply.status).toBe(200);
      expect(s.records('demo', 0)).toHaveLength(1);
    });

    it.each([
      { name: 'no header', headers: {} },
      { name: 'a wrong password', headers: { authorization: basic('svc-bridge:wrong') } },
      { name: 'the password with a suffix', headers: { authorization: basic(`${USER_PASSWORD}x`) } },
      { name: 'another user', headers: { authorization: basic('other:p@ss:w0rd') } },
      { name: 'a credential that is not base64', headers: { authorization: `Basic ${USER_PASSWORD}` } },
      { name: 'base64 without the scheme', headers: { authorization: b64(USER_PASSWORD) } },
      { name: 'a Bearer token', headers: { authorization: `Bearer ${b64(USER_PASSWORD)}` } },
      { name: 'the scheme alone', headers: { authorization: 'Basic' } },
      { name: 'the credential as X-Auth-Token', headers: { 'x-auth-token': USER_PASSWORD } },
    ])(
      'refuses $name with the same 401/40101, never echoing the credential, nothing written',
      async ({ headers }) => {
        // Prepare
        const s = await start({ basicAuth: USER_PASSWORD });

        // Act
        const reply = await produceWith(api, headers);

        // Assess
        expect(reply.status).toBe(401);
        expect(json(reply)).toEqual({
          error_code: 40101,
          message: 'Unauthorized: a valid HTTP Basic Authorization header is required',
        });
        expect(reply.text).not.toContain('p@ss');
        expect(reply.text).not.toContain(b64(USER_PASSWORD));
        expect(s.records('demo', 0)).toEqual([]);
      },
    );

    it('rotates with setBasicAuth: the old credential is refused, the new one accepted; undefined opens the server', async () => {
      // Prepare
      const s = await start({ basicAuth: USER_PASSWORD });

      // Act
      s.setBasicAuth('svc-bridge:rotated');
      const oldCredential = await produceWith(api, { authorization: basic(USER_PASSWORD) });
      const newCredential = await produceWith(api, { authorization: basic('svc-bridge:rotated') });
      s.setBasicAuth(undefined);
      const none = await produceWith(api, {});

      // Assess
      expect([oldCredential.status, newCredential.status, none.status]).toEqual([401, 200, 200]);
      expect(s.records('demo', 0)).toHaveLength(2);
    });
  },
);

describe.each(PRODUCE_APIS)(
  'X-Auth-Token and HTTP Basic together on $api: each is accepted on its own',
  (api) => {
    it.each([
      { name: 'the API key alone', headers: { 'x-auth-token': API_KEY }, status: 200 },
      { name: 'Basic alone', headers: { authorization: basic(USER_PASSWORD) }, status: 200 },
      {
        name: 'a wrong API key with the right Basic',
        headers: { 'x-auth-token': 'wrong', authorization: basic(USER_PASSWORD) },
        status: 200,
      },
      {
        name: 'the right API key with a wrong Basic',
        headers: { 'x-auth-token': API_KEY, authorization: basic('svc-bridge:wrong') },
        status: 200,
      },
      { name: 'neither', headers: {}, status: 401 },
      {
        name: 'both wrong',
        headers: { 'x-auth-token': 'wrong', authorization: basic('svc-bridge:wrong') },
        status: 401,
      },
    ])('$name → $status', async ({ headers, status }) => {
      // Prepare
      const s = await start({ apiKey: API_KEY, basicAuth: USER_PASSWORD });

      // Act
      const reply = await produceWith(api, headers);

      // Assess
      expect(reply.status).toBe(status);
      expect(s.records('demo', 0)).toHaveLength(status === 200 ? 1 : 0);
      if (status === 401) {
        expect(json(reply)).toEqual({
          error_code: 40101,
          message: 'Unauthorized: a valid X-Auth-Token header or HTTP Basic Authorization header is required',
        });
      }
    });

    it('dropping one credential leaves the other required; dropping both opens the server', async () => {
      // Prepare
      const s = await start({ apiKey: API_KEY, basicAuth: USER_PASSWORD });

      // Act
      s.setBasicAuth(undefined);
      const basicAfterDrop = await produceWith(api, { authorization: basic(USER_PASSWORD) });
      const keyAfterDrop = await produceWith(api, { 'x-auth-token': API_KEY });
      s.setApiKey(undefined);
      const open = await produceWith(api, {});

      // Assess
      expect([basicAfterDrop.status, keyAfterDrop.status, open.status]).toEqual([401, 200, 200]);
    });
  },
);

describe('HTTP Basic options', () => {
  it('an API key alone does not accept Basic credentials, and says what it wants', async () => {
    // Prepare
    await start({ apiKey: API_KEY });

    // Act
    const reply = await call('GET', '/topics', { headers: { authorization: basic(USER_PASSWORD) } });

    // Assess
    expect(reply.status).toBe(401);
    expect(json(reply)).toEqual({
      error_code: 40101,
      message: 'Unauthorized: a valid X-Auth-Token header is required',
    });
  });

  it.each([
    { name: 'an empty credential', basicAuth: '' },
    { name: 'a credential without a colon', basicAuth: 'no-colon-secret' },
    { name: 'a non-string', basicAuth: 42 },
  ])('rejects $name without echoing it', async ({ basicAuth }) => {
    // Act
    const error = await startKafkaRestServer({ basicAuth } as unknown as KafkaRestServerOptions).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringContaining('basicAuth must be a user:password string'),
    });
    expect((error as Error).message).not.toContain('no-colon-secret');
  });

  it('setBasicAuth refuses a credential without a colon and keeps the one it had', async () => {
    // Prepare
    const s = await start({ basicAuth: USER_PASSWORD });

    // Act
    const rotate = () => s.setBasicAuth('no-colon-secret');
    const after = await call('GET', '/topics', { headers: { authorization: basic(USER_PASSWORD) } });

    // Assess
    expect(rotate).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG',
        message: expect.not.stringContaining('no-colon-secret'),
      }),
    );
    expect(after.status).toBe(200);
  });
});

describe('v3 record headers (protocol doc §7)', () => {
  const RECORD_WITH_HEADERS = {
    partition_id: 0,
    value: { type: 'BINARY', data: b64('with') },
    headers: [
      { name: 'trace', value: b64('t-1') },
      { name: 'tenant', value: null },
      { name: 'trace', value: b64('t-2') },
      { name: 'flag' },
      { name: 'empty', value: '' },
    ],
  };
  const STORED_HEADERS = [
    { name: 'trace', value: Buffer.from('t-1') },
    { name: 'tenant', value: null },
    { name: 'trace', value: Buffer.from('t-2') },
    { name: 'flag', value: null },
    { name: 'empty', value: Buffer.alloc(0) },
  ];

  it('keeps them in order, repeated names and null values included; a record without any has no headers', async () => {
    // Prepare
    const s = await start();

    // Act
    const reply = await call('POST', V3_RECORDS, {
      headers: { 'content-type': JSON_TYPE },
      body: stream(
        RECORD_WITH_HEADERS,
        { partition_id: 0, value: { type: 'BINARY', data: b64('plain') } },
        { partition_id: 0, value: { type: 'BINARY', data: b64('empty list') }, headers: [] },
      ),
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(s.records('demo', 0)).toStrictEqual([
      { offset: 0, key: null, value: Buffer.from('with'), headers: STORED_HEADERS },
      { offset: 1, key: null, value: Buffer.from('plain') },
      { offset: 2, key: null, value: Buffer.from('empty list') },
    ]);
  });

  it('v1 and v2 reads show the record without its headers (their record shapes have no field for them)', async () => {
    // Prepare
    await start({ emptyReadsAfterSeek: 0 });
    await call('POST', V3_RECORDS, {
      headers: { 'content-type': JSON_TYPE },
      body: stream(RECORD_WITH_HEADERS),
    });
    await call('POST', '/consumers/g', {
      headers: V2_CONTROL,
      body: { name: 'c', 'auto.offset.reset': 'earliest' },
    });
    await call('POST', '/consumers/g/instances/c/assignments', {
      headers: V2_CONTROL,
      body: { partitions: [{ topic: 'demo', partition: 0 }] },
    });

    // Act
    const v1 = await call('GET', '/topics/demo/partitions/0/messages?offset=0', {
      headers: { accept: BINARY_V1 },
    });
    const v2 = await call('GET', '/consumers/g/instances/c/records', { headers: { accept: BINARY_V2 } });

    // Assess
    expect(json(v1)).toEqual([{ key: null, value: b64('with'), partition: 0, offset: 0 }]);
    expect(json(v2)).toEqual([{ topic: 'demo', key: null, value: b64('with'), partition: 0, offset: 0 }]);
  });

  it('survive a restart from the data directory, also after retention rewrote the file', async () => {
    // Prepare
    const dataDir = tempDir();
    const first = await start({ dataDir });
    const oddNames = {
      partition_id: 0,
      headers: [
        { name: 'quote " and \\ backslash', value: b64('q') },
        { name: 'line\nbreak, ünïcödé', value: null },
      ],
    };
    await call('POST', V3_RECORDS, {
      headers: { 'content-type': JSON_TYPE },
      body: stream({ partition_id: 0 }, RECORD_WITH_HEADERS, { partition_id: 0 }),
    });
    first.truncateBefore('demo', 0, 1);
    await call('POST', V3_RECORDS, { headers: { 'content-type': JSON_TYPE }, body: stream(oddNames) });
    await first.close();

    // Act
    const second = await start({ dataDir });

    // Assess
    expect(second.records('demo', 0)).toStrictEqual([
      { offset: 1, key: null, value: Buffer.from('with'), headers: STORED_HEADERS },
      { offset: 2, key: null, value: null },
      {
        offset: 3,
        key: null,
        value: null,
        headers: [
          { name: 'quote " and \\ backslash', value: Buffer.from('q') },
          { name: 'line\nbreak, ünïcödé', value: null },
        ],
      },
    ]);
  });
});

describe('the unassign fault: a v2 instance loses its assignment (409/40903 on the next seek, §6)', () => {
  const DEMO_0 = [{ topic: 'demo', partition: 0 }];

  const createAssigned = async (name: string): Promise<string> => {
    await call('POST', '/consumers/g', {
      headers: V2_CONTROL,
      body: { name, 'auto.offset.reset': 'earliest' },
    });
    const base = `/consumers/g/instances/${name}`;
    const assigned = await call('POST', `${base}/assignments`, {
      headers: V2_CONTROL,
      body: { partitions: DEMO_0 },
    });
    expect(assigned.status).toBe(204);
    return base;
  };

  const seek = (base: string, offset: number) =>
    call('POST', `${base}/positions`, {
      headers: V2_CONTROL,
      body: { offsets: [{ topic: 'demo', partition: 0, offset }] },
    });

  const readValues = async (base: string): Promise<string[]> => {
    const reply = await call('GET', `${base}/records`, { headers: { accept: BINARY_V2 } });
    expect(reply.status).toBe(200);
    return (json(reply) as { value: string }[]).map((r) => Buffer.from(r.value, 'base64').toString());
  };

  it('the next seek answers 409/40903; assigning again and seeking reads on', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    s.append('demo', 0, [
      { value: Buffer.from('a') },
      { value: Buffer.from('b') },
      { value: Buffer.from('c') },
    ]);
    const base = await createAssigned('c1');
    s.inject({ kind: 'unassign', match: { method: 'POST', path: `${base}/positions` } });

    // Act
    const lost = await seek(base, 1);
    const assignment = await call('GET', `${base}/assignments`, { headers: { accept: V2 } });
    const reassigned = await call('POST', `${base}/assignments`, {
      headers: V2_CONTROL,
      body: { partitions: DEMO_0 },
    });
    const seeked = await seek(base, 1);
    const values = await readValues(base);

    // Assess
    expect(lost.status).toBe(409);
    expect(json(lost)).toEqual({
      error_code: 40903,
      message: 'Illegal state: No current assignment for partition demo-0',
    });
    expect(json(assignment)).toEqual({ partitions: [] });
    expect(reassigned.status).toBe(204);
    expect(seeked.status).toBe(204);
    expect(values).toEqual(['b', 'c']);
  });

  it('a read of the unassigned instance answers [] although records wait, and loses the position too', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    s.append('demo', 0, [{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
    const base = await createAssigned('c1');
    expect(await readValues(base)).toEqual(['a', 'b']);
    s.inject({ kind: 'unassign', match: { path: `${base}/records` } });

    // Act
    const whileUnassigned = await readValues(base);
    await call('POST', `${base}/assignments`, { headers: V2_CONTROL, body: { partitions: DEMO_0 } });
    // No commit and no position: the reset policy (earliest) decides again.
    const afterReassign = await readValues(base);

    // Assess
    expect(whileUnassigned).toEqual([]);
    expect(afterReassign).toEqual(['a', 'b']);
  });

  it('only the addressed instance loses its partitions, and `times` counts the requests it hits', async () => {
    // Prepare
    const s = await start();
    const hit = await createAssigned('hit');
    const spared = await createAssigned('spared');
    s.inject({ kind: 'unassign', times: 2, match: { path: `${hit}/positions` } });

    // Act
    const first = await seek(hit, 0);
    await call('POST', `${hit}/assignments`, { headers: V2_CONTROL, body: { partitions: DEMO_0 } });
    const second = await seek(hit, 0);
    await call('POST', `${hit}/assignments`, { headers: V2_CONTROL, body: { partitions: DEMO_0 } });
    const third = await seek(hit, 0);
    const other = await seek(spared, 0);

    // Assess
    expect([first.status, second.status, third.status]).toEqual([409, 409, 204]);
    expect(other.status).toBe(204);
  });

  it('a request addressing no v2 instance takes the fault and changes nothing', async () => {
    // Prepare
    const s = await start();
    const base = await createAssigned('c1');
    await call('POST', '/consumers/old', { headers: { 'content-type': BINARY_V1 }, body: { id: 'v1' } });
    s.inject({ kind: 'unassign', times: 2 });

    // Act
    const topics = await call('GET', '/topics');
    const v1Read = await call('GET', '/consumers/old/instances/v1/topics/demo', {
      headers: { accept: BINARY_V1 },
    });
    const seeked = await seek(base, 0);

    // Assess
    expect(topics.status).toBe(200);
    expect(v1Read.status).toBe(200);
    expect(seeked.status).toBe(204);
  });

  it('a subscribed instance rejoins at its next read', async () => {
    // Prepare
    const s = await start({ emptyReadsAfterSeek: 0 });
    s.append('demo', 0, [{ value: Buffer.from('a') }]);
    await call('POST', '/consumers/g', {
      headers: V2_CONTROL,
      body: { name: 's', 'auto.offset.reset': 'earliest' },
    });
    const base = '/consumers/g/instances/s';
    await call('POST', `${base}/subscription`, { headers: V2_CONTROL, body: { topics: ['demo'] } });
    expect(await readValues(base)).toEqual(['a']);
    s.inject({ kind: 'unassign', match: { path: `${base}/positions` } });

    // Act
    const lost = await seek(base, 0);
    const rejoined = await readValues(base);

    // Assess
    expect(lost.status).toBe(409);
    expect((json(lost) as { error_code: number }).error_code).toBe(40903);
    // Nothing was committed, so the rejoined instance starts over from the reset policy.
    expect(rejoined).toEqual(['a']);
  });

  it('is validated like every fault', async () => {
    // Prepare
    const s = await start();

    // Act / Assess
    expect(() => s.inject({ kind: 'unassign', times: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });
});
