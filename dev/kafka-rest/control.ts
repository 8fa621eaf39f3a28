import type { CredentialGate } from './auth.js';
import type { ConsumerRegistry } from './consumer-types.js';
import type { FaultQueue } from './faults.js';
import type { AppendItem, LogStore } from './log-store.js';
import type { KafkaRestServer, RecordedRequest, StoredHeader, StoredRecord } from './types.js';

export interface ControlDeps {
  readonly store: LogStore;
  /** Appends and wakes the reads waiting for records. */
  readonly append: (topic: string, items: readonly AppendItem[]) => number[];
  readonly requests: RecordedRequest[];
  readonly faults: FaultQueue;
  readonly consumers: ConsumerRegistry;
  readonly credentials: CredentialGate;
}

const decode = (b64: string | null): Buffer | null => (b64 === null ? null : Buffer.from(b64, 'base64'));

/** The programmatic side of the server that tests drive: the log, the faults, the consumers, the keys. */
export const createControl = (deps: ControlDeps): Omit<KafkaRestServer, 'url' | 'close'> => {
  const { store, faults, consumers, credentials } = deps;
  return {
    requests: deps.requests,
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    records: (topic, partition): StoredRecord[] => {
      const { start, end } = store.bounds(topic, partition);
      return store.read(topic, partition, start, end - start).map((e, i) => {
        const record = { offset: start + i, key: decode(e.key), value: decode(e.value) };
        if (e.headers === undefined) return record;
        const headers: StoredHeader[] = e.headers.map((h) => ({ name: h.name, value: decode(h.value) }));
        return { ...record, headers };
      });
    },
    append: (topic, partition, records) => {
      // Throws for an unknown topic or partition before anything is written.
      store.bounds(topic, partition);
      return deps.append(
        topic,
        records.map((r) => ({
          partition,
          key: r.key === undefined || r.key === null ? null : r.key.toString('base64'),
          value: r.value === null ? null : r.value.toString('base64'),
        })),
      );
    },
    truncateBefore: (topic, partition, offset) => store.truncateBefore(topic, partition, offset),
    createTopic: (name, partitions) => store.createTopic(name, partitions),
    deleteTopic: (name) => store.deleteTopic(name),
    restartConsumers: () => consumers.restart(),
    consumerInstances: () => consumers.size(),
    setApiKey: (key) => credentials.setApiKey(key),
    setBasicAuth: (userPassword) => credentials.setBasicAuth(userPassword),
  };
};
