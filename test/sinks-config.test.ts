import { describe, expect, it } from 'vitest';
import { parseDlqConfig, parseSinkConfig } from '../lib/sinks/config.js';

const AT = 'DRAINS[0].sink';

const parse = (value: unknown) => {
  const problems: string[] = [];
  const config = parseSinkConfig(value, AT, problems);
  return { config, problems };
};

describe('parseSinkConfig', () => {
  it('fills in the defaults of an HTTP sink', () => {
    // Act
    const { config, problems } = parse({ type: 'http', url: 'https://example.com/in' });

    // Assess
    expect(problems).toEqual([]);
    expect(config).toEqual({
      type: 'http',
      url: new URL('https://example.com/in'),
      mode: 'single',
      timeoutMs: 10_000,
      headers: {},
      allowHttp: false,
      contentType: 'application/octet-stream',
      maxBatchRecords: 100,
      maxBatchBytes: 1_000_000,
      connections: 4,
      retryStatuses: [],
    });
  });

  it('reads every HTTP setting', () => {
    // Act
    const { config, problems } = parse({
      type: 'http',
      url: 'http://127.0.0.1:8090/records',
      mode: 'batch',
      timeoutMs: 2_500,
      signingSecretId: 'bridge/sink-signing',
      headers: { 'X-Api-Key': 'abc' },
      allowHttp: true,
      contentType: 'application/json; charset=utf-8',
      maxBatchRecords: 50,
      maxBatchBytes: 65_536,
      connections: 2,
      retryStatuses: [401, 409],
    });

    // Assess
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      mode: 'batch',
      timeoutMs: 2_500,
      signingSecretId: 'bridge/sink-signing',
      headers: { 'x-api-key': 'abc' },
      contentType: 'application/json; charset=utf-8',
      retryStatuses: [401, 409],
    });
  });

  it.each([
    {
      name: 'an SQS FIFO queue, FIFO from the name',
      value: { type: 'sqs', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/out.fifo' },
      expected: {
        type: 'sqs',
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/out.fifo',
        fifo: true,
        maxMessageBytes: 262_144,
        maxBatchRecords: 100,
      },
    },
    {
      name: 'an SQS standard queue with a larger message limit',
      value: {
        type: 'sqs',
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/out',
        fifo: false,
        maxMessageBytes: 1_048_576,
      },
      expected: { fifo: false, maxMessageBytes: 1_048_576 },
    },
    {
      name: 'an EventBridge bus',
      value: { type: 'eventbridge', busName: 'default', source: 'kafka.bridge', detailType: 'record' },
      expected: {
        type: 'eventbridge',
        busName: 'default',
        source: 'kafka.bridge',
        detailType: 'record',
        maxBatchRecords: 100,
      },
    },
    {
      name: 'an EventBridge bus by ARN',
      value: {
        type: 'eventbridge',
        busName: 'arn:aws:events:eu-west-1:123456789012:event-bus/bridge',
        source: 'kafka.bridge',
        detailType: 'record',
      },
      expected: { busName: 'arn:aws:events:eu-west-1:123456789012:event-bus/bridge' },
    },
  ])('accepts $name', ({ value, expected }) => {
    // Act
    const { config, problems } = parse(value);

    // Assess
    expect(problems).toEqual([]);
    expect(config).toMatchObject(expected);
  });

  it.each([
    {
      name: 'not an object',
      value: 'http',
      problems: [`${AT} must be an object with "type": "http" | "sqs" | "eventbridge"`],
    },
    {
      name: 'an unknown type',
      value: { type: 'kafka' },
      problems: [`${AT} must be an object with "type": "http" | "sqs" | "eventbridge"`],
    },
    {
      name: 'a missing URL',
      value: { type: 'http' },
      problems: [`${AT}.url must be an absolute https URL`],
    },
    {
      name: 'plain http without allowHttp',
      value: { type: 'http', url: 'http://example.com/' },
      problems: [`${AT}.url must use https; set allowHttp: true for local development only`],
    },
    {
      name: 'credentials in the URL (not echoed)',
      value: { type: 'http', url: 'https://user:hunter2@example.com/' },
      problems: [`${AT}.url must not carry credentials; use headers or signingSecretId`],
    },
    {
      name: 'a typo in a key',
      value: { type: 'http', url: 'https://example.com/', timeoutMS: 5 },
      problems: [
        `${AT}.timeoutMS is not a sink setting (one of type, url, mode, timeoutMs, signingSecretId, signing, headers, allowHttp, contentType, maxBatchRecords, maxBatchBytes, connections, retryStatuses, cloudEvents)`,
      ],
    },
    {
      name: 'bad values, all reported',
      value: {
        type: 'http',
        url: 'https://example.com/',
        mode: 'stream',
        timeoutMs: 0,
        allowHttp: 'yes',
        signingSecretId: '',
        retryStatuses: [503],
      },
      problems: [
        `${AT}.allowHttp must be true or false`,
        `${AT}.signingSecretId must be a non-blank string of at most 2048 characters`,
        `${AT}.mode must be one of "single" | "batch"`,
        `${AT}.timeoutMs must be an integer from 1 to 900000`,
        `${AT}.retryStatuses must be an array of 4xx statuses (integers from 400 to 499)`,
      ],
    },
    {
      name: 'reserved and malformed headers (values not echoed)',
      value: {
        type: 'http',
        url: 'https://example.com/',
        headers: { 'Idempotency-Key': 'x', 'Kafka-Topic': 'y', 'bad header': 'z', 'X-Token': 'line\nbreak' },
      },
      problems: [
        `${AT}.headers.Idempotency-Key is set by the sink itself and cannot be configured`,
        `${AT}.headers.Kafka-Topic is set by the sink itself and cannot be configured`,
        `${AT}.headers: "bad header" is not a valid header name`,
        `${AT}.headers.X-Token must be a string without control characters`,
      ],
    },
    {
      name: 'an SQS URL that is not a queue URL',
      value: { type: 'sqs', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/out' },
      problems: [
        `${AT}.queueUrl must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)`,
      ],
    },
    {
      name: 'fifo disagreeing with the queue name',
      value: { type: 'sqs', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/out', fifo: true },
      problems: [`${AT}.fifo must agree with the queue name: FIFO queue names end in ".fifo"`],
    },
    {
      name: 'an SQS message limit above 1 MiB',
      value: {
        type: 'sqs',
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/out',
        maxMessageBytes: 2_000_000,
      },
      problems: [`${AT}.maxMessageBytes must be an integer from 1024 to 1048576`],
    },
    {
      name: 'EventBridge without bus, source and detail type',
      value: { type: 'eventbridge' },
      problems: [
        `${AT}.source is required: a non-blank string of at most 256 characters`,
        `${AT}.busName is required and must be an event bus name or ARN`,
        `${AT}.detailType is required: a non-blank string of at most 128 characters`,
      ],
    },
    {
      name: 'an EventBridge source reserved by AWS',
      value: { type: 'eventbridge', busName: 'default', source: 'aws.s3', detailType: 'x' },
      problems: [`${AT}.source must not start with "aws." (reserved by AWS)`],
    },
  ])('reports $name', ({ value, problems: expected }) => {
    // Act
    const { config, problems } = parse(value);

    // Assess
    expect(config).toBeUndefined();
    expect(problems).toEqual(expected);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});

describe('parseDlqConfig', () => {
  it.each([
    {
      name: 'a standard queue',
      value: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/bridge-dlq' },
      expected: {
        queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/bridge-dlq',
        fifo: false,
        maxMessageBytes: 262_144,
      },
    },
    {
      name: 'a FIFO queue with a larger limit',
      value: {
        queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/bridge-dlq.fifo',
        maxMessageBytes: 1_048_576,
      },
      expected: {
        queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/bridge-dlq.fifo',
        fifo: true,
        maxMessageBytes: 1_048_576,
      },
    },
  ])('accepts $name', ({ value, expected }) => {
    // Prepare
    const problems: string[] = [];

    // Act
    const config = parseDlqConfig(value, 'DRAINS[1].dlq', problems);

    // Assess
    expect(problems).toEqual([]);
    expect(config).toEqual(expected);
  });

  it.each([
    {
      name: 'not an object',
      value: 'queue',
      problems: ['DRAINS[1].dlq must be an object {queueUrl, fifo?, maxMessageBytes?}'],
    },
    {
      name: 'an unknown key and no URL',
      value: { url: 'x' },
      problems: [
        'DRAINS[1].dlq.url is not a DLQ setting (one of queueUrl, fifo, maxMessageBytes)',
        'DRAINS[1].dlq.queueUrl must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)',
      ],
    },
  ])('reports $name', ({ value, problems: expected }) => {
    // Prepare
    const problems: string[] = [];

    // Act
    const config = parseDlqConfig(value, 'DRAINS[1].dlq', problems);

    // Assess
    expect(config).toBeUndefined();
    expect(problems).toEqual(expected);
  });
});
