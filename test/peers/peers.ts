import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rawCall } from '../../dev/kafka-rest/raw-client.js';
import { noAuth } from '../../lib/kafka-rest/auth.js';
import { createKafkaRest, type KafkaRestOptions } from '../../lib/kafka-rest/client.js';
import type { FetchedRecord, KafkaRestClient } from '../../lib/kafka-rest/types.js';

/** The running pair, as `peers/start.sh` wrote it into `.peers/run/peers.env`. */
export interface Peers {
  readonly bridgeUrl: string;
  readonly managementUrl: string;
  readonly kafkaBootstrap: string;
  /** The bridge's `http.timeoutSeconds`, in ms: an instance idle that long is deleted. */
  readonly consumerTimeoutMs: number;
  readonly kafkaVersion: string;
  readonly bridgeVersion: string;
  /** Where the bridge's jars came from (Maven, or an unpacked release). */
  readonly bridgeFrom: string;
}

const ROOT = join(import.meta.dirname, '..', '..');
const ENV_FILE = join(ROOT, '.peers', 'run', 'peers.env');

/** Reads the running pair's settings; throws, naming the start command, when none runs. */
export const loadPeers = (): Peers => {
  let text: string;
  try {
    text = readFileSync(ENV_FILE, 'utf8');
  } catch {
    throw new Error(`the peers are not running (no ${ENV_FILE}): start them with bash peers/start.sh`);
  }
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1).replace(/^"|"$/g, '')];
      }),
  );
  const need = (key: string): string => {
    const value = env[key];
    if (value === undefined || value === '') throw new Error(`${ENV_FILE} has no ${key}`);
    return value;
  };
  return {
    bridgeUrl: need('PEERS_BRIDGE_URL'),
    managementUrl: need('PEERS_MANAGEMENT_URL'),
    kafkaBootstrap: need('PEERS_KAFKA_BOOTSTRAP'),
    consumerTimeoutMs: Number(need('PEERS_CONSUMER_TIMEOUT_SECONDS')) * 1000,
    kafkaVersion: need('PEERS_KAFKA_VERSION'),
    bridgeVersion: need('PEERS_BRIDGE_VERSION'),
    bridgeFrom: need('PEERS_BRIDGE_FROM'),
  };
};

/** A topic name no earlier run of the suite used (the pair's data lives as long as the pair). */
export const uniqueTopic = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Creates a topic through the bridge's own admin route; throws on anything but 201. */
export const createTopic = async (peers: Peers, topic: string, partitions: number): Promise<void> => {
  const reply = await rawCall(peers.bridgeUrl, 'POST', '/admin/topics', {
    headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
    body: { topic_name: topic, partitions_count: partitions, replication_factor: 1 },
  });
  if (reply.status !== 201) throw new Error(`POST /admin/topics ${topic}: ${reply.status} ${reply.text}`);
};

/** The settings a deployed function would have against the bridge. */
export const functionEnv = (peers: Peers): Record<string, string> => ({
  KAFKA_REST_URL: peers.bridgeUrl,
  KAFKA_REST_ALLOW_HTTP: 'true',
  KAFKA_REST_AUTH: 'none',
  KAFKA_REST_DIALECT: 'v2',
  KAFKA_REST_FLAVOR: 'strimzi',
  AWS_REGION: 'us-east-1',
});

/** The project's client against the bridge, v2 strimzi, with the given overrides. */
export const bridgeClient = (peers: Peers, options: Partial<KafkaRestOptions> = {}): KafkaRestClient =>
  createKafkaRest({
    baseUrl: peers.bridgeUrl,
    allowHttp: true,
    auth: noAuth(),
    dialect: 'v2',
    flavor: 'strimzi',
    consumerGroup: uniqueTopic('peers'),
    ...options,
  });

/** Stops one peer and starts it again on the same ports and data (`peers/start.sh --restart`). */
export const restartPeer = async (peer: 'kafka' | 'bridge'): Promise<void> => {
  await promisify(execFile)('bash', [join(ROOT, 'peers', 'start.sh'), '--restart', peer], {
    timeout: 120_000,
  });
};

/** A call deadline `ms` from now. */
export const deadline = (ms = 30_000): { deadlineMs: number } => ({ deadlineMs: Date.now() + ms });

/** Reads one partition from `offset` until `count` records came back (or the deadline), in fetch order. */
export const readAll = async (
  client: KafkaRestClient,
  topic: string,
  partition: number,
  offset: number,
  count: number,
  maxRecords = 100,
): Promise<FetchedRecord[]> => {
  const records: FetchedRecord[] = [];
  const until = Date.now() + 30_000;
  let next = offset;
  while (records.length < count && Date.now() < until) {
    const batch = await client.fetch(topic, partition, next, { maxRecords, deadlineMs: until });
    records.push(...batch);
    next = (batch.at(-1)?.offset ?? next - 1) + 1;
  }
  await client.endFetch(topic, partition, deadline());
  return records;
};
