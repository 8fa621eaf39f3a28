import { type ReaderFactory, refusingReader } from './calls.js';
import { createSimpleConsumeReader, redpandaSimpleConsume, v1SimpleConsume } from './simple-reader.js';
import { createV2Reader } from './v2-reader.js';

/** v2: empty `records` reads in a row, while the log has more, before a fetch gives up with `[]`. */
const MAX_EMPTY_READS = 5;

/**
 * How the dialect and flavor read a partition: v1's simple consume; on v2, a consumer instance, except on
 * Redpanda, whose proxy has no assignments or positions but a simple consume of its own; nothing on v3.
 */
export const createReader: ReaderFactory = (deps, settings) => {
  const { basePath } = settings;
  if (settings.dialect === 'v1') {
    return createSimpleConsumeReader(deps, v1SimpleConsume(basePath), settings.fetchBudgetBytes);
  }
  if (settings.dialect === 'v3') return V3_READER;
  if (settings.flavor === 'redpanda') {
    return createSimpleConsumeReader(
      deps,
      redpandaSimpleConsume(basePath, { maxBytes: settings.fetchMaxBytes, waitMs: settings.fetchWaitMs }),
      settings.fetchBudgetBytes,
    );
  }
  return createV2Reader(deps, {
    baseUrl: settings.baseUrl,
    basePath,
    group: settings.consumerGroup,
    flavor: settings.flavor,
    maxBytes: settings.fetchMaxBytes,
    maxAnswerBytes: settings.fetchBudgetBytes,
    waitMs: settings.fetchWaitMs,
    maxEmptyReads: MAX_EMPTY_READS,
    newInstanceName: () => `krb-${globalThis.crypto.randomUUID()}`,
  });
};

/** v3 produces only (protocol doc §7): every read is a configuration error, said as such. */
const V3_READER = refusingReader(
  'Kafka REST v3 (KAFKA_REST_DIALECT=v3) has no consume API: reading a partition (the drain) needs KAFKA_REST_DIALECT v1 or v2',
);
