import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalSqs, startLocalSqs } from '../dev/aws-local/sqs-server.js';
import { toConsoleLine } from '../dev/console-lines.js';
import { createQueues, localQueueUrl } from '../dev/local-aws.js';
import { LOCAL, type LocalQueue } from '../dev/local-stage.js';
import { parseStartOptions } from '../dev/start-options.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';

describe('npm start options', () => {
  it('uses the embedded defaults with no flags and no local file', () => {
    const parsed = parseStartOptions([], undefined);

    expect(parsed).toEqual({
      options: {
        peers: undefined,
        dialect: 'v1',
        flavor: 'confluent',
        verbose: false,
        routes: undefined,
        ports: {
          httpPort: LOCAL.httpPort,
          lambdaPort: LOCAL.lambdaPort,
          kafkaRestPort: LOCAL.kafkaRestPort,
          dynamoPort: LOCAL.dynamoPort,
          sinkPort: LOCAL.sinkPort,
          docsPort: LOCAL.docsPort,
          sqsPort: LOCAL.sqsPort,
          s3Port: LOCAL.s3Port,
          consolePort: LOCAL.consolePort,
        },
      },
    });
  });

  it('takes ports and routes from the local file, and flags over it', () => {
    const parsed = parseStartOptions(
      ['--http-port', '3100', '--dialect', 'v2'],
      JSON.stringify({
        httpPort: 3200,
        kafkaRestPort: 18082,
        routes: { a: { topic: 'a', verify: { scheme: 'none' } } },
      }),
    );

    expect('options' in parsed && parsed.options).toMatchObject({
      dialect: 'v2',
      ports: { httpPort: 3100, kafkaRestPort: 18082, sinkPort: LOCAL.sinkPort },
      routes: '{"a":{"topic":"a","verify":{"scheme":"none"}}}',
    });
  });

  it('says what was wrong, every problem at once', () => {
    const parsed = parseStartOptions(
      ['--dialect', 'v4', '--sink-port', 'x', '--lambda-port', String(LOCAL.httpPort)],
      undefined,
    );

    expect(parsed).toEqual({
      help: false,
      problems: [
        '--dialect must be one of v1 | v2 | v3, got "v4"',
        '--sink-port (local.json: sinkPort) must be a port from 1 to 65535, got "x"',
        `httpPort and lambdaPort are both ${LOCAL.httpPort}: give each its own port`,
      ],
    });
  });

  it('talks v2 with the strimzi flavor to the real peers, and refuses another dialect for them', () => {
    expect(parseStartOptions(['--peers', 'strimzi'], undefined)).toMatchObject({
      options: { peers: 'strimzi', dialect: 'v2', flavor: 'strimzi' },
    });
    expect(parseStartOptions(['--peers', 'strimzi', '--dialect', 'v1'], undefined)).toMatchObject({
      problems: [
        '--peers strimzi talks to the Strimzi bridge: leave --dialect and --flavor out (v2, strimzi)',
      ],
    });
    expect(parseStartOptions(['--peers', 'kafka'], undefined)).toMatchObject({
      problems: ['--peers must be one of strimzi, got "kafka"'],
    });
  });

  it('refuses an unknown flag and a malformed local file', () => {
    expect(parseStartOptions(['--colour'], undefined)).toMatchObject({
      problems: [expect.stringContaining("'--colour'")],
    });
    expect(parseStartOptions([], '{')).toMatchObject({ problems: ['local.json is not valid JSON'] });
  });
});

describe('npm start console lines', () => {
  const json = (fields: object) =>
    JSON.stringify({ function_name: 'kafka-rest-bridge-local-drain', level: 'INFO', ...fields });

  it.each([
    {
      name: 'a produced webhook',
      line: json({
        function_name: 'kafka-rest-bridge-local-webhook',
        message: 'webhook record produced',
        route: 'demo',
        topic: 'demo',
        partition: 0,
        offset: 4,
      }),
      shown: { source: 'webhook', text: 'POST /hooks/demo → produced demo/0@4' },
    },
    {
      name: 'a drain delivery that moved the checkpoint',
      line: json({
        message: 'partition drained',
        drainId: 'd',
        topic: 'demo',
        partition: 1,
        delivered: 3,
        deadLettered: 0,
        skipped: 0,
        fromOffset: 2,
        nextOffset: 5,
      }),
      shown: { source: 'drain', text: 'd demo/1: 3 delivered, checkpoint 2 → 5' },
    },
    {
      name: 'an error, with its code and reason only',
      line: json({
        level: 'ERROR',
        message: 'partition drain failed',
        error: { code: 'ERR_UPSTREAM_STATUS', message: '503' },
        value: 'c2VjcmV0',
      }),
      shown: { source: 'drain', text: 'ERROR partition drain failed (ERR_UPSTREAM_STATUS: 503)' },
    },
    {
      name: 'a failed handler as serverless offline says it',
      line: "× Unhandled exception in handler 'drain'.",
      shown: { source: 'offline', text: "× Unhandled exception in handler 'drain'." },
    },
  ])('shows $name in one line', ({ line, shown }) => {
    expect(toConsoleLine(line)).toEqual(shown);
  });

  it.each([
    {
      name: 'an idle drain',
      line: json({
        message: 'partition drained',
        drainId: 'd',
        topic: 'demo',
        partition: 0,
        delivered: 0,
        deadLettered: 0,
        skipped: 0,
        fromOffset: 5,
        nextOffset: 5,
      }),
    },
    { name: 'a metrics blob', line: JSON.stringify({ _aws: { Timestamp: 1 }, RecordsDelivered: 0 }) },
    { name: 'an INFO line nobody watches', line: json({ message: 'drain run finished' }) },
    {
      name: 'an offline invocation line',
      line: '(λ: drain) RequestId: 0b7f5c9e-1c1e-4c44-8a1f-0f6a2b8a9c11  Duration: 12.34 ms  Billed Duration: 13 ms',
    },
  ])('leaves out $name', ({ line }) => {
    expect(toConsoleLine(line)).toBeUndefined();
  });
});

describe('dev/local.env, the operator commands’ view of the local stack', () => {
  it('names the same table, proxy and drains as npm start', () => {
    const env = Object.fromEntries(
      readFileSync(join(import.meta.dirname, '..', 'dev', 'local.env'), 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );

    expect(env).toMatchObject({
      CHECKPOINT_TABLE: LOCAL.checkpointTable,
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${LOCAL.dynamoPort}`,
      KAFKA_REST_URL: `http://127.0.0.1:${LOCAL.kafkaRestPort}`,
      KAFKA_REST_API_KEY: LOCAL.apiKey,
      SQS_ENDPOINT: `http://127.0.0.1:${LOCAL.sqsPort}`,
      DRAIN_DLQ_URL: localQueueUrl(LOCAL.sqsPort, LOCAL.drainDlqQueue),
    });
    expect(JSON.parse(env.DRAINS ?? '')).toEqual(LOCAL.drains(LOCAL.sinkPort));
  });
});

describe('the local stage’s queues (LOCAL.queues, LOCAL.eventSources) on the local SQS', () => {
  let sqs: LocalSqs | undefined;
  afterEach(async () => {
    await sqs?.close();
    sqs = undefined;
  });

  const attributesOf = async (local: LocalSqs, name: string) => {
    const client = new SQSClient({ ...FAKE_AWS, endpoint: local.endpoint });
    try {
      const { Attributes } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: local.queueUrl(name), AttributeNames: ['All'] }),
      );
      return Attributes ?? {};
    } finally {
      client.destroy();
    }
  };

  it('creates every queue of the table, with the redrive and FIFO attributes it names', async () => {
    // Prepare: the stage's table and a FIFO pair such as the spool's
    sqs = await startLocalSqs();
    const table: readonly LocalQueue[] = [
      ...LOCAL.queues,
      { name: 'spool-dlq.fifo', fifo: true },
      {
        name: 'spool.fifo',
        fifo: true,
        contentBasedDeduplication: true,
        visibilityTimeoutSeconds: 90,
        redrive: { deadLetterQueue: 'spool-dlq.fifo', maxReceiveCount: 3 },
      },
    ];

    // Act
    await createQueues(sqs, table);

    // Assess
    const ingest = LOCAL.queues.find((queue) => queue.redrive !== undefined);
    expect(JSON.parse((await attributesOf(sqs, ingest?.name ?? '')).RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: sqs.queueArn(ingest?.redrive?.deadLetterQueue ?? ''),
      maxReceiveCount: ingest?.redrive?.maxReceiveCount,
    });
    expect(await attributesOf(sqs, 'spool.fifo')).toMatchObject({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      VisibilityTimeout: '90',
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: sqs.queueArn('spool-dlq.fifo'),
        maxReceiveCount: 3,
      }),
    });
    expect(LOCAL.queues.map((queue) => queue.name)).toContain(LOCAL.drainDlqQueue);
    for (const source of LOCAL.eventSources) expect(table.map((queue) => queue.name)).toContain(source.queue);
  });

  it('names the table entry whose redrive target comes after it', async () => {
    // Prepare: createQueues closes the server it could not fill
    const local = await startLocalSqs();

    // Act & Assess
    await expect(
      createQueues(local, [
        { name: 'early', redrive: { deadLetterQueue: 'late-dlq', maxReceiveCount: 2 } },
        { name: 'late-dlq' },
      ]),
    ).rejects.toThrow('LOCAL.queues early: its redrive target late-dlq must come before it in the table');
  });
});
