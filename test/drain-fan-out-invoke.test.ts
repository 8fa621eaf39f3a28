import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsServiceError } from '../lib/aws/errors.js';
import { createLambdaInvoker, type LambdaInvoker } from '../lib/aws/lambda-invoke.js';
import { FAKE_AWS } from './helpers/aws-fakes.js';
import { type FakeLambda, startFakeLambda } from './helpers/lambda-fake.js';

const FUNCTION = 'kafka-rest-bridge-test-drain';

/** The signed asynchronous Invoke the fan-out sends, against the fake Invoke API. */
describe('createLambdaInvoker (signed Invoke, InvocationType Event)', () => {
  let lambda: FakeLambda;
  let runs: unknown[];
  let invoker: LambdaInvoker;

  beforeEach(async () => {
    runs = [];
    lambda = await startFakeLambda({
      functions: [FUNCTION],
      run: async (payload) => {
        runs.push(payload);
      },
    });
    invoker = createLambdaInvoker({ ...FAKE_AWS, endpoint: lambda.endpoint });
  });
  afterEach(async () => {
    await invoker.close();
    await lambda.settled();
    await lambda.close();
  });

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  it('queues the event as JSON and resolves on the 202', async () => {
    await invoker.invokeAsync(FUNCTION, { drainId: 'd', partitions: [3, 4] });
    await lambda.settled();

    expect(runs).toEqual([{ drainId: 'd', partitions: [3, 4] }]);
    expect(lambda.invocations[0]?.headers['content-type']).toBe('application/json');
  });

  it('fails at once, unretried, for an unknown function, with Lambda’s error name and status', async () => {
    const error = await failure(invoker.invokeAsync('no-such-function', {}));

    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
    expect(lambda.invocations).toHaveLength(1);
  });

  it('retries a 5xx up to three attempts in all, then gives up with the last answer', async () => {
    lambda.failInvokes({ status: 503, type: 'ServiceException', times: 2 });
    await invoker.invokeAsync(FUNCTION, { n: 1 });

    lambda.failInvokes({ status: 503, type: 'ServiceException', times: 3 });
    const error = await failure(invoker.invokeAsync(FUNCTION, { n: 2 }));
    await lambda.settled();

    expect(lambda.invocations.map((i) => i.status)).toEqual([503, 503, 202, 503, 503, 503]);
    expect(error).toMatchObject({ name: 'ServiceException' });
    expect(runs).toEqual([{ n: 1 }]);
  });

  it('refuses an event over Lambda’s 256 KB before sending it', async () => {
    const error = await failure(invoker.invokeAsync(FUNCTION, { padding: 'x'.repeat(256 * 1024) }));

    expect(error).toBeInstanceOf(RangeError);
    expect(lambda.invocations).toEqual([]);
  });

  it('names the missing region instead of calling anywhere', async () => {
    const regionless = createLambdaInvoker({ credentials: FAKE_AWS.credentials, endpoint: lambda.endpoint });
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    try {
      expect(((await failure(regionless.invokeAsync(FUNCTION, {}))) as Error).message).toBe(
        'no AWS region for lambda: set AWS_REGION (Lambda sets it)',
      );
    } finally {
      vi.unstubAllEnvs();
      await regionless.close();
    }
    expect(lambda.invocations).toEqual([]);
  });
});
