import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const { checkStage } = createRequire(import.meta.url)('../deploy/stage-checks.cjs') as {
  checkStage: (params: Record<string, string>, region: string) => string[];
};

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-rest-api-key-AbCdEf';
const READY = {
  kafkaRestUrl: 'https://kafka-rest.example.com',
  kafkaRestAuth: 'api-key',
  kafkaRestSecretArn: SECRET,
  kafkaRestApiKey: '',
  allowHttp: 'false',
  webhookRoutes:
    '{"orders":{"topic":"orders","verify":{"scheme":"token","header":"x-token","secretId":"orders-token"}}}',
  webhookSigningSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-token-*',
  allowUnsignedRoutes: 'false',
  drains: '[]',
  drainSigningSecretArn: '',
  drainSinkQueueArn: '',
  drainSinkEventBusArn: '',
};

describe('stage checks (deploy/stage-checks.cjs)', () => {
  it('passes a stage configured on purpose', () => {
    expect(checkStage(READY, 'eu-west-1')).toEqual([]);
  });

  it.each([
    {
      name: 'a missing proxy URL',
      change: { kafkaRestUrl: '' },
      problem: '--param kafkaRestUrl=… is required',
    },
    {
      name: 'a plain-http proxy URL',
      change: { kafkaRestUrl: 'http://proxy:8082' },
      problem: 'kafkaRestUrl must be https://',
    },
    {
      name: 'a missing secret',
      change: { kafkaRestSecretArn: '' },
      problem: '--param kafkaRestSecretArn=… is required',
    },
    {
      name: 'a secret of another region',
      change: { kafkaRestSecretArn: SECRET.replace('eu-west-1', 'us-east-1') },
      problem: 'kafkaRestSecretArn is in region us-east-1 but the stack deploys to eu-west-1',
    },
    {
      name: 'a plaintext API key',
      change: { kafkaRestApiKey: 'AK-123' },
      problem: 'kafkaRestApiKey (a plaintext API key) is for the local stage only',
    },
    {
      name: 'an unsigned route',
      change: { webhookRoutes: '{"demo":{"topic":"demo","verify":{"scheme":"none"}}}' },
      problem: 'route "demo" accepts unsigned requests',
    },
    {
      name: 'an inline route secret',
      change: {
        webhookRoutes: '{"o":{"topic":"o","verify":{"scheme":"token","header":"x-t","secret":"s3cr3t"}}}',
      },
      problem: 'route "o" has an inline "secret"',
    },
    {
      name: 'a GitHub route without idempotency',
      change: { webhookRoutes: '{"gh":{"topic":"gh","verify":{"scheme":"github","secretId":"gh"}}}' },
      problem: 'route "gh" verifies GitHub signatures without "idempotency"',
    },
    {
      name: 'route secrets without their grant',
      change: { webhookSigningSecretArn: '' },
      problem: 'set webhookSigningSecretArn',
    },
    {
      name: 'an SQS sink without its grant',
      change: { drains: '[{"id":"d","topic":"t","sink":{"type":"sqs","queueUrl":"q"}}]' },
      problem: 'a drain delivers to SQS: set drainSinkQueueArn',
    },
    {
      name: 'a plain-http sink',
      change: { drains: '[{"id":"d","topic":"t","sink":{"type":"http","url":"http://sink"}}]' },
      problem: 'an HTTP sink url is not https://',
    },
    { name: 'malformed routes', change: { webhookRoutes: '{' }, problem: 'webhookRoutes is not valid JSON' },
    {
      name: 'spooled bodies that would expire before a message naming them',
      change: { spoolRetentionSeconds: '1209600', spoolObjectDays: '28' },
      problem: 'spoolObjectDays must be at least 29',
    },
  ])('refuses $name, naming it', ({ change, problem }) => {
    // Act
    const problems = checkStage({ ...READY, ...change }, 'eu-west-1');

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it('accepts an unsigned route when the stage says so, and no secret with auth none', () => {
    const problems = checkStage(
      {
        ...READY,
        kafkaRestAuth: 'none',
        kafkaRestSecretArn: '',
        allowUnsignedRoutes: 'true',
        webhookRoutes: '{"demo":{"topic":"demo","verify":{"scheme":"none"}}}',
      },
      'eu-west-1',
    );

    expect(problems).toEqual([]);
  });

  it('lists every problem at once and never echoes a value', () => {
    const problems = checkStage(
      { ...READY, kafkaRestUrl: '', kafkaRestApiKey: 'AK-very-secret' },
      'eu-west-1',
    );

    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).not.toContain('AK-very-secret');
  });
});
