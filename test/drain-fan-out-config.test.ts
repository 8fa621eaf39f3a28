import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/core/errors.js';
import { loadDrainConfig, parseFanOutConfig } from '../lib/wiring/settings/drain.js';
import { createEnvReader } from '../lib/wiring/settings/env.js';

const parse = (env: Record<string, string>) => {
  const read = createEnvReader(env);
  const config = parseFanOutConfig(read);
  return { config, problems: read.problems };
};

describe('parseFanOutConfig (DRAIN_PARTITIONS_PER_INVOCATION and the function it invokes)', () => {
  it('is off when DRAIN_PARTITIONS_PER_INVOCATION is unset or blank, as the stage parameter leaves it', () => {
    expect(parse({ AWS_LAMBDA_FUNCTION_NAME: 'drain' })).toEqual({ config: undefined, problems: [] });
    expect(parse({ DRAIN_PARTITIONS_PER_INVOCATION: ' ' })).toEqual({ config: undefined, problems: [] });
  });

  it('invokes the running function itself (AWS_LAMBDA_FUNCTION_NAME) unless DRAIN_FUNCTION_NAME names one', () => {
    expect(
      parse({
        DRAIN_PARTITIONS_PER_INVOCATION: '16',
        AWS_LAMBDA_FUNCTION_NAME: 'kafka-rest-bridge-prod-drain',
      }),
    ).toEqual({
      config: {
        partitionsPerInvocation: 16,
        functionName: 'kafka-rest-bridge-prod-drain',
        lambdaEndpoint: undefined,
      },
      problems: [],
    });
    const named = parse({
      DRAIN_PARTITIONS_PER_INVOCATION: '1',
      AWS_LAMBDA_FUNCTION_NAME: 'running',
      DRAIN_FUNCTION_NAME: 'arn:aws:lambda:us-east-1:123456789012:function:other',
      LAMBDA_ENDPOINT: 'http://127.0.0.1:3002',
    });
    expect(named.problems).toEqual([]);
    expect(named.config?.functionName).toBe('arn:aws:lambda:us-east-1:123456789012:function:other');
    expect(named.config?.lambdaEndpoint?.href).toBe('http://127.0.0.1:3002/');
  });

  it.each([
    ['0', 'DRAIN_PARTITIONS_PER_INVOCATION must be an integer ≥ 1, got "0"'],
    ['-4', 'DRAIN_PARTITIONS_PER_INVOCATION must be an integer ≥ 1, got "-4"'],
    ['2.5', 'DRAIN_PARTITIONS_PER_INVOCATION must be an integer ≥ 1, got "2.5"'],
    ['eight', 'DRAIN_PARTITIONS_PER_INVOCATION must be an integer ≥ 1, got "eight"'],
  ])('refuses DRAIN_PARTITIONS_PER_INVOCATION=%s', (value, message) => {
    expect(parse({ DRAIN_PARTITIONS_PER_INVOCATION: value, AWS_LAMBDA_FUNCTION_NAME: 'drain' })).toEqual({
      config: undefined,
      problems: [message],
    });
  });

  it('says which function name is missing when none is set', () => {
    expect(parse({ DRAIN_PARTITIONS_PER_INVOCATION: '8' }).problems).toEqual([
      'DRAIN_PARTITIONS_PER_INVOCATION needs the drain function to invoke: set DRAIN_FUNCTION_NAME (Lambda sets AWS_LAMBDA_FUNCTION_NAME, which is used when it is unset)',
    ]);
  });

  it('refuses a function name Lambda would not take, and a LAMBDA_ENDPOINT that is no URL (not echoed)', () => {
    expect(
      parse({
        DRAIN_PARTITIONS_PER_INVOCATION: '8',
        DRAIN_FUNCTION_NAME: 'my drain',
        LAMBDA_ENDPOINT: '//user:secret@lambda',
      }).problems,
    ).toEqual([
      'LAMBDA_ENDPOINT must be an absolute URL (scheme://host[:port][/path])',
      'DRAIN_FUNCTION_NAME must be a Lambda function name or ARN (1 to 140 of A-Z a-z 0-9 _ - : .)',
    ]);
  });

  it('fails the drain function’s config load with the other problems', () => {
    let thrown: unknown;
    try {
      loadDrainConfig({
        KAFKA_REST_URL: 'https://proxy.example.com',
        KAFKA_REST_API_KEY: 'k',
        DRAIN_PARTITIONS_PER_INVOCATION: '0',
      });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toContain(
      'DRAIN_PARTITIONS_PER_INVOCATION must be an integer ≥ 1, got "0"',
    );
  });
});
