/**
 * The embedded defaults of `npm start` (its flags and `local.json` override the ports). `serverless.yml`'s
 * `params.local` holds the same ports and names for a bare `serverless offline --stage local`; `npm start`
 * passes the URLs that depend on ports as parameters, so they always match the servers it started.
 */
export const LOCAL = {
  httpPort: 3000,
  lambdaPort: 3002,
  kafkaRestPort: 8082,
  dynamoPort: 4567,
  sinkPort: 8090,
  /** Serves docs/openapi.yaml, the webhook API's description. */
  docsPort: 3001,
  /** The local console (topics, latest records, drains, pause / resume / replay); not 3100, which the README suggests for httpPort. */
  consolePort: 3003,
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
  /** The local drain: every partition of `demo` to the printing HTTP sink. */
  drains: (sinkPort: number) => [
    {
      id: 'demo-to-sink',
      topic: 'demo',
      partitions: 'all',
      sink: { type: 'http', url: `http://127.0.0.1:${sinkPort}/records`, allowHttp: true },
      batchSize: 100,
      resetPolicy: 'earliest',
    },
  ],
} as const;
