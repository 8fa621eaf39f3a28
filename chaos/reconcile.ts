/**
 * Reconciliation of a chaos run, computed only from what was observed: the handlers' answers, the records
 * the Kafka REST server stores, what each sink received or holds, the DLQ's messages and the checkpoint
 * table. Nothing here assumes that a component did what it claims; each guarantee of design §2 is checked
 * against the other side's record of it, per topic (each topic of a run is one configuration: one
 * ingestion path into it, one drain out of it).
 */

/** The ingestion paths of design §1, with the route and queue options that change their guarantees. */
export const SOURCES = ['webhook', 'webhook-idempotent', 'queue', 'queue-fifo', 'events'] as const;
export type Source = (typeof SOURCES)[number];

/** What a sender was told when it delivered an input again after its first 2xx (idempotent routes). */
export interface ResendAnswer {
  readonly status: number;
  /** The `Idempotent-Replayed: true` header: the bridge says it produced nothing. */
  readonly replayed: boolean;
  readonly ack?: { readonly partition: number; readonly offset: number };
}

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
  /** A FIFO message: its MessageGroupId and its place in the group, as sent. */
  readonly group?: { readonly id: string; readonly seq: number };
  /**
   * Deliveries of the same id sent on purpose after the first 2xx, once every earlier attempt had landed:
   * `copiesBefore` is how many copies Kafka held just before them, so any copy beyond it was produced by a
   * delivery that had to be answered from the idempotency store.
   */
  readonly resent?: { readonly copiesBefore: number; readonly answers: readonly ResendAnswer[] };
}

export interface KafkaPartitionObservation {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly {
    readonly offset: number;
    readonly key?: Buffer | null;
    readonly value: Buffer | null;
  }[];
}

/**
 * One record as a sink got it, in the order the sink got it (HTTP: each request, a batch's items in body
 * order) or holds it (SQS: the queue's messages). `status` is what the sink answered (null: none).
 */
export interface SinkObservation {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly status: number | null;
  readonly body: Buffer;
  /** Whether this sink promises per-partition order (HTTP, SQS FIFO); others only count reorders. */
  readonly ordered: boolean;
  /**
   * False where only accepted records are observed (a queue's messages, a bus's events), so a record
   * refused before it was dead-lettered is not seen; HTTP observes every request.
   */
  readonly sinkKeepsRefusals?: boolean;
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
  /**
   * The order the drains promise (default `partition`): `key` checks each key of a partition on its own
   * (a key-less record is a key of its own, so it cannot be out of order).
   */
  readonly drainOrdering?: 'partition' | 'key';
}

/** The verdicts of one topic (one configuration of a run); every count is also summed in the run's total. */
export interface TopicTally {
  readonly sent: number;
  readonly acknowledged: number;
  /** Acknowledged and not in Kafka, acknowledged elsewhere, below a checkpoint and nowhere, altered. */
  readonly lost: number;
  /** FIFO groups: acknowledged messages whose first copy in Kafka follows a later message's first copy. */
  readonly reorderedInKafka: number;
  /** At sinks that promise order: records first seen after a higher offset of their partition. */
  readonly reorderedAtSink: number;
  /** The same count at sinks that promise no order (SQS standard, EventBridge): reported, not a failure. */
  readonly reorderedUnpromised: number;
  readonly duplicatedInKafka: number;
  readonly duplicatedAtSink: number;
  readonly deadLettered: number;
  readonly delivered: number;
  readonly undrained: number;
  /** Idempotent routes: copies produced after the first 2xx, and resends answered as if new or elsewhere. */
  readonly idempotencyBroken: number;
}

export interface Reconciliation {
  readonly inputs: Readonly<Record<Source, { readonly sent: number; readonly acknowledged: number }>>;
  /** Per topic, in the order topics were first observed. */
  readonly byTopic: Readonly<Record<string, TopicTally>>;
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
  /** Everything that breaks a promised order, together (in Kafka and at ordered sinks): must be 0. */
  readonly reordered: number;
  /** At ordered sinks: `t/p/o after <higher offset>`. */
  readonly reorderedAt: readonly string[];
  /** In Kafka, per FIFO group: `id (group g #seq) after #<higher seq>`. */
  readonly reorderedInKafkaAt: readonly string[];
  /** At sinks that promise no order: counted for the README's per-sink table, never a failure. */
  readonly reorderedUnpromised: number;
  /**
   * With `drainOrdering: key`, at ordered sinks: records first seen after a higher offset of their
   * partition but in order for their key, i.e. the parallelism key order allows; never a failure.
   */
  readonly overtakenAcrossKeys: number;
  /** Idempotent routes: `id: <n> copies after its first 2xx` and `id: resend answered <how>`; must be empty. */
  readonly idempotencyViolations: readonly string[];
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

type MutableTally = { -readonly [K in keyof TopicTally]: TopicTally[K] };

const emptyTally = (): MutableTally => ({
  sent: 0,
  acknowledged: 0,
  lost: 0,
  reorderedInKafka: 0,
  reorderedAtSink: 0,
  reorderedUnpromised: 0,
  duplicatedInKafka: 0,
  duplicatedAtSink: 0,
  deadLettered: 0,
  delivered: 0,
  undrained: 0,
  idempotencyBroken: 0,
});

/** Checks every guarantee of design §2 against the observations. Pure. */
export const reconcile = (observed: Observations): Reconciliation => {
  const byTopic = new Map<string, MutableTally>();
  const tallyOf = (topic: string): MutableTally => {
    const found = byTopic.get(topic);
    if (found !== undefined) return found;
    const created = emptyTally();
    byTopic.set(topic, created);
    return created;
  };

  // Where each id sits in Kafka: topic → id → coordinates of every copy, in offset order per partition.
  const copies = new Map<string, Map<string, { partition: number; offset: number; at: string }[]>>();
  const valueAt = new Map<string, Buffer | null>();
  const keyAt = new Map<string, Buffer | null>();
  for (const { topic, partition, records } of observed.kafka) {
    tallyOf(topic);
    const byId = copies.get(topic) ?? new Map<string, { partition: number; offset: number; at: string }[]>();
    copies.set(topic, byId);
    for (const record of records) {
      const at = coordinates(topic, partition, record.offset);
      valueAt.set(at, record.value);
      keyAt.set(at, record.key ?? null);
      const id = idOfValue(record.value);
      if (id === undefined) continue;
      byId.set(id, [...(byId.get(id) ?? []), { partition, offset: record.offset, at }]);
    }
  }

  const inputs = Object.fromEntries(
    SOURCES.map((source) => [source, { sent: 0, acknowledged: 0 }]),
  ) as Record<Source, { sent: number; acknowledged: number }>;
  const lostAcknowledged: string[] = [];
  const wrongAcknowledgements: string[] = [];
  const idempotencyViolations: string[] = [];
  let writtenUnacknowledged = 0;
  const inputIds = new Set<string>();
  // FIFO groups: topic + group → acknowledged messages with their first copy in Kafka.
  const groups = new Map<string, { id: string; seq: number; partition: number; offset: number }[]>();
  for (const input of observed.inputs) {
    inputIds.add(input.id);
    const tally = tallyOf(input.topic);
    inputs[input.source].sent += 1;
    tally.sent += 1;
    const found = copies.get(input.topic)?.get(input.id) ?? [];
    if (!input.acknowledged) {
      if (found.length > 0) writtenUnacknowledged += 1;
      continue;
    }
    inputs[input.source].acknowledged += 1;
    tally.acknowledged += 1;
    if (found.length === 0) {
      lostAcknowledged.push(input.id);
      tally.lost += 1;
    }
    if (input.ack !== undefined) {
      const at = coordinates(input.topic, input.ack.partition, input.ack.offset);
      if (!found.some((copy) => copy.at === at)) {
        wrongAcknowledgements.push(`${input.id}@${at}`);
        tally.lost += 1;
      }
    }
    const first = found[0];
    if (input.group !== undefined && first !== undefined) {
      const key = `${input.topic}#${input.group.id}`;
      groups.set(key, [...(groups.get(key) ?? []), { id: input.id, seq: input.group.seq, ...first }]);
    }
    if (input.resent !== undefined) {
      const extra = found.length - input.resent.copiesBefore;
      const broken: string[] = extra > 0 ? [`${input.id}: ${extra} copies produced after its first 2xx`] : [];
      for (const answer of input.resent.answers) {
        if (!isAccepted(answer.status)) continue;
        const same =
          answer.ack !== undefined &&
          answer.ack.partition === input.ack?.partition &&
          answer.ack.offset === input.ack.offset;
        if (!answer.replayed || !same) {
          broken.push(
            `${input.id}: a resend answered ${answer.status} ${answer.replayed ? 'replayed' : 'new'}`,
          );
        }
      }
      idempotencyViolations.push(...broken);
      tally.idempotencyBroken += broken.length;
    }
  }
  for (const [topic, byId] of copies) {
    for (const [id, at] of byId) {
      if (!inputIds.has(id)) continue;
      tallyOf(topic).duplicatedInKafka += at.length - 1;
    }
  }

  // A group's messages must enter Kafka in the order they were sent: first copies only, since a resend of
  // an earlier message after a later one was acknowledged is exactly the defect this looks for.
  const reorderedInKafkaAt: string[] = [];
  for (const [key, members] of groups) {
    const [topic = '', group = ''] = key.split('#');
    const inLogOrder = [...members].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    let highest: number | undefined;
    for (const member of inLogOrder) {
      if (highest !== undefined && member.seq < highest) {
        reorderedInKafkaAt.push(`${member.id} (group ${group} #${member.seq}) after #${highest}`);
        tallyOf(topic).reorderedInKafka += 1;
      } else {
        highest = member.seq;
      }
    }
  }

  const inDlq = new Set(
    observed.deadLetters.map((letter) => coordinates(letter.topic, letter.partition, letter.offset)),
  );

  // The sinks' side: accepted deliveries per record, first-seen order per partition.
  const acceptedCount = new Map<string, number>();
  const altered = new Set<string>();
  const highestFirstSeen = new Map<string, number>();
  const highestOfPartition = new Map<string, number>();
  const reorderedAt: string[] = [];
  let reorderedUnpromised = 0;
  let overtakenAcrossKeys = 0;
  const byKey = observed.drainOrdering === 'key';
  const seen = new Set<string>();
  for (const request of observed.sink) {
    const at = coordinates(request.topic, request.partition, request.offset);
    // Order is about what the sink sees, whatever it answered: a record it refused (then sent to the DLQ)
    // and accepted later from an older checkpoint is a redelivery, not a reorder. An SQS or EventBridge
    // sink keeps no record of what it refused, so a dead-lettered record's first sighting there may be
    // such a redelivery: it sets no order, and is held to none.
    if (!seen.has(at) && !(request.sinkKeepsRefusals === false && inDlq.has(at))) {
      seen.add(at);
      const partitionKey = `${request.topic}/${request.partition}`;
      const key = keyAt.get(at);
      // By key, a key-less record is alone in its lane: the offset names it.
      const lane = !byKey
        ? partitionKey
        : `${partitionKey}#${key == null ? `o${at}` : `k${key.toString('latin1')}`}`;
      if (byKey && request.ordered) {
        const partitionHighest = highestOfPartition.get(partitionKey) ?? -1;
        const laneHighest = highestFirstSeen.get(lane) ?? -1;
        if (request.offset < partitionHighest && request.offset > laneHighest) overtakenAcrossKeys += 1;
        highestOfPartition.set(partitionKey, Math.max(partitionHighest, request.offset));
      }
      const highest = highestFirstSeen.get(lane);
      if (highest !== undefined && request.offset < highest) {
        if (request.ordered) {
          reorderedAt.push(`${at} after ${highest}`);
          tallyOf(request.topic).reorderedAtSink += 1;
        } else {
          reorderedUnpromised += 1;
          tallyOf(request.topic).reorderedUnpromised += 1;
        }
      } else highestFirstSeen.set(lane, request.offset);
    }
    if (!isAccepted(request.status)) continue;
    acceptedCount.set(at, (acceptedCount.get(at) ?? 0) + 1);
    const stored = valueAt.get(at);
    if (stored === undefined || !(stored ?? Buffer.alloc(0)).equals(request.body)) altered.add(at);
  }
  for (const [at, count] of acceptedCount) {
    tallyOf(at.slice(0, at.indexOf('/'))).duplicatedAtSink += count - 1;
  }

  const nextOffsetOf = new Map<string, number | undefined>();
  for (const checkpoint of observed.checkpoints) {
    nextOffsetOf.set(`${checkpoint.topic}/${checkpoint.partition}`, checkpoint.nextOffset);
  }
  const lostBelowCheckpoint: string[] = [];
  let deliveredAndDeadLettered = 0;
  for (const { topic, partition, records } of observed.kafka) {
    const tally = tallyOf(topic);
    const nextOffset = nextOffsetOf.get(`${topic}/${partition}`) ?? 0;
    for (const record of records) {
      if (record.offset >= nextOffset) {
        tally.undrained += 1;
        continue;
      }
      const at = coordinates(topic, partition, record.offset);
      const atSink = acceptedCount.has(at);
      const dead = inDlq.has(at);
      if (atSink) tally.delivered += 1;
      if (dead) tally.deadLettered += 1;
      if (atSink && dead) deliveredAndDeadLettered += 1;
      if (!atSink && !dead) {
        lostBelowCheckpoint.push(at);
        tally.lost += 1;
      }
    }
  }
  const alteredAtSink = [...altered].sort();
  for (const at of alteredAtSink) tallyOf(at.slice(0, at.indexOf('/'))).lost += 1;

  const tallies = [...byTopic.values()];
  const sum = (field: keyof TopicTally): number => tallies.reduce((total, tally) => total + tally[field], 0);
  return {
    inputs,
    byTopic: Object.fromEntries(byTopic),
    lostAcknowledged,
    wrongAcknowledgements,
    lostBelowCheckpoint,
    alteredAtSink,
    duplicatedInKafka: sum('duplicatedInKafka'),
    writtenUnacknowledged,
    duplicatedAtSink: sum('duplicatedAtSink'),
    deadLettered: sum('deadLettered'),
    delivered: sum('delivered'),
    deliveredAndDeadLettered,
    reordered: reorderedAt.length + reorderedInKafkaAt.length,
    reorderedAt,
    reorderedInKafkaAt,
    reorderedUnpromised,
    overtakenAcrossKeys,
    idempotencyViolations,
    undrained: sum('undrained'),
    lost:
      lostAcknowledged.length +
      wrongAcknowledgements.length +
      lostBelowCheckpoint.length +
      alteredAtSink.length,
  };
};
