import {
  type AwsJsonClient,
  type AwsJsonClientOptions,
  createAwsJsonClient,
  DYNAMODB,
  type SdkClientLike,
  toAwsJsonClient,
} from './json-client.js';

/**
 * DynamoDB's low-level JSON, as far as the bridge's two tables use it: the attribute values they store
 * (the stores map their dozen attributes by hand, as they did with the SDK's types).
 */
export interface AttributeValue {
  readonly S?: string;
  readonly N?: string;
  readonly BOOL?: boolean;
  readonly M?: Readonly<Record<string, AttributeValue>>;
}

export type Item = Record<string, AttributeValue>;

export interface GetItemOutput {
  readonly Item?: Item;
}
export interface WriteItemOutput {
  readonly Attributes?: Item;
}
export interface ScanOutput {
  readonly Items?: Item[];
  readonly LastEvaluatedKey?: Item;
}

/** A DynamoDB client: signed JSON calls over a pool (see `json-client.ts`). */
export type DynamoDb = AwsJsonClient;

/** What the stores take: a {@link DynamoDb}, or an AWS SDK `DynamoDBClient` whose settings it then uses. */
export type DynamoDbSource = DynamoDb | SdkClientLike;

export const createDynamoDb = (options: AwsJsonClientOptions = {}): DynamoDb =>
  createAwsJsonClient(DYNAMODB, options);

export const toDynamoDb = (source: DynamoDbSource): DynamoDb => toAwsJsonClient(DYNAMODB, source);
