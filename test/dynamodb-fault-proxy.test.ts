import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DynamoFaultProxy } from '../dev/dynamodb-fault-proxy.js';
import { type FaultyDynamo, type LocalDynamo, startDynalite, startFaultyDynamo } from './helpers/dynalite.js';

describe('the DynamoDB fault proxy', () => {
  let dynamo: LocalDynamo;
  let proxy: DynamoFaultProxy;
  let client: DynamoDBClient;
  let faulty: FaultyDynamo;

  beforeEach(async () => {
    dynamo = await startDynalite('faults');
    faulty = await startFaultyDynamo(dynamo);
    ({ proxy, client } = faulty);
  });
  afterEach(async () => {
    await faulty.close();
    await dynamo.close();
  });

  const put = (value: string) =>
    client.send(
      new PutItemCommand({
        TableName: 'faults',
        Item: { pk: { S: 'a' }, v: { S: value } },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  const stored = async () =>
    (
      await dynamo.client.send(
        new GetItemCommand({ TableName: 'faults', Key: { pk: { S: 'a' } }, ConsistentRead: true }),
      )
    ).Item?.v?.S;

  it('applies a write whose answer it loses, so the SDK retry meets its own write', async () => {
    // Prepare
    proxy.inject({ kind: 'lose-answer', operation: 'PutItem' });

    // Act
    const outcome = await put('first').then(
      () => 'ok',
      (error: unknown) => error,
    );

    // Assess
    expect(outcome).toBeInstanceOf(ConditionalCheckFailedException);
    expect(await stored()).toBe('first');
    expect(proxy.stats().faults['lose-answer']).toBe(1);
  });

  it.each(['throttle', 'server-error'] as const)(
    'answers %s without writing, and the SDK retry succeeds',
    async (kind) => {
      // Prepare
      proxy.inject({ kind, operation: 'PutItem', times: 2 });

      // Act
      await put('second');

      // Assess
      expect(await stored()).toBe('second');
      expect(proxy.stats()).toMatchObject({ faults: { [kind]: 2 }, requests: { PutItem: 3 } });
    },
  );

  it('injects seeded random faults on the named operations only', async () => {
    // Prepare
    proxy.setChaos({ rate: 1, kinds: ['throttle'], seed: 7, operations: ['PutItem'] });

    // Act
    const get = await client.send(new GetItemCommand({ TableName: 'faults', Key: { pk: { S: 'a' } } }));
    const putOutcome = await put('third').then(
      () => 'ok',
      (error: unknown) => (error as Error).name,
    );

    // Assess
    expect(get.Item).toBeUndefined();
    expect(putOutcome).toBe('ProvisionedThroughputExceededException');
    expect(await stored()).toBeUndefined();
  });
});
