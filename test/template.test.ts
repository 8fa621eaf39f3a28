import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageStack, packageTemplate } from '../dev/package-stack.js';
import { readmeDeployCommand } from '../dev/readme-deploy.js';
import { METRICS_NAMESPACE } from '../lib/core/metrics.js';
import { FAN_OUT_METRICS } from '../lib/drain/fan-out.js';
import { CHECKPOINT_AGE_METRIC, DRAIN_METRICS, LAG_METRIC } from '../lib/drain/metrics.js';
import { INGEST_METRICS } from '../lib/ingest/metrics.js';

// Least privilege, proven on what CloudFormation would receive: the README's deploy command is packaged
// once (`serverless package` for `deploy`), and the tests read the generated template. Every function must have a role of its own with only the
// actions its code calls, on only the resources it touches.

const ROOT = join(import.meta.dirname, '..');
const README_DEPLOY = readmeDeployCommand(ROOT);
const FUNCTIONS = ['webhook', 'queue', 'spool', 'events', 'drain'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/**
 * What each function's code calls (the SDK commands and service integrations it uses): the floor of its
 * grants. Log groups are created by the stack, so no function needs logs:CreateLogGroup.
 */
const NEEDED: Readonly<Record<FunctionName, readonly string[]>> = {
  // Idempotent routes: a conditional PutItem claims a delivery id, GetItem reads its answer, DeleteItem
  // abandons a claim whose produce failed.
  // The spool: SendMessage to the spool queue; Query, PutItem and DeleteItem of its keys' order markers.
  webhook: [
    ...LOG_ACTIONS,
    'secretsmanager:GetSecretValue',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'sqs:SendMessage',
  ],
  // The SQS event source mapping polls with the function's role: Receive, Delete, GetQueueAttributes.
  queue: [
    ...LOG_ACTIONS,
    'secretsmanager:GetSecretValue',
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
  ],
  // The spool queue's event source mapping; DeleteItem releases a produced record's order marker.
  spool: [
    ...LOG_ACTIONS,
    'secretsmanager:GetSecretValue',
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
    'dynamodb:DeleteItem',
    'sqs:SendMessage',
  ],
  // The on-failure destination sends with the function's role.
  events: [...LOG_ACTIONS, 'secretsmanager:GetSecretValue', 'sqs:SendMessage'],
  // Checkpoints: GetItem and conditional UpdateItem (lease, commit). SendMessageBatch (DLQ, SQS sink) is
  // authorised by sqs:SendMessage. PutEvents for the EventBridge sink.
  drain: [
    ...LOG_ACTIONS,
    'secretsmanager:GetSecretValue',
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'sqs:SendMessage',
    'events:PutEvents',
  ],
};

/**
 * Optional secrets beyond the proxy's, by the condition that includes their grant, and the one function
 * that reads each: the routes' signature secrets (webhook), the HTTP sink's signing secret (drain).
 */
/**
 * Actions a function needs only for an optional setting, each granted only under the condition that the
 * setting is set: kms:Decrypt for an existing queue encrypted with a customer-managed key.
 */
const OPTIONAL_ACTIONS: Readonly<Partial<Record<FunctionName, Readonly<Record<string, string>>>>> = {
  queue: { 'kms:Decrypt': 'HasQueueKmsKey' },
  // Fan-out (drainPartitionsPerInvocation): one BatchGetItem of the groups' checkpoints, the self-invoke.
  drain: { 'dynamodb:BatchGetItem': 'HasDrainFanOut', 'lambda:InvokeFunction': 'HasDrainFanOut' },
  // The spool bucket (spoolBucket): the webhook puts bodies too large for a message, the spool function
  // reads and deletes them.
  webhook: { 's3:PutObject': 'HasSpoolBucket' },
  spool: { 's3:GetObject': 'HasSpoolBucket', 's3:DeleteObject': 'HasSpoolBucket' },
};

/**
 * Conditions that switch a feature on rather than name an optional ARN: their grants are on the stack's own
 * resources, so the ARN-is-set rule below does not apply; the fan-out test checks them one by one.
 */
const FEATURE_CONDITIONS: ReadonlySet<string> = new Set(['HasDrainFanOut', 'HasSpoolBucket']);

const OPTIONAL_SECRET_READERS: Readonly<Record<string, FunctionName>> = {
  HasWebhookSecret: 'webhook',
  HasSigningSecret: 'drain',
};

interface Resource {
  readonly Type: string;
  readonly Condition?: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
}

interface Template {
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, unknown>;
}

/** One IAM statement as it would be deployed, with the condition (if any) that includes it. */
interface Grant {
  readonly role: string;
  readonly effect: unknown;
  readonly actions: readonly string[];
  /** Each resource rendered as text: an ARN, `GetAtt:X.Arn`, `Sub:…`, `Ref:X`. */
  readonly resources: readonly string[];
  readonly raw: Record<string, unknown>;
  /** `Fn::If` condition name that must hold for the statement to exist (`!Name` for the else branch). */
  readonly condition: string | undefined;
}

let template: Template;

beforeAll(async () => {
  template = (await packageTemplate(ROOT, README_DEPLOY.params, README_DEPLOY)) as Template;
}, 120_000);

const resourcesOfType = (type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** Renders a CloudFormation value as comparable text; intrinsic functions keep their shape. */
const render = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if ('Fn::GetAtt' in node) return `GetAtt:${asArray(node['Fn::GetAtt']).map(render).join('.')}`;
    if ('Ref' in node) return `Ref:${render(node.Ref)}`;
    if ('Fn::Sub' in node) return `Sub:${render(asArray(node['Fn::Sub'])[0])}`;
    if ('Fn::Join' in node) {
      const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => (typeof part === 'string' ? part : `\${${render(part)}}`)).join(separator);
    }
  }
  return JSON.stringify(value);
};

/** Statements of a policy document, both branches of every `Fn::If`, `AWS::NoValue` dropped. */
const flattenStatements = (
  value: unknown,
  condition: string | undefined,
): { statement: Record<string, unknown>; condition: string | undefined }[] => {
  if (Array.isArray(value)) return value.flatMap((item) => flattenStatements(item, condition));
  if (typeof value !== 'object' || value === null) return [];
  const node = value as Record<string, unknown>;
  if (node.Ref === 'AWS::NoValue') return [];
  if ('Fn::If' in node) {
    const [name, whenTrue, whenFalse] = node['Fn::If'] as [string, unknown, unknown];
    return [...flattenStatements(whenTrue, name), ...flattenStatements(whenFalse, `!${name}`)];
  }
  return [{ statement: node, condition }];
};

const grantsOf = (role: string): Grant[] => {
  const properties = template.Resources[role]?.Properties ?? {};
  return asArray(properties.Policies ?? []).flatMap((policy) =>
    flattenStatements(
      (policy as { PolicyDocument: { Statement: unknown } }).PolicyDocument.Statement,
      undefined,
    ).map(({ statement, condition }) => ({
      role,
      effect: statement.Effect,
      actions: asArray(statement.Action).map(render),
      resources: asArray(statement.Resource).map(render),
      raw: statement,
      condition,
    })),
  );
};

/** The logical id of the function's role, from its `Role: !GetAtt <Role>.Arn`. */
const roleOf = (fn: FunctionName): string => {
  const role = lambdaOf(fn).Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const target = role?.['Fn::GetAtt'];
  if (target === undefined || target[1] !== 'Arn') throw new Error(`${fn}: Role is not !GetAtt <Role>.Arn`);
  return target[0];
};

const lambdaOf = (fn: FunctionName): Resource => {
  const found = resourcesOfType('AWS::Lambda::Function').find(
    ([, resource]) => resource.Properties?.FunctionName === `kafka-rest-bridge-${README_DEPLOY.stage}-${fn}`,
  );
  if (found === undefined) throw new Error(`no Lambda function ${fn}`);
  return found[1];
};

const envOf = (fn: FunctionName): Record<string, unknown> =>
  (lambdaOf(fn).Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
  {};

const allGrants = (): (Grant & { fn: FunctionName })[] =>
  FUNCTIONS.flatMap((fn) => grantsOf(roleOf(fn)).map((g) => ({ ...g, fn })));

/** `Not(Equals([value, '']))`: the shape of every "optional grant" condition; the value it tests. */
const optionalValueOf = (condition: string): string | undefined => {
  const definition = template.Conditions?.[condition] as {
    'Fn::Not'?: [{ 'Fn::Equals'?: [unknown, unknown] }];
  };
  const equals = definition?.['Fn::Not']?.[0]?.['Fn::Equals'];
  if (equals === undefined || equals[1] !== '' || typeof equals[0] !== 'string') return undefined;
  return equals[0];
};

describe('one role per function', () => {
  it('packages exactly the five functions, each with its own IAM role', () => {
    const roles = FUNCTIONS.map(roleOf);

    expect(resourcesOfType('AWS::Lambda::Function')).toHaveLength(FUNCTIONS.length);
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    for (const role of roles) expect(template.Resources[role]?.Type).toBe('AWS::IAM::Role');
  });

  it('has no framework-wide role, no managed policies and no separate policy resources', () => {
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    expect(resourcesOfType('AWS::IAM::Policy')).toEqual([]);
    expect(resourcesOfType('AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const [, role] of resourcesOfType('AWS::IAM::Role')) {
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it.each(FUNCTIONS)('lets only Lambda assume the %s role', (fn) => {
    const trust = template.Resources[roleOf(fn)]?.Properties?.AssumeRolePolicyDocument;

    expect(trust).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
  });
});

describe('no wildcards', () => {
  it('allows only, never by NotAction/NotResource, and names every action in full', () => {
    const grants = allGrants();

    expect(grants.length).toBeGreaterThan(FUNCTIONS.length);
    for (const grant of grants) {
      expect(grant.effect, `${grant.role}`).toBe('Allow');
      const keys = Object.keys(grant.raw).filter((key) => key !== 'Sid' && key !== 'Condition');
      expect(keys.sort(), `${grant.role}`).toEqual(['Action', 'Effect', 'Resource']);
      for (const action of grant.actions)
        expect(action, `${grant.role}`).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
    }
  });

  it('has no bare * resource; the only * is the log-stream suffix of the function’s own log group', () => {
    // Lambda names its log streams itself (date/[version]id), so `<log group ARN>:*` is the narrowest form
    // AWS offers for CreateLogStream/PutLogEvents. No statement here needs `Resource: *` (metrics go
    // through EMF log lines, so cloudwatch:PutMetricData, which takes only `*`, is not granted).
    for (const grant of allGrants()) {
      for (const resource of grant.resources) {
        expect(resource, grant.role).not.toBe('*');
        if (!resource.includes('*')) continue;
        // A Secrets Manager ARN ends in a random 6-character suffix, so a secret named by a stage parameter
        // may be given as `…:secret:<name>*`: the other form AWS offers no narrower alternative to.
        if (/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^*]+\*$/.test(resource)) continue;
        // Spooled bodies are objects named by receipt: the spool/ prefix of the stack's own bucket is the
        // narrowest resource that names them.
        if (resource === `Sub:\${SpoolBucket.Arn}/spool/*`) {
          expect(grant.actions.every((action) => action.startsWith('s3:') && action.endsWith('Object'))).toBe(
            true,
          );
          continue;
        }
        expect(grant.actions).toEqual(LOG_ACTIONS);
        expect(resource).toBe(
          `Sub:arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/kafka-rest-bridge-${README_DEPLOY.stage}-${grant.fn}:*`,
        );
      }
    }
  });

  it('guards every optional grant by a condition that the very ARN it grants is set', () => {
    const optional = allGrants().filter((g) => g.condition !== undefined);
    for (const grant of optional.filter((g) => !FEATURE_CONDITIONS.has(g.condition as string))) {
      const condition = grant.condition as string;
      expect(condition.startsWith('!'), `${grant.role}: only the true branch of an Fn::If may grant`).toBe(
        false,
      );
      expect(grant.resources, `${grant.role} under ${condition}`).toEqual([optionalValueOf(condition)]);
    }
    for (const grant of allGrants().filter((g) => g.condition === undefined)) {
      for (const resource of grant.resources) expect(resource, grant.role).not.toBe('');
    }
  });
});

describe('only what each function uses', () => {
  it.each(FUNCTIONS)('grants %s every action its code needs and nothing beyond', (fn) => {
    const grants = grantsOf(roleOf(fn));
    const granted = new Set(grants.flatMap((g) => g.actions));
    const optional = OPTIONAL_ACTIONS[fn] ?? {};

    for (const action of NEEDED[fn]) expect(granted, `${fn} needs ${action}`).toContain(action);
    const extra = [...granted].filter((action) => !NEEDED[fn].includes(action) && !(action in optional));
    expect(extra).toEqual([]);
    for (const [action, condition] of Object.entries(optional)) {
      const holders = grants.filter((g) => g.actions.includes(action));
      expect(holders.map((g) => g.condition)).toEqual([condition]);
    }
  });

  it('reads secrets only with GetSecretValue, only the proxy secret and the signing secrets, each only where used', () => {
    const proxySecret = envOf('webhook').KAFKA_REST_SECRET_ID;
    expect(typeof proxySecret === 'string' && proxySecret.startsWith('arn:aws:secretsmanager:')).toBe(true);
    const secretGrants = allGrants().filter((g) => g.actions.some((a) => a.startsWith('secretsmanager:')));

    for (const grant of secretGrants) {
      expect(grant.actions).toEqual(['secretsmanager:GetSecretValue']);
      const [resource] = grant.resources;
      if (resource === proxySecret) {
        // Only functions configured with that secret get to read it.
        expect(envOf(grant.fn).KAFKA_REST_SECRET_ID).toBe(proxySecret);
      } else {
        expect(grant.condition, `${grant.role} reads ${resource}`).toBeDefined();
        expect(
          OPTIONAL_SECRET_READERS[grant.condition as string],
          `${grant.role} under ${grant.condition}`,
        ).toBe(grant.fn);
      }
    }
    expect(secretGrants.filter((g) => g.resources[0] === proxySecret).map((g) => g.fn)).toEqual([
      ...FUNCTIONS,
    ]);
    expect(secretGrants.every((g) => g.resources.length === 1)).toBe(true);
  });

  it('lets only the drain write the checkpoint table, and only the webhook the idempotency table', () => {
    const dynamoGrants = allGrants().filter((g) => g.actions.some((a) => a.startsWith('dynamodb:')));

    expect(dynamoGrants.map((g) => [g.fn, g.resources]).sort()).toEqual([
      ['drain', ['GetAtt:CheckpointTable.Arn']],
      ['drain', ['GetAtt:CheckpointTable.Arn']],
      ['spool', ['GetAtt:SpoolKeysTable.Arn']],
      ['webhook', ['GetAtt:IdempotencyTable.Arn']],
      ['webhook', ['GetAtt:SpoolKeysTable.Arn']],
    ]);
    // The spool function only releases markers; writing them is the webhook's.
    expect(dynamoGrants.find((g) => g.fn === 'spool')?.actions).toEqual(['dynamodb:DeleteItem']);
    const drainGrant = dynamoGrants.find((g) => g.fn === 'drain');
    expect(drainGrant?.actions).toContain('dynamodb:UpdateItem');
    // The drain's table setting names that same table (by Ref, or by its fixed TableName).
    expect([
      { Ref: 'CheckpointTable' },
      template.Resources.CheckpointTable?.Properties?.TableName,
    ]).toContainEqual(envOf('drain').CHECKPOINT_TABLE);
  });

  it('sends to SQS only where each function sends: its on-failure destination, its DLQ, its sink', () => {
    const invokeConfigs = resourcesOfType('AWS::Lambda::EventInvokeConfig');
    const [[, invokeConfig] = []] = invokeConfigs;
    const destinationConfig = invokeConfig?.Properties?.DestinationConfig as
      | { OnFailure?: { Destination?: unknown } }
      | undefined;
    const destination = render(destinationConfig?.OnFailure?.Destination);
    const drainDlq = `GetAtt:${(envOf('drain').DRAIN_DLQ_URL as { Ref: string }).Ref}.Arn`;
    const sends = allGrants()
      .filter((g) => g.actions.includes('sqs:SendMessage'))
      .map((g) => ({ fn: g.fn, actions: g.actions, resources: g.resources, condition: g.condition }));

    expect(sends).toEqual([
      {
        fn: 'webhook',
        actions: ['sqs:SendMessage'],
        resources: ['GetAtt:SpoolQueue.Arn'],
        condition: undefined,
      },
      { fn: 'spool', actions: ['sqs:SendMessage'], resources: ['GetAtt:SpoolDlq.Arn'], condition: undefined },
      { fn: 'events', actions: ['sqs:SendMessage'], resources: [destination], condition: undefined },
      { fn: 'drain', actions: ['sqs:SendMessage'], resources: [drainDlq], condition: undefined },
      {
        fn: 'drain',
        actions: ['sqs:SendMessage'],
        resources: [expect.any(String)],
        condition: 'HasSinkQueue',
      },
    ]);
    expect(invokeConfigs).toHaveLength(1);
    expect(invokeConfig?.Properties?.FunctionName).toEqual({ Ref: 'EventsLambdaFunction' });
    expect(destination).toBe('GetAtt:EventsDlq.Arn');
  });

  it('lets the queue and spool functions consume only their own event source queues', () => {
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping').map(([, mapping]) => [
      render(mapping.Properties?.FunctionName),
      render(mapping.Properties?.EventSourceArn),
    ]);
    const consumes = allGrants().filter((g) => g.actions.includes('sqs:ReceiveMessage'));

    expect(mappings.sort()).toEqual([
      ['GetAtt:QueueLambdaFunction.Arn', 'GetAtt:IngestQueue.Arn'],
      ['GetAtt:SpoolLambdaFunction.Arn', 'GetAtt:SpoolQueue.Arn'],
    ]);
    expect(consumes.map((g) => [g.fn, g.resources])).toEqual([
      ['queue', ['GetAtt:IngestQueue.Arn']],
      ['spool', ['GetAtt:SpoolQueue.Arn']],
    ]);
  });

  it('puts events only from the drain, only on the configured sink bus', () => {
    const puts = allGrants().filter((g) => g.actions.some((a) => a.startsWith('events:')));

    expect(puts.map((g) => [g.fn, g.actions, g.condition])).toEqual([
      ['drain', ['events:PutEvents'], 'HasSinkEventBus'],
    ]);
  });
});

describe('the drain’s fan-out (stage parameter drainPartitionsPerInvocation)', () => {
  const fanOutGrants = () => grantsOf(roleOf('drain')).filter((g) => g.condition === 'HasDrainFanOut');

  it('lets only the drain invoke, only itself (its own ARN by name, no alias or version), only with fan-out on', () => {
    const invokes = allGrants().filter((g) => g.actions.some((a) => a.startsWith('lambda:')));

    expect(invokes.map((g) => [g.fn, g.actions, g.resources, g.condition])).toEqual([
      [
        'drain',
        ['lambda:InvokeFunction'],
        [
          `Sub:arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${lambdaOf('drain').Properties?.FunctionName}`,
        ],
        'HasDrainFanOut',
      ],
    ]);
  });

  it('reads the checkpoints in batches only with fan-out on, and only the checkpoint table', () => {
    expect(fanOutGrants().map((g) => [g.actions, g.resources])).toEqual([
      [['dynamodb:BatchGetItem'], ['GetAtt:CheckpointTable.Arn']],
      [
        ['lambda:InvokeFunction'],
        [expect.stringMatching(/^Sub:arn:.*:function:kafka-rest-bridge-.*-drain$/)],
      ],
    ]);
    expect(template.Conditions?.HasDrainFanOut).toBeDefined();
  });

  it('leaves fan-out off by default: the setting is empty and the condition is false', () => {
    expect(envOf('drain').DRAIN_PARTITIONS_PER_INVOCATION).toBe('');
    expect(optionalValueOf('HasDrainFanOut')).toBe('');
  });
});

describe('the rest of the stack', () => {
  it('reports SQS batch item failures for the queue and spool functions', () => {
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping');

    expect(mappings).toHaveLength(2);
    for (const [, mapping] of mappings) {
      expect(mapping.Properties?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    }
  });

  it('keeps the spool durable and private: FIFO with a DLQ, encrypted, TLS only, objects outliving their messages', () => {
    const queue = template.Resources.SpoolQueue?.Properties ?? {};
    const dlq = template.Resources.SpoolDlq?.Properties ?? {};
    const bucket = template.Resources.SpoolBucket?.Properties ?? {};
    const keys = template.Resources.SpoolKeysTable?.Properties ?? {};
    const [mapping] = resourcesOfType('AWS::Lambda::EventSourceMapping')
      .map(([, resource]) => resource.Properties ?? {})
      .filter((properties) => render(properties.EventSourceArn) === 'GetAtt:SpoolQueue.Arn');

    expect([queue.FifoQueue, dlq.FifoQueue, queue.SqsManagedSseEnabled, dlq.SqsManagedSseEnabled]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['SpoolDlq', 'Arn'] },
      maxReceiveCount: expect.any(Number),
    });
    // A FIFO event source takes at most 10 messages per batch.
    expect(mapping?.BatchSize).toBeLessThanOrEqual(10);
    expect(envOf('webhook').SPOOL_QUEUE_URL).toEqual({ Ref: 'SpoolQueue' });
    expect(envOf('webhook').SPOOL_KEYS_TABLE).toBe(keys.TableName);
    expect(envOf('spool').SPOOL_KEYS_TABLE).toBe(keys.TableName);
    expect(envOf('spool').SPOOL_DLQ_URL).toEqual({ Ref: 'SpoolDlq' });
    // A record the proxy keeps refusing meets the DLQ before the spool's retention could expire it.
    const { maxReceiveCount } = queue.RedrivePolicy as { maxReceiveCount: number };
    expect(maxReceiveCount * Number(queue.VisibilityTimeout)).toBeLessThan(
      Number(queue.MessageRetentionPeriod),
    );
    expect(keys.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });

    expect(template.Resources.SpoolBucket?.Condition).toBe('HasSpoolBucket');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(JSON.stringify(bucket.BucketEncryption)).toContain('AES256');
    const [rule] = (
      bucket.LifecycleConfiguration as { Rules: { ExpirationInDays: number; Prefix: string }[] }
    ).Rules;
    const retentionSeconds = Number(queue.MessageRetentionPeriod);
    // A message can name its object for the queue's retention, then 14 days in the DLQ.
    expect(rule?.Prefix).toBe('spool/');
    expect((rule?.ExpirationInDays ?? 0) * 86_400).toBeGreaterThan(retentionSeconds + 1_209_600);
    const policy = JSON.stringify(template.Resources.SpoolBucketPolicy?.Properties?.PolicyDocument);
    expect(policy).toContain('"aws:SecureTransport":"false"');
    expect(policy).toContain('"Effect":"Deny"');
  });

  it('keeps the checkpoint table: on-demand, point-in-time recovery, retained on delete', () => {
    const table = template.Resources.CheckpointTable;

    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.Properties?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table?.Properties?.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('queries, in every Metrics Insights alarm, a metric the code publishes with those dimensions', () => {
    const published = new Map<string, string>([
      ...[
        ...Object.values(DRAIN_METRICS),
        ...Object.values(FAN_OUT_METRICS),
        CHECKPOINT_AGE_METRIC,
        LAG_METRIC,
      ].map((name) => [name, 'drainId,service'] as const),
      ...Object.values(INGEST_METRICS).map((name) => [name, 'service,topic'] as const),
    ]);
    const queries = resourcesOfType('AWS::CloudWatch::Alarm').flatMap(([, alarm]) =>
      ((alarm.Properties?.Metrics ?? []) as { Expression?: unknown }[])
        .map((metric) => metric.Expression)
        .filter((expression): expression is string => typeof expression === 'string')
        .filter((expression) => expression.startsWith('SELECT')),
    );

    expect(queries.length).toBeGreaterThanOrEqual(5);
    for (const query of queries) {
      const match = /^SELECT (?:SUM|MAX)\((\w+)\) FROM SCHEMA\((\w+), ([\w, ]+)\)$/.exec(query);
      expect(match, query).not.toBeNull();
      const [, metric = '', namespace, dimensions = ''] = match ?? [];
      expect(namespace).toBe(METRICS_NAMESPACE);
      expect(published.get(metric), query).toBe(dimensions.split(', ').sort().join(','));
    }
    expect(queries).toContain('SELECT MAX(Lag) FROM SCHEMA(KafkaRestBridge, drainId, service)');
    // Only where the coordinator invokes at all.
    expect(template.Resources.DrainFanOutInvokeFailedAlarm?.Condition).toBe('HasDrainFanOut');
    expect(queries).toContain(
      'SELECT SUM(FanOutInvokeFailures) FROM SCHEMA(KafkaRestBridge, drainId, service)',
    );
  });

  it('draws a dashboard whose every widget shows a metric the code publishes, and every alarm it names exists', () => {
    const dashboard = template.Resources.Dashboard;
    expect(dashboard?.Type).toBe('AWS::CloudWatch::Dashboard');
    const sub = dashboard?.Properties?.DashboardBody as { 'Fn::Sub': [string, Record<string, unknown>] };
    const [body, names] = sub['Fn::Sub'];
    // The body is JSON once CloudFormation substitutes the names: every `${…}` is one of them, or a pseudo.
    const placeholders = [...body.matchAll(/\$\{([^}]+)\}/g)].map((match) => match[1] as string);
    for (const name of placeholders) expect(['AWS::Region', ...Object.keys(names)], name).toContain(name);
    const widgets = (
      JSON.parse(body.replace(/\$\{[^}]+\}/g, 'x')) as {
        widgets: { type: string; properties: Record<string, unknown> }[];
      }
    ).widgets;
    const published = new Map<string, string>([
      ...[...Object.values(DRAIN_METRICS), CHECKPOINT_AGE_METRIC, LAG_METRIC].map(
        (name) => [name, 'drainId,service'] as const,
      ),
      ...['RecordsProduced', 'RecordsFailed', 'ProduceLatency', INGEST_METRICS.spooled].map(
        (name) => [name, 'service,topic'] as const,
      ),
      [INGEST_METRICS.breakerOpen, 'service'],
    ]);
    const searches = widgets
      .flatMap((widget) => (widget.properties.metrics ?? []) as { expression: string }[][])
      .map(([metric]) => metric?.expression ?? '');
    expect(searches.length).toBeGreaterThanOrEqual(10);
    for (const search of searches.filter((expression) => expression.includes('{KafkaRestBridge,'))) {
      const [, dimensions = '', metric = ''] =
        /\{KafkaRestBridge,([\w,]+)\} MetricName="(\w+)"/.exec(search) ?? [];
      expect(published.get(metric), search).toBe(dimensions);
    }
    // The queue names and alarms the body names are the stack's own resources.
    for (const value of Object.values(names)) {
      const ref = JSON.stringify(value).match(/"Fn::GetAtt":\["(\w+)"/)?.[1];
      if (ref !== undefined) expect(template.Resources[ref], ref).toBeDefined();
    }
    const alarms = widgets.find((widget) => widget.type === 'alarm')?.properties.alarms as string[];
    expect(alarms.length).toBe(12);
    expect(template.Outputs?.DashboardUrl).toHaveProperty('Value');
  });

  it.each([
    'IngestQueueUrl',
    'IngestDlqUrl',
    'EventsDlqUrl',
    'DrainDlqUrl',
    'CheckpointTableName',
    'HttpApiUrl',
  ])('outputs %s', (name) => {
    expect(template.Outputs?.[name]).toHaveProperty('Value');
  });
});

describe('an existing queue instead of the stack’s (stage parameter queueArn), and a Function URL', () => {
  const EXISTING = 'arn:aws:sqs:eu-west-1:123456789012:orders-in';
  const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
  /** A condition's `Fn::Equals` as the packaged template has it, decided: the parameters are literal by now. */
  const holds = (name: string): boolean => {
    const node = other.Conditions?.[name] as {
      'Fn::Equals'?: unknown[];
      'Fn::Not'?: [{ 'Fn::Equals': unknown[] }];
    };
    const equals = node['Fn::Equals'] ?? node['Fn::Not']?.[0]['Fn::Equals'] ?? [];
    const same = equals[0] === equals[1];
    return node['Fn::Not'] === undefined ? same : !same;
  };
  let other: Template;

  beforeAll(async () => {
    other = (await packageTemplate(
      ROOT,
      {
        ...README_DEPLOY.params,
        queueArn: EXISTING,
        stackQueue: 'false',
        queueKmsKeyArn: KEY,
        queueDlqName: 'orders-in-dlq',
        webhookFunctionUrl: 'true',
        drainPartitionsPerInvocation: '32',
      },
      README_DEPLOY,
    )) as Template;
  }, 120_000);

  it('passes drainPartitionsPerInvocation to the drain and turns its fan-out grants on', () => {
    const drain = Object.values(other.Resources).find(
      (resource) => resource.Properties?.FunctionName === `kafka-rest-bridge-${README_DEPLOY.stage}-drain`,
    );
    const variables =
      (drain?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {};

    expect(variables.DRAIN_PARTITIONS_PER_INVOCATION).toBe('32');
    expect(holds('HasDrainFanOut')).toBe(true);
  });

  it('gives the webhook a Function URL only when webhookFunctionUrl is true', () => {
    const urls = (of: Template) =>
      Object.values(of.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Url');

    expect(urls(template)).toEqual([]);
    expect(urls(other).map((url) => url.Properties?.AuthType)).toEqual(['NONE']);
  });

  it('maps the queue function to that queue and lets it consume that queue only', () => {
    const mappings = Object.values(other.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping',
    );
    const statements = (
      (other.Resources.QueueRole?.Properties?.Policies ?? []) as {
        PolicyDocument: { Statement: { Action?: unknown; Resource?: unknown }[] };
      }[]
    ).flatMap((policy) => policy.PolicyDocument.Statement);
    const consume = statements.filter(
      (statement) => Array.isArray(statement.Action) && statement.Action.includes('sqs:ReceiveMessage'),
    );

    expect(
      mappings
        .filter((mapping) => render(mapping.Properties?.FunctionName) === 'GetAtt:QueueLambdaFunction.Arn')
        .map((mapping) => mapping.Properties?.EventSourceArn),
    ).toEqual([EXISTING]);
    expect(consume.map((statement) => statement.Resource)).toEqual([EXISTING]);
  });

  it('creates no queue, DLQ, alarm or output of its own, alarms on that queue’s DLQ, and may decrypt its key', () => {
    const byCondition = (condition: string) =>
      Object.entries(other.Resources)
        .filter(([, resource]) => (resource as { Condition?: string }).Condition === condition)
        .map(([name]) => name)
        .sort();
    const outputs = Object.entries(other.Outputs ?? {}) as [string, { Condition?: string }][];
    const decrypt = (
      (other.Resources.QueueRole?.Properties?.Policies ?? []) as {
        PolicyDocument: { Statement: unknown[] };
      }[]
    )
      .flatMap((policy) => policy.PolicyDocument.Statement)
      .filter(
        (statement): statement is { 'Fn::If': [string, { Action: string; Resource: string }, unknown] } =>
          JSON.stringify(statement).includes('kms:Decrypt'),
      );

    expect(holds('HasStackQueue')).toBe(false);
    expect(byCondition('HasStackQueue')).toEqual(['IngestDlq', 'IngestDlqDepthAlarm', 'IngestQueue']);
    expect(
      outputs
        .filter(([, output]) => output.Condition === 'HasStackQueue')
        .map(([name]) => name)
        .sort(),
    ).toEqual(['IngestDlqUrl', 'IngestQueueUrl']);
    expect(holds('HasExternalQueueDlq')).toBe(true);
    expect(byCondition('HasExternalQueueDlq')).toEqual(['ExternalQueueDlqDepthAlarm']);
    expect(other.Resources.ExternalQueueDlqDepthAlarm?.Properties?.Dimensions).toEqual([
      { Name: 'QueueName', Value: 'orders-in-dlq' },
    ]);
    expect(holds('HasQueueKmsKey')).toBe(true);
    expect(decrypt.map((statement) => statement['Fn::If'])).toEqual([
      ['HasQueueKmsKey', { Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY }, { Ref: 'AWS::NoValue' }],
    ]);
  });
});

describe('the README’s deploy command, packaged as written', () => {
  it('is a prod stage in one region, and every secret ARN it names is in that region', () => {
    const arns = Object.values(README_DEPLOY.params).filter((value) => value.startsWith('arn:'));

    expect(README_DEPLOY.stage).toBe('prod');
    expect(arns.length).toBeGreaterThan(0);
    expect(arns.every((arn) => arn.split(':')[3] === README_DEPLOY.region)).toBe(true);
  });

  it('outputs each route’s full URL', () => {
    const routes = Object.keys(JSON.parse(README_DEPLOY.params.webhookRoutes ?? '{}'));
    const urls = Object.entries(template.Outputs ?? {})
      .filter(([name]) => name.startsWith('WebhookUrl'))
      .map(([, output]) => (output as { Value: { 'Fn::Sub': string } }).Value['Fn::Sub']);

    expect(routes).toEqual(['github']);
    // CloudFormation's own ${…} substitutions, not a JavaScript template.
    const sub = ['https://$', '{HttpApi}.execute-api.$', '{AWS::Region}.$', '{AWS::URLSuffix}/hooks/github'];
    expect(urls).toEqual([sub.join('')]);
  });

  it('routes every method and path under /hooks to the webhook, so its own 404 and 405 answers are reached', () => {
    const routeKeys = resourcesOfType('AWS::ApiGatewayV2::Route')
      .map(([, route]) => route.Properties?.RouteKey)
      .sort();

    expect(routeKeys).toEqual(['ANY /hooks', 'ANY /hooks/{route+}']);
  });

  it('throttles the webhook API by the stage parameters’ defaults', () => {
    const [[, stage] = []] = resourcesOfType('AWS::ApiGatewayV2::Stage');

    expect(stage?.Properties?.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
  });

  it('schedules the drain it configures, and creates no EventBridge rule without an events pattern', () => {
    const rules = resourcesOfType('AWS::Events::Rule').map(([, rule]) => rule.Properties ?? {});

    expect(rules.filter((rule) => 'ScheduleExpression' in rule)).toHaveLength(1);
    expect(rules.filter((rule) => 'EventPattern' in rule)).toEqual([]);
  });

  it('names the stage in every record id the drain sends on', () => {
    expect(envOf('drain').DRAIN_ID_NAMESPACE).toBe(`kafka-rest-bridge-${README_DEPLOY.stage}`);
  });

  it('deploys no plaintext credential and no placeholder', () => {
    const text = JSON.stringify(template);

    expect(text).not.toContain('example.invalid');
    expect(text).not.toContain('000000000000');
    for (const [, fn] of resourcesOfType('AWS::Lambda::Function')) {
      const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      expect(variables?.KAFKA_REST_API_KEY ?? '').toBe('');
    }
  });
});

describe('a stage that is not ready is refused before anything is built', () => {
  it('lists every missing required parameter of a bare prod package', async () => {
    // Act
    const outcome = await packageStack(
      ROOT,
      join(tmpdir(), 'never-written'),
      {},
      { stage: 'prod', region: 'eu-west-1' },
    ).then(
      () => 'packaged',
      (error: unknown) => String(error),
    );

    // Assess
    expect(outcome).toContain('Stage "prod" is not ready to package or deploy (2 problems)');
    expect(outcome).toContain('--param kafkaRestUrl=… is required');
    expect(outcome).toContain('--param kafkaRestSecretArn=… is required');
  }, 60_000);
});
