import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HttpSink, startHttpSink } from '../dev/http-sink.js';
import { createAwsClients } from '../lib/aws/sdk-clients.js';
import type { HttpSinkConfig } from '../lib/sinks/config.js';
import { createSink, type DeliveryOutcome, type SecretReader } from '../lib/sinks/index.js';
import { sinkRecord, TEST_NAMESPACE } from './helpers/aws-fakes.js';
import { createMemoryLog } from './helpers/log.js';

const record = (offset: number, value: string | null, overrides: Parameters<typeof sinkRecord>[2] = {}) =>
  sinkRecord(offset, value, { partition: 2, ...overrides });
/** The id {@link record} gives offset `offset` of partition 2. */
const idOf = (offset: number | string) => `${TEST_NAMESPACE}/orders/2/1/${offset}`;

const summary = (outcomes: DeliveryOutcome[]) =>
  outcomes.map((outcome) =>
    outcome.ok
      ? 'ok'
      : `${outcome.error.code}:${outcome.permanent ? 'permanent' : 'retriable'}${outcome.attempted === false ? ':not-attempted' : ''}`,
  );

const SIGNING_SECRET = 'sig-secret-do-not-log-4f1c';

describe('HTTP sink', () => {
  let server: HttpSink;
  const sinks: { close?(): Promise<void> }[] = [];
  const aws = createAwsClients({});
  let log: ReturnType<typeof createMemoryLog>;
  const deadline = () => ({ deadlineMs: Date.now() + 10_000 });

  beforeEach(async () => {
    server = await startHttpSink();
    log = createMemoryLog();
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((sink) => sink.close?.()));
    await server.close();
  });

  const httpSink = (
    overrides: Partial<HttpSinkConfig> = {},
    deps: { secrets?: SecretReader; now?: () => number } = {},
  ) => {
    const config: HttpSinkConfig = {
      type: 'http',
      url: new URL(`${server.url}/hooks/kafka?tenant=a`),
      mode: 'single',
      timeoutMs: 5_000,
      headers: {},
      allowHttp: true,
      contentType: 'application/octet-stream',
      maxBatchRecords: 100,
      maxBatchBytes: 1_000_000,
      connections: 2,
      retryStatuses: [],
      ...overrides,
    };
    const sink = createSink(config, {
      aws,
      log,
      now: deps.now ?? Date.now,
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
    });
    sinks.push(sink);
    return sink;
  };

  describe('single mode', () => {
    it('POSTs one request per record, in order, with coordinates and an Idempotency-Key', async () => {
      // Prepare
      const sink = httpSink({ headers: { 'x-api-key': 'static-key' } });
      const records = [
        record(10, 'first', { key: Buffer.from('user-1') }),
        record(11, '{"second":true}'),
        record(12, null, { key: Buffer.from([0xff]) }),
      ];

      // Act
      const outcomes = await sink.deliver(records, deadline());

      // Assess
      expect(summary(outcomes)).toEqual(['ok', 'ok', 'ok']);
      expect(
        server.received.map((r) => [
          r.method,
          r.path,
          r.headers['kafka-topic'],
          r.headers['kafka-partition'],
          r.headers['kafka-offset'],
          r.headers['kafka-key'],
          r.headers['kafka-value-null'],
          r.headers['idempotency-key'],
          r.headers['content-type'],
          r.headers['x-api-key'],
          r.body.toString(),
        ]),
      ).toEqual([
        [
          'POST',
          '/hooks/kafka?tenant=a',
          'orders',
          '2',
          '10',
          'dXNlci0x',
          undefined,
          idOf(10),
          'application/octet-stream',
          'static-key',
          'first',
        ],
        [
          'POST',
          '/hooks/kafka?tenant=a',
          'orders',
          '2',
          '11',
          undefined,
          undefined,
          idOf(11),
          'application/octet-stream',
          'static-key',
          '{"second":true}',
        ],
        [
          'POST',
          '/hooks/kafka?tenant=a',
          'orders',
          '2',
          '12',
          '/w==',
          'true',
          idOf(12),
          'application/octet-stream',
          'static-key',
          '',
        ],
      ]);
      expect(server.received.some((r) => 'x-signature' in r.headers)).toBe(false);
    });

    it('sends the raw value bytes untouched', async () => {
      // Prepare
      const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80]);

      // Act
      await httpSink().deliver([{ ...record(1, null), value: bytes }], deadline());

      // Assess
      expect(server.received.map((r) => r.body)).toEqual([bytes]);
    });

    it('stops at the first failure and reports the rest as not attempted', async () => {
      // Prepare
      server.inject({ kind: 'status', status: 200 });
      server.inject({ kind: 'status', status: 503, headers: { 'retry-after': '2' }, body: 'overloaded' });

      const sink = httpSink();

      // Act
      const outcomes = await sink.deliver(
        [1, 2, 3, 4].map((i) => record(i, `v${i}`)),
        deadline(),
      );

      // Assess
      expect(sink.ordered).toBe(true);
      expect(summary(outcomes)).toEqual([
        'ok',
        'ERR_SINK_FAILED:retriable',
        'ERR_SINK_FAILED:retriable:not-attempted',
        'ERR_SINK_FAILED:retriable:not-attempted',
      ]);
      const failure = outcomes[1];
      expect(failure?.ok === false && failure.retryAfterMs).toBe(2_000);
      expect(failure?.ok === false && failure.error).toMatchObject({
        status: 503,
        bodySnippet: 'overloaded',
      });
      expect(server.received.map((r) => [r.headers['kafka-offset'], r.status])).toEqual([
        ['1', 200],
        ['2', 503],
      ]);
    });

    it.each([
      { name: '500', status: 500, expected: 'ERR_SINK_FAILED:retriable' },
      { name: '502', status: 502, expected: 'ERR_SINK_FAILED:retriable' },
      { name: '503', status: 503, expected: 'ERR_SINK_FAILED:retriable' },
      { name: '408 request timeout', status: 408, expected: 'ERR_SINK_FAILED:retriable' },
      { name: '429 too many requests', status: 429, expected: 'ERR_SINK_FAILED:retriable' },
      { name: '400', status: 400, expected: 'ERR_SINK_REJECTED:permanent' },
      { name: '404', status: 404, expected: 'ERR_SINK_REJECTED:permanent' },
      { name: '413', status: 413, expected: 'ERR_SINK_REJECTED:permanent' },
      { name: '422', status: 422, expected: 'ERR_SINK_REJECTED:permanent' },
      { name: '401 (not in retryStatuses)', status: 401, expected: 'ERR_SINK_REJECTED:permanent' },
      {
        name: '401 listed in retryStatuses',
        status: 401,
        retryStatuses: [401],
        expected: 'ERR_SINK_FAILED:retriable',
      },
      { name: '302 (redirects are not followed)', status: 302, expected: 'ERR_SINK_FAILED:retriable' },
    ])('maps HTTP $name to $expected', async ({ status, expected, retryStatuses }) => {
      // Prepare
      server.inject({ kind: 'status', status });

      // Act
      const outcomes = await httpSink({ retryStatuses: retryStatuses ?? [] }).deliver(
        [record(1, 'v')],
        deadline(),
      );

      // Assess
      expect(summary(outcomes)).toEqual([expected]);
      expect(outcomes[0]?.ok === false && outcomes[0].error).toMatchObject({ status });
      expect(server.received).toHaveLength(1);
    });

    it.each([
      { name: 'delta seconds', retryAfter: '7', expected: 7_000 },
      { name: 'an HTTP date', retryAfter: 'Thu, 01 Jan 2037 00:00:30 GMT', expected: 30_000 },
      { name: 'a past HTTP date', retryAfter: 'Thu, 01 Jan 2037 00:00:00 GMT', expected: 0 },
      { name: 'garbage', retryAfter: 'soon', expected: undefined },
    ])('reads Retry-After given as $name', async ({ retryAfter, expected }) => {
      // Prepare: the sink's clock stands at 2037-01-01T00:00:00Z
      const start = Date.parse('2037-01-01T00:00:00Z');
      server.inject({ kind: 'status', status: 429, headers: { 'retry-after': retryAfter } });

      // Act
      const outcomes = await httpSink({}, { now: () => start }).deliver([record(1, 'v')], {
        deadlineMs: start + 10_000,
      });

      // Assess
      const [outcome] = outcomes;
      expect(outcome?.ok === false && outcome.retryAfterMs).toBe(expected);
    });

    it('gives up on a slow sink at the timeout (retriable) and delivers to one that is slow but in time', async () => {
      // Prepare
      server.inject({ kind: 'delay', ms: 3_000 });
      server.inject({ kind: 'delay', ms: 20 });
      const sink = httpSink({ timeoutMs: 500 });

      // Act
      const slow = await sink.deliver([record(1, 'a')], deadline());
      const inTime = await httpSink({ timeoutMs: 5_000 }).deliver([record(1, 'a')], deadline());

      // Assess
      expect(summary(slow)).toEqual(['ERR_UPSTREAM_TIMEOUT:retriable']);
      expect(summary(inTime)).toEqual(['ok']);
      expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual([idOf(1), idOf(1)]);
      expect(log.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
        expect.stringContaining('may have arrived'),
      ]);
    });

    it('bounds the request by the deadline when it is nearer than the timeout', async () => {
      // Prepare
      server.inject({ kind: 'delay', ms: 3_000 });

      // Act
      const outcomes = await httpSink({ timeoutMs: 60_000 }).deliver([record(1, 'a'), record(2, 'b')], {
        deadlineMs: Date.now() + 500,
      });

      // Assess
      expect(summary(outcomes)).toEqual([
        'ERR_UPSTREAM_TIMEOUT:retriable',
        'ERR_SINK_FAILED:retriable:not-attempted',
      ]);
      expect(server.received).toHaveLength(1);
    });

    it.each([
      {
        name: 'a 200 whose body trickles ends at the request timeout, delivered (the status decided)',
        status: 200,
        timeoutMs: 400,
        leftMs: 10_000,
        expected: 'ok',
      },
      {
        name: 'a 500 whose body trickles ends at the request timeout',
        status: 500,
        timeoutMs: 400,
        leftMs: 10_000,
        expected: 'ERR_SINK_FAILED:retriable',
      },
      {
        name: 'a 200 whose body trickles ends at the deadline when it comes before the timeout',
        status: 200,
        timeoutMs: 60_000,
        leftMs: 400,
        expected: 'ok',
      },
    ])('$name', async ({ status, timeoutMs, leftMs, expected }) => {
      // Prepare: undici's bodyTimeout is an idle timeout, which a byte every 100 ms never trips
      server.inject({ kind: 'trickle', status, intervalMs: 100 });
      const sink = httpSink({ timeoutMs });
      const started = Date.now();

      // Act
      const outcomes = await sink.deliver([record(1, 'a')], { deadlineMs: started + leftMs });

      // Assess
      const elapsedMs = Date.now() - started;
      expect(summary(outcomes)).toEqual([expected]);
      expect(elapsedMs).toBeGreaterThanOrEqual(350);
      expect(elapsedMs).toBeLessThan(1_500);
    });

    it('reports a dropped connection as a retriable network failure', async () => {
      // Prepare
      server.inject({ kind: 'drop' });

      // Act
      const outcomes = await httpSink().deliver([record(1, 'a')], deadline());

      // Assess
      expect(summary(outcomes)).toEqual(['ERR_UPSTREAM_NETWORK:retriable']);
      expect(server.received.map((r) => r.status)).toEqual([null]);
    });

    it('reports a refused connection as a retriable network failure', async () => {
      // Prepare: a port nothing listens on any more
      const gone = await startHttpSink();
      await gone.close();

      // Act
      const outcomes = await httpSink({ url: new URL(gone.url) }).deliver([record(1, 'a')], deadline());

      // Assess
      expect(summary(outcomes)).toEqual(['ERR_UPSTREAM_NETWORK:retriable']);
    });

    it('sends nothing once the deadline has passed', async () => {
      // Act
      const outcomes = await httpSink().deliver([record(1, 'a')], { deadlineMs: Date.now() - 1 });

      // Assess
      expect(summary(outcomes)).toEqual(['ERR_DEADLINE:retriable:not-attempted']);
      expect(server.received).toEqual([]);
    });
  });

  describe('batch mode', () => {
    it('POSTs one JSON array per request with the offset range as Idempotency-Key', async () => {
      // Prepare
      const records = [record(20, 'a', { key: Buffer.from('k') }), record(21, null), record(23, 'c')];

      // Act
      const outcomes = await httpSink({ mode: 'batch' }).deliver(records, deadline());

      // Assess
      expect(summary(outcomes)).toEqual(['ok', 'ok', 'ok']);
      expect(server.received).toHaveLength(1);
      const [request] = server.received;
      expect(request?.headers).toMatchObject({
        'content-type': 'application/json',
        'idempotency-key': idOf('20-23'),
        'kafka-topic': 'orders',
        'kafka-partition': '2',
        'kafka-offset': '20',
        'kafka-offset-last': '23',
        'kafka-record-count': '3',
      });
      expect(JSON.parse(request?.body.toString() ?? '')).toEqual([
        { id: idOf(20), topic: 'orders', partition: 2, offset: 20, key: 'aw==', value: 'YQ==' },
        { id: idOf(21), topic: 'orders', partition: 2, offset: 21, key: null, value: null },
        { id: idOf(23), topic: 'orders', partition: 2, offset: 23, key: null, value: 'Yw==' },
      ]);
    });

    it('splits at maxBatchBytes, at a change of partition and at a change of topic incarnation, in order', async () => {
      // Prepare: each item is ~120 bytes of JSON, so 260 bytes hold two
      const records = [
        record(1, 'aaaa'),
        record(2, 'bbbb'),
        record(3, 'cccc'),
        record(1, 'dddd', { partition: 3 }),
        record(0, 'eeee', { partition: 3, epoch: 2 }),
      ];

      // Act
      const outcomes = await httpSink({ mode: 'batch', maxBatchBytes: 260 }).deliver(records, deadline());

      // Assess
      expect(summary(outcomes)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual([
        idOf('1-2'),
        idOf('3-3'),
        `${TEST_NAMESPACE}/orders/3/1/1-1`,
        `${TEST_NAMESPACE}/orders/3/2/0-0`,
      ]);
      expect(server.received.every((r) => r.body.length <= 260)).toBe(true);
    });

    it('fails a whole request together and does not attempt the next ones', async () => {
      // Prepare
      server.inject({ kind: 'status', status: 500 });
      const records = [record(1, 'aaaa'), record(2, 'bbbb'), record(3, 'cccc')];

      const sink = httpSink({ mode: 'batch', maxBatchBytes: 260 });

      // Act
      const outcomes = await sink.deliver(records, deadline());

      // Assess
      expect(sink.ordered).toBe(true);
      expect(summary(outcomes)).toEqual([
        'ERR_SINK_FAILED:retriable',
        'ERR_SINK_FAILED:retriable',
        'ERR_SINK_FAILED:retriable:not-attempted',
      ]);
      expect(server.received.map((r) => [r.headers['idempotency-key'], r.status])).toEqual([
        [idOf('1-2'), 500],
      ]);
    });

    it('rejects a whole request for good on a 4xx', async () => {
      // Prepare
      server.inject({ kind: 'status', status: 422 });

      // Act
      const outcomes = await httpSink({ mode: 'batch' }).deliver(
        [record(1, 'a'), record(2, 'b')],
        deadline(),
      );

      // Assess
      expect(summary(outcomes)).toEqual(['ERR_SINK_REJECTED:permanent', 'ERR_SINK_REJECTED:permanent']);
      expect(server.received).toHaveLength(1);
    });
  });

  describe('signing', () => {
    const secrets = (value: string): SecretReader & { ids: string[] } => {
      const ids: string[] = [];
      return {
        ids,
        get: async (id) => {
          ids.push(id);
          return value;
        },
      };
    };

    it.each([
      { name: 'single', mode: 'single' as const },
      { name: 'batch', mode: 'batch' as const },
    ])('signs each $name request with an HMAC of timestamp.body', async ({ mode }) => {
      // Prepare
      const clock = Date.parse('2030-05-01T12:00:00.750Z');
      const reader = secrets(SIGNING_SECRET);
      const sink = httpSink({ mode, signingSecretId: 'sink/signing' }, { secrets: reader, now: () => clock });

      // Act
      const outcomes = await sink.deliver([record(1, 'hello'), record(2, 'world')], {
        deadlineMs: clock + 10_000,
      });

      // Assess
      expect(summary(outcomes)).toEqual(['ok', 'ok']);
      expect(reader.ids.every((id) => id === 'sink/signing')).toBe(true);
      expect(server.received.length).toBe(mode === 'single' ? 2 : 1);
      for (const request of server.received) {
        const timestamp = request.headers['x-signature-timestamp'];
        expect(timestamp).toBe(String(Math.floor(clock / 1_000)));
        const expected = createHmac('sha256', SIGNING_SECRET)
          .update(`${timestamp}.`)
          .update(request.body)
          .digest('hex');
        expect(request.headers['x-signature']).toBe(`sha256=${expected}`);
      }
      expect(log.text()).not.toContain(SIGNING_SECRET);
      expect(JSON.stringify(server.received.map((r) => r.headers))).not.toContain(SIGNING_SECRET);
    });

    it('sends nothing when the signing secret cannot be read, and keeps it out of the error', async () => {
      // Prepare
      const failing: SecretReader = {
        get: async () => {
          throw new Error('AccessDeniedException');
        },
      };

      // Act
      const outcomes = await httpSink({ signingSecretId: 'sink/signing' }, { secrets: failing }).deliver(
        [record(1, 'a'), record(2, 'b')],
        deadline(),
      );

      // Assess
      expect(summary(outcomes)).toEqual([
        'ERR_SECRET:retriable:not-attempted',
        'ERR_SINK_FAILED:retriable:not-attempted',
      ]);
      expect(server.received).toEqual([]);
    });

    it('refuses to be created for signing without a secrets reader', () => {
      // Act + Assess
      expect(() => httpSink({ signingSecretId: 'sink/signing' })).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG' }),
      );
    });

    it('never puts the secret into an error outcome', async () => {
      // Prepare
      server.inject({ kind: 'status', status: 401, body: 'bad signature' });

      // Act
      const outcomes = await httpSink(
        { signingSecretId: 'sink/signing' },
        { secrets: secrets(SIGNING_SECRET) },
      ).deliver([record(1, 'a')], deadline());

      // Assess
      expect(summary(outcomes)).toEqual(['ERR_SINK_REJECTED:permanent']);
      const error = outcomes[0]?.ok === false ? outcomes[0].error : undefined;
      expect(JSON.stringify({ message: error?.message, ...error })).not.toContain(SIGNING_SECRET);
    });
  });
});

describe('HTTP sink answers', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A sink aimed at a raw local server answering with `handler`. */
  const sinkFor = async (
    handler: Handler,
    overrides: Partial<HttpSinkConfig> = {},
    deps: { secrets?: SecretReader } = {},
  ) => {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as AddressInfo;
    const sink = createSink(
      {
        type: 'http',
        url: new URL(`http://127.0.0.1:${port}/in`),
        mode: 'single',
        timeoutMs: 5_000,
        headers: {},
        allowHttp: true,
        contentType: 'application/octet-stream',
        maxBatchRecords: 100,
        maxBatchBytes: 1_000_000,
        connections: 1,
        retryStatuses: [],
        ...overrides,
      },
      { aws: createAwsClients({}), log: createMemoryLog(), now: Date.now, ...deps },
    );
    cleanups.push(async () => sink.close?.());
    return sink;
  };

  it('counts a 2xx with a huge body as delivered without reading it all', async () => {
    // Prepare: a 50 MB answer, written as fast as the client takes it
    let written = 0;
    let finished = false;
    const sink = await sinkFor((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 50_000_000 });
      const chunk = Buffer.alloc(65_536, 1);
      const pump = () => {
        while (written < 50_000_000 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return;
        }
        if (!res.destroyed) res.end(() => (finished = true));
      };
      res.on('drain', pump);
      pump();
    });

    // Act
    const outcomes = await sink.deliver([record(1, 'a')], { deadlineMs: Date.now() + 10_000 });

    // Assess
    expect(summary(outcomes)).toEqual(['ok']);
    expect(finished).toBe(false);
    expect(written).toBeLessThan(10_000_000);
  });

  const longKey = `k-${'5e21c0a9'.repeat(625)}`;
  it.each([
    {
      name: 'across the 256-character cut',
      header: `tok-${'9f3b'.repeat(12)}`,
      body: (value: string) => `${'x'.repeat(235)} X-Auth-Token: ${value} trailing`,
      snippet: `${'x'.repeat(235)} X-Auth-Token: [redac`,
    },
    {
      // 5,003 characters per copy: the 14th is cut by the 64 KiB read limit, and since every whole copy
      // shrinks to [redacted], its head would land inside the 256 characters kept.
      name: 'across the 64 KiB read limit',
      header: longKey,
      body: (value: string) => `${value} `.repeat(14),
      snippet: '[redacted] '.repeat(13),
    },
  ])(
    'redacts an echoed credential header before cutting the error body ($name)',
    async ({ header, body, snippet }) => {
      // Prepare
      const sink = await sinkFor(
        (req, res) => {
          req.resume();
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(body(String(req.headers['x-auth-token'])));
        },
        { headers: { 'x-auth-token': header } },
      );

      // Act
      const [outcome] = await sink.deliver([record(0, 'x')], { deadlineMs: Date.now() + 5_000 });

      // Assess
      const error = outcome?.ok === false ? (outcome.error as { bodySnippet?: string }) : undefined;
      expect(error?.bodySnippet).toBe(snippet);
      expect(JSON.stringify(outcome)).not.toContain(header.slice(0, 6));
    },
  );

  it('sends nothing once the deadline passes while the signing secret is still being read', async () => {
    // Prepare: a secrets read that never answers
    let requests = 0;
    const sink = await sinkFor(
      (req, res) => {
        requests += 1;
        req.resume();
        res.end('ok');
      },
      { signingSecretId: 'sink/signing' },
      { secrets: { get: () => new Promise<string>(() => undefined) } },
    );
    const started = Date.now();

    // Act
    const outcomes = await sink.deliver([record(0, 'x'), record(1, 'y')], { deadlineMs: started + 300 });

    // Assess
    expect(summary(outcomes)).toEqual([
      'ERR_DEADLINE:retriable:not-attempted',
      'ERR_SINK_FAILED:retriable:not-attempted',
    ]);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(requests).toBe(0);
  });
});
