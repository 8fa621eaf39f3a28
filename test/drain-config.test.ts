import { describe, expect, it } from 'vitest';
import { DRAIN_DEFAULTS } from '../lib/drain/config.js';
import { loadConfig } from '../lib/wiring/settings/all.js';
import { parseDrainsConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';

const SINK = { type: 'http', url: 'https://sink.example.com/in' };
const DLQ = { queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/drain-dlq' };

const parse = (env: Record<string, string>) => {
  const read = createEnvReader(env);
  const config = parseDrainsConfig(read);
  return { config, problems: read.problems };
};
const drains = (value: unknown, extra: Record<string, string> = {}) =>
  parse({ DRAINS: JSON.stringify(value), CHECKPOINT_TABLE: 'checkpoints', ...extra });

describe('parseDrainsConfig', () => {
  it('is empty and problem-free when no drain is configured', () => {
    const { config, problems } = parse({});

    expect(problems).toEqual([]);
    expect(config).toEqual({
      drains: [],
      checkpointTable: undefined,
      dynamodbEndpoint: undefined,
      sqsEndpoint: undefined,
      eventBridgeEndpoint: undefined,
      leaseMs: DRAIN_DEFAULTS.leaseMs,
      maxConcurrentPartitions: DRAIN_DEFAULTS.maxConcurrentPartitions,
    });
  });

  it('writes every default out', () => {
    const { config, problems } = drains([{ id: 'orders-out', topic: 'orders', sink: SINK }]);

    expect(problems).toEqual([]);
    expect(config.drains).toEqual([
      {
        id: 'orders-out',
        topic: 'orders',
        partitions: 'all',
        sink: expect.objectContaining({ type: 'http', mode: 'single' }),
        dlq: undefined,
        batchSize: 100,
        maxAttempts: 5,
        resetPolicy: 'earliest',
        startFrom: 'earliest',
        retryBaseMs: 200,
        retryMaxMs: 10_000,
        commitIntervalMs: 0,
        idNamespace: 'default',
        ordering: 'partition',
        maxInFlight: 1,
      },
    ]);
    expect(config.checkpointTable).toBe('checkpoints');
  });

  it('reads the key order, its parallelism and the rate limits, and refuses parallelism in partition order', () => {
    const keyed = drains([
      {
        id: 'a',
        topic: 't',
        sink: SINK,
        ordering: 'key',
        maxInFlight: 32,
        maxRecordsPerSecond: 500,
        maxConcurrentRequests: 8,
      },
    ]);
    expect(keyed.problems).toEqual([]);
    expect(keyed.config.drains[0]).toEqual(
      expect.objectContaining({
        ordering: 'key',
        maxInFlight: 32,
        maxRecordsPerSecond: 500,
        maxConcurrentRequests: 8,
      }),
    );

    expect(drains([{ id: 'a', topic: 't', sink: SINK, maxInFlight: 4 }]).problems).toEqual([
      'DRAINS[0].maxInFlight above 1 needs "ordering": "key" (in partition order each record waits for the one before it)',
    ]);
    expect(
      drains([
        { id: 'a', topic: 't', sink: SINK, ordering: 'offset', maxInFlight: 0, maxRecordsPerSecond: 0 },
      ]).problems,
    ).toEqual([
      'DRAINS[0].ordering must be one of "partition" | "key"',
      'DRAINS[0].maxInFlight must be an integer from 1 to 256',
      'DRAINS[0].maxRecordsPerSecond must be an integer from 1 to 1000000',
    ]);
  });

  it('groups a FIFO sink queue by the drain order', () => {
    const fifo = { type: 'sqs', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/out.fifo' };
    const byKey = drains([{ id: 'a', topic: 't', sink: fifo, ordering: 'key', maxInFlight: 4 }]);
    const byPartition = drains([{ id: 'a', topic: 't', sink: fifo }]);
    expect(byKey.config.drains[0]?.sink).toEqual(expect.objectContaining({ fifo: true, groupBy: 'key' }));
    expect(byPartition.config.drains[0]?.sink).toEqual(
      expect.objectContaining({ fifo: true, groupBy: 'partition' }),
    );
  });

  it('gives an HTTP sink a connection per call in flight unless its spec sets connections', () => {
    const http = { type: 'http', url: 'https://sink.example.com/in' };
    const connectionsOf = (sink: object, extra: object = {}) => {
      const drain = drains([{ id: 'a', topic: 't', sink, ...extra }]).config.drains[0];
      return drain?.sink.type === 'http' ? drain.sink.connections : undefined;
    };
    expect(connectionsOf(http)).toBe(4);
    expect(connectionsOf(http, { ordering: 'key', maxInFlight: 32 })).toBe(32);
    expect(connectionsOf(http, { ordering: 'key', maxInFlight: 2 })).toBe(4);
    expect(connectionsOf({ ...http, connections: 8 }, { ordering: 'key', maxInFlight: 32 })).toBe(8);
  });

  it('uses the stack DLQ for a drain that asks for it, and says so when the stack has none', () => {
    const spec = [{ id: 'a', topic: 't', sink: SINK, dlq: 'stack' }];
    const withStack = drains(spec, { DRAIN_DLQ_URL: DLQ.queueUrl });
    expect(withStack.problems).toEqual([]);
    expect(withStack.config.drains[0]?.dlq).toEqual(expect.objectContaining({ queueUrl: DLQ.queueUrl }));

    expect(drains(spec).problems).toEqual([
      'DRAINS[0].dlq is "stack" but DRAIN_DLQ_URL (the stack\'s drain DLQ) is not set',
    ]);
  });

  it('reads every setting', () => {
    const { config, problems } = drains(
      [
        {
          id: 'a',
          topic: 'orders',
          partitions: [3, 0, 1],
          sink: SINK,
          dlq: DLQ,
          batchSize: 50,
          maxAttempts: 2,
          resetPolicy: 'fail',
          startFrom: 'latest',
          retryBaseMs: 10,
          retryMaxMs: 20,
          commitIntervalMs: 1_000,
          idNamespace: 'orders-svc.prod',
        },
      ],
      {
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567',
        SQS_ENDPOINT: 'http://127.0.0.1:4568',
        EVENTBRIDGE_ENDPOINT: 'http://127.0.0.1:4569',
        DRAIN_LEASE_MS: '30000',
        DRAIN_CONCURRENCY: '4',
      },
    );

    expect(problems).toEqual([]);
    expect(config.drains[0]).toMatchObject({
      partitions: [0, 1, 3],
      dlq: { queueUrl: DLQ.queueUrl, fifo: false },
      batchSize: 50,
      maxAttempts: 2,
      resetPolicy: 'fail',
      startFrom: 'latest',
      retryBaseMs: 10,
      retryMaxMs: 20,
      commitIntervalMs: 1_000,
      idNamespace: 'orders-svc.prod',
    });
    expect(config.dynamodbEndpoint?.href).toBe('http://127.0.0.1:4567/');
    expect(config.sqsEndpoint?.href).toBe('http://127.0.0.1:4568/');
    expect(config.eventBridgeEndpoint?.href).toBe('http://127.0.0.1:4569/');
    expect(config.leaseMs).toBe(30_000);
    expect(config.maxConcurrentPartitions).toBe(4);
  });

  it('gives every drain DRAIN_ID_NAMESPACE as its record id namespace unless it sets its own', () => {
    const { config, problems } = drains(
      [
        { id: 'a', topic: 't', sink: SINK },
        { id: 'b', topic: 't', sink: SINK, idNamespace: 'other-cluster' },
      ],
      { DRAIN_ID_NAMESPACE: 'bridge-prod' },
    );

    expect(problems).toEqual([]);
    expect(config.drains.map((drain) => drain.idNamespace)).toEqual(['bridge-prod', 'other-cluster']);
  });

  it('refuses a DRAIN_ID_NAMESPACE that no record id can carry', () => {
    const { problems } = drains([{ id: 'a', topic: 't', sink: SINK }], { DRAIN_ID_NAMESPACE: 'a/b' });

    expect(problems).toEqual([expect.stringContaining('DRAIN_ID_NAMESPACE must be 1-64 of [A-Za-z0-9._-]')]);
  });

  it.each([
    { name: 'not an array', value: { id: 'a' }, problem: 'DRAINS must be a JSON array' },
    { name: 'entry not an object', value: ['a'], problem: 'DRAINS[0] must be an object' },
    { name: 'bad id', value: [{ id: 'a#b', topic: 't', sink: SINK }], problem: 'DRAINS[0].id must be 1-64' },
    {
      name: 'missing topic',
      value: [{ id: 'a', sink: SINK }],
      problem: 'DRAINS[0].topic must be a Kafka topic name',
    },
    { name: 'missing sink', value: [{ id: 'a', topic: 't' }], problem: 'DRAINS[0].sink must be an object' },
    {
      name: 'unknown key',
      value: [{ id: 'a', topic: 't', sink: SINK, batchsize: 3 }],
      problem: 'DRAINS[0].batchsize is not a drain setting',
    },
    {
      name: 'empty partitions',
      value: [{ id: 'a', topic: 't', sink: SINK, partitions: [] }],
      problem: 'DRAINS[0].partitions must be "all" or a non-empty array',
    },
    {
      name: 'duplicate partitions',
      value: [{ id: 'a', topic: 't', sink: SINK, partitions: [1, 1] }],
      problem: 'distinct partition numbers',
    },
    {
      name: 'negative partition',
      value: [{ id: 'a', topic: 't', sink: SINK, partitions: [-1] }],
      problem: 'DRAINS[0].partitions',
    },
    {
      name: 'batch size zero',
      value: [{ id: 'a', topic: 't', sink: SINK, batchSize: 0 }],
      problem: 'DRAINS[0].batchSize must be an integer from 1 to 10000',
    },
    {
      name: 'reset policy',
      value: [{ id: 'a', topic: 't', sink: SINK, resetPolicy: 'none' }],
      problem: 'DRAINS[0].resetPolicy must be one of "earliest" | "latest" | "fail"',
    },
    {
      name: 'start position',
      value: [{ id: 'a', topic: 't', sink: SINK, startFrom: 'fail' }],
      problem: 'DRAINS[0].startFrom must be one of "earliest" | "latest"',
    },
    {
      name: 'retry max below base',
      value: [{ id: 'a', topic: 't', sink: SINK, retryBaseMs: 100, retryMaxMs: 10 }],
      problem: 'DRAINS[0].retryMaxMs must be ≥ retryBaseMs',
    },
    {
      name: 'bad DLQ',
      value: [{ id: 'a', topic: 't', sink: SINK, dlq: { queueUrl: 'nope' } }],
      problem: 'DRAINS[0].dlq.queueUrl must be an SQS queue URL',
    },
    {
      name: 'duplicate ids',
      value: [
        { id: 'a', topic: 't', sink: SINK },
        { id: 'a', topic: 'u', sink: SINK },
      ],
      problem: 'DRAINS[1].id "a" is used twice',
    },
    {
      name: 'id namespace with a slash',
      value: [{ id: 'a', topic: 't', sink: SINK, idNamespace: 'prod/eu' }],
      problem: 'DRAINS[0].idNamespace must be 1-64 of [A-Za-z0-9._-]',
    },
    {
      name: 'id namespace too long',
      value: [{ id: 'a', topic: 't', sink: SINK, idNamespace: 'n'.repeat(65) }],
      problem: 'DRAINS[0].idNamespace must be 1-64',
    },
  ])('reports $name', ({ value, problem }) => {
    const { problems } = drains(value);

    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(problem)]));
  });

  it('requires CHECKPOINT_TABLE once a drain is configured', () => {
    const { problems } = parse({ DRAINS: JSON.stringify([{ id: 'a', topic: 't', sink: SINK }]) });

    expect(problems).toEqual([expect.stringContaining('CHECKPOINT_TABLE is required')]);
  });

  it('collects every problem in one ConfigError through loadConfig', () => {
    const env = {
      KAFKA_REST_URL: 'https://kafka.example.com',
      KAFKA_REST_AUTH: 'none',
      DRAINS: JSON.stringify([{ id: 'a', topic: 't', sink: SINK, batchSize: -1, maxAttempts: 0 }]),
      DRAIN_LEASE_MS: '5',
    };

    expect(() => loadConfig(env)).toThrowError(
      expect.objectContaining({
        code: 'ERR_CONFIG',
        problems: expect.arrayContaining([
          expect.stringContaining('DRAINS[0].batchSize'),
          expect.stringContaining('DRAINS[0].maxAttempts'),
          expect.stringContaining('CHECKPOINT_TABLE is required'),
          expect.stringContaining('DRAIN_LEASE_MS must be an integer from 1000 to 900000'),
        ]),
      }),
    );
  });
});
