import { type ReaderFactory, refusingReader } from './calls.js';
import type { KafkaRestDialect } from './flavors.js';
import { createSimpleConsumeReader, redpandaSimpleConsume, v1SimpleConsume } from './simple-reader.js';
import { createV2Reader } from './v2-reader.js';

/** v2: empty `records` reads in a row, while the log has more, before a fetch gives up with `[]`. */
const MAX_EMPTY_READS = 5;

/**
 * How each dialect reads a partition, chosen here only: v1's simple consume; on v2, a consumer instance,
 * except on Redpanda, whose proxy has no assignments or positions but a simple consume of its own; nothing
 * on v3.
 */
const READERS: Readonly<Record<KafkaRestDialect, ReaderFactory>> = {
  v1: (deps, settings) =>
    createSimpleConsumeReader(deps, v1SimpleConsume(settings.basePath), settings.fetchBudgetBytes),
  v2: (deps, settings) =>
    settings.flavor === 'redpanda'
      ? createSimpleConsumeReader(
          deps,
          redpandaSimpleConsume(settings.basePath, {
            maxBytes: settings.fetchMaxBytes,
            waitMs: settings.fetchWaitMs,
          }),
          settings.fetchBudgetBytes,
        )
      : createV2Reader(deps, {
          baseUrl: settings.baseUrl,
          basePath: settings.basePath,
          group: settings.consumerGroup,
          flavor: settings.flavor,
          maxBytes: settings.fetchMaxBytes,
          maxAnswerBytes: settings.fetchBudgetBytes,
          waitMs: settings.fetchWaitMs,
          maxEmptyReads: MAX_EMPTY_READS,
          newInstanceName: () => `krb-${globalThis.crypto.randomUUID()}`,
        }),
  v3: () => V3_READER,
};

export const createReader: ReaderFactory = (deps, settings) => READERS[settings.dialect](deps, settings);

/** v3 produces only (protocol doc §7): every read is a configuration error, said as such. */
const V3_READER = refusingReader(
  'Kafka REST v3 (KAFKA_REST_DIALECT=v3) has no consume API: reading a partition (the drain) needs KAFKA_REST_DIALECT v1 or v2',
);
