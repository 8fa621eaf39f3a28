import { loadPeers } from './peers.js';

/**
 * Refuses to run the peer suite without the real pair (a suite that skipped itself would read green), and
 * says which peers it runs against.
 */
export async function setup(): Promise<void> {
  const peers = loadPeers();
  const ready = await fetch(`${peers.managementUrl}/ready`).catch((error: unknown) => error);
  if (!(ready instanceof Response) || !ready.ok)
    throw new Error(`the Strimzi bridge at ${peers.managementUrl} is not ready: ${String(ready)}`);
  console.log(
    `peer suite against Apache Kafka ${peers.kafkaVersion} at ${peers.kafkaBootstrap} and the Strimzi Kafka Bridge ${peers.bridgeVersion} at ${peers.bridgeUrl} (from ${peers.bridgeFrom})`,
  );
}
