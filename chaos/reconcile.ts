/**
 * Reconciliation of a chaos run, computed only from what was observed: the handlers' answers, the records
 * the Kafka REST server stores, the requests the sink received, the DLQ's messages and the checkpoint
 * table. Nothing here assumes that a component did what it claims; each guarantee of design §2 is checked
 * against the other side's record of it.
 */

/** The ingestion paths of design §1. */
export const SOURCES = ['webhook', 'queue', 'events'] as const;
export type Source = (typeof SOURCES)[number];

/** One input sent into the bridge, and what its sender was told. */
export interface IngestInput {
  /** Unique per input; also the `id` field of the record value, so it can be found in Kafka. */
  readonly id: string;
  readonly source: Source;
  readonly topic: string;
  /** Webhook 2xx, SQS message not in `batchItemFailures`, or the events handler resolved. */
  readonly acknowledged: boolean;
  /** Where the bridge said it was written (webhook and events answers carry it; SQS does not). */
  readonly ack?: { readonly partition: number; readonly offset: number };
  /** Deliveries of the input (sender retries, SQS redeliveries, Lambda's async retries). */
  readonly attempts: number;
}

export interface KafkaPartitionObservation {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly { readonly offset: number; readonly value: Buffer | null }[];
}

/** One request the sink got: coordinates from its headers, the status it answered (null: none). */
export interface SinkObservation {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly status: number | null;
  readonly body: Buffer;
}

export interface DeadLetterObservation {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface CheckpointObservation {
  readonly topic: string;
  readonly partition: number;
  /** Undefined: the partition was never committed (nothing below it counts as delivered). */
  readonly nextOffset: number | undefined;
}

export interface Observations {
  readonly inputs: readonly IngestInput[];
  readonly kafka: readonly KafkaPartitionObservation[];
  readonly sink: readonly SinkObservation[];
  readonly deadLetters: readonly DeadLetterObservation[];
  readonly checkpoints: readonly CheckpointObservation[];
}

export interface Reconciliation {
  readonly inputs: Readonly<Record<Source, { readonly sent: number; readonly acknowledged: number }>>;
  /** Acknowledged inputs whose id is in no record of their topic (each entry: the input id). */
  readonly lostAcknowledged: readonly string[];
  /** Acknowledged with a partition/offset that holds another record (`id@topic/partition/offset`). */
  readonly wrongAcknowledgements: readonly string[];
  /** Records below a committed checkpoint neither accepted by the sink nor in the DLQ (`t/p/o`). */
  readonly lostBelowCheckpoint: readonly string[];
  /** Records the sink accepted with bytes other than Kafka's (`t/p/o`). */
  readonly alteredAtSink: readonly string[];
  /** Extra copies in Kafka (at-least-once ingestion: ambiguous resends, redeliveries). */
  readonly duplicatedInKafka: number;
  /** Inputs written to Kafka although their sender was never told so (harmless: a retry duplicates). */
  readonly writtenUnacknowledged: number;
  /** Extra accepted deliveries at the sink (at-least-once draining). */
  readonly duplicatedAtSink: number;
  /** Records below a checkpoint that reached the DLQ. */
  readonly deadLettered: number;
  /** Records below a checkpoint that reached the sink. */
  readonly delivered: number;
  /** Records below a checkpoint that are both at the sink and in the DLQ (a late 2xx after giving up). */
  readonly deliveredAndDeadLettered: number;
  /** Per partition, records the sink first saw after it had seen a higher offset. */
  readonly reordered: number;
  /** Each of those: `t/p/o after <higher offset>`. */
  readonly reorderedAt: readonly string[];
  /** Records at or above their checkpoint: not yet drained when the run ended. */
  readonly undrained: number;
  /** Everything counted as lost, together: must be 0. */
  readonly lost: number;
}

const coordinates = (topic: string, partition: number, offset: number): string =>
  `${topic}/${partition}/${offset}`;

/** The `id` field of a record value, when the value is a JSON object that has one. */
export const idOfValue = (value: Buffer | null): string | undefined => {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
};

const isAccepted = (status: number | null): boolean => status !== null && status >= 200 && status < 300;

/** Checks every guarantee of design §2 against the observations. Pure. */
export const reconcile = (observed: Observations): Reconciliation => {
  // Where each id sits in Kafka: topic → id → coordinates of every copy.
  const copies = new Map<string, Map<string, string[]>>();
  const valueAt = new Map<string, Buffer | null>();
  for (const { topic, partition, records } of observed.kafka) {
    const byId = copies.get(topic) ?? new Map<string, string[]>();
    copies.set(topic, byId);
    for (const record of records) {
      const at = coordinates(topic, partition, record.offset);
      valueAt.set(at, record.value);
      const id = idOfValue(record.value);
      if (id === undefined) continue;
      byId.set(id, [...(byId.get(id) ?? []), at]);
    }
  }

  const inputs = Object.fromEntries(
    SOURCES.map((source) => [source, { sent: 0, acknowledged: 0 }]),
  ) as Record<Source, { sent: number; acknowledged: number }>;
  const lostAcknowledged: string[] = [];
  const wrongAcknowledgements: string[] = [];
  let writtenUnacknowledged = 0;
  const inputIds = new Set<string>();
  for (const input of observed.inputs) {
    inputIds.add(input.id);
    const tally = inputs[input.source];
    tally.sent += 1;
    const found = copies.get(input.topic)?.get(input.id) ?? [];
    if (!input.acknowledged) {
      if (found.length > 0) writtenUnacknowledged += 1;
      continue;
    }
    tally.acknowledged += 1;
    if (found.length === 0) lostAcknowledged.push(input.id);
    if (input.ack !== undefined) {
      const at = coordinates(input.topic, input.ack.partition, input.ack.offset);
      if (!found.includes(at)) wrongAcknowledgements.push(`${input.id}@${at}`);
    }
  }
  let duplicatedInKafka = 0;
  for (const byId of copies.values()) {
    for (const [id, at] of byId) if (inputIds.has(id)) duplicatedInKafka += at.length - 1;
  }

  // The sink's side: accepted deliveries per record, first-seen order per partition.
  const acceptedCount = new Map<string, number>();
  const altered = new Set<string>();
  const highestFirstSeen = new Map<string, number>();
  const reorderedAt: string[] = [];
  const seen = new Set<string>();
  for (const request of observed.sink) {
    const at = coordinates(request.topic, request.partition, request.offset);
    // Order is about what the sink sees, whatever it answered: a record it refused (then sent to the DLQ)
    // and accepted later from an older checkpoint is a redelivery, not a reorder.
    if (!seen.has(at)) {
      seen.add(at);
      const partitionKey = `${request.topic}/${request.partition}`;
      const highest = highestFirstSeen.get(partitionKey);
      if (highest !== undefined && request.offset < highest) reorderedAt.push(`${at} after ${highest}`);
      else highestFirstSeen.set(partitionKey, request.offset);
    }
    if (!isAccepted(request.status)) continue;
    acceptedCount.set(at, (acceptedCount.get(at) ?? 0) + 1);
    const stored = valueAt.get(at);
    if (stored === undefined || !(stored ?? Buffer.alloc(0)).equals(request.body)) altered.add(at);
  }
  let duplicatedAtSink = 0;
  for (const count of acceptedCount.values()) duplicatedAtSink += count - 1;
  const inDlq = new Set(
    observed.deadLetters.map((letter) => coordinates(letter.topic, letter.partition, letter.offset)),
  );

  const nextOffsetOf = new Map<string, number | undefined>();
  for (const checkpoint of observed.checkpoints) {
    nextOffsetOf.set(`${checkpoint.topic}/${checkpoint.partition}`, checkpoint.nextOffset);
  }
  const lostBelowCheckpoint: string[] = [];
  let delivered = 0;
  let deadLettered = 0;
  let deliveredAndDeadLettered = 0;
  let undrained = 0;
  for (const { topic, partition, records } of observed.kafka) {
    const nextOffset = nextOffsetOf.get(`${topic}/${partition}`) ?? 0;
    for (const record of records) {
      if (record.offset >= nextOffset) {
        undrained += 1;
        continue;
      }
      const at = coordinates(topic, partition, record.offset);
      const atSink = acceptedCount.has(at);
      const dead = inDlq.has(at);
      if (atSink) delivered += 1;
      if (dead) deadLettered += 1;
      if (atSink && dead) deliveredAndDeadLettered += 1;
      if (!atSink && !dead) lostBelowCheckpoint.push(at);
    }
  }

  const alteredAtSink = [...altered].sort();
  return {
    inputs,
    lostAcknowledged,
    wrongAcknowledgements,
    lostBelowCheckpoint,
    alteredAtSink,
    duplicatedInKafka,
    writtenUnacknowledged,
    duplicatedAtSink,
    deadLettered,
    delivered,
    deliveredAndDeadLettered,
    reordered: reorderedAt.length,
    reorderedAt,
    undrained,
    lost:
      lostAcknowledged.length +
      wrongAcknowledgements.length +
      lostBelowCheckpoint.length +
      alteredAtSink.length,
  };
};
