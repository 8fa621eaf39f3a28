/**
 * The embedded defaults of `npm start`. `serverless.yml`'s `params.local` points the functions at these
 * same ports and names; change both together.
 */
export const LOCAL = {
  httpPort: 3000,
  lambdaPort: 3002,
  kafkaRestPort: 8082,
  dynamoPort: 4567,
  sinkPort: 8090,
  topics: { demo: 3, orders: 3 },
  /** The local proxy's API key: not a secret, it guards nothing but this machine's dev server. */
  apiKey: 'local-dev-key',
  /** The v3 cluster id of `/v3/clusters/{id}` (`npm start -- --dialect v3`). */
  clusterId: 'local-cluster',
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  checkpointTable: 'kafka-rest-bridge-local-checkpoints',
  idempotencyTable: 'kafka-rest-bridge-local-idempotency',
  drainFunctionName: 'kafka-rest-bridge-local-drain',
} as const;
