import { isAppError } from '../core/errors.js';
import type { HeaderMerge, ReaderDeps } from './calls.js';
import { OffsetOutOfRangeError } from './errors.js';
import type { KafkaRestFlavor } from './flavors.js';
import type { CallOptions, FetchedRecord, LogBounds } from './types.js';
import { parseErrorMessage } from './v1-parse.js';

/** What the v2 reader keeps of a partition's consumer instance, how each server says it lost one, and how it goes. */

export interface V2ReaderOptions {
  readonly baseUrl: URL;
  readonly basePath: string;
  /** Consumer group of the instances; nothing is committed to it. */
  readonly group: string;
  /** Whose proxy: how an instance is created and how its loss is said (Strimzi, protocol doc §9). */
  readonly flavor: KafkaRestFlavor;
  /** `max_bytes` of one `records` read. */
  readonly maxBytes: number;
  /** The most one `records` answer may hold (bytes, JSON): past it the read fails unread. */
  readonly maxAnswerBytes: number;
  /** `timeout` of one `records` read: how long the proxy may wait for records when it has none. */
  readonly waitMs: number;
  /** Empty reads in a row, while the log has records past the position, before a fetch answers `[]`. */
  readonly maxEmptyReads: number;
  /** A fresh instance name (unique: a taken one is 409/40902). */
  readonly newInstanceName: () => string;
}

/** One partition's consumer instance, as far as this client knows it. */
export interface Consumer {
  readonly topic: string;
  readonly partition: number;
  /** Instance path once created. */
  path: string | undefined;
  assigned: boolean;
  /** The offset a fetch continuing where the last one ended asks for; undefined: the next fetch seeks. */
  cursor: number | undefined;
  /** Records read from the proxy but not handed out yet (they start at `cursor`). */
  buffer: FetchedRecord[];
  /** Log end as last seen: records below it exist, so an empty read there is not "caught up". */
  knownEnd: number;
  /** Calls on one instance are serialised: IBM's proxy refuses concurrent requests per instance (§5). */
  queue: Promise<unknown>;
  /** Instances given up after a read that failed, deleted with this one at the end. */
  abandoned: string[];
}

/**
 * Why an instance call could not go on: `gone`, the instance expired or the proxy restarted (404/40403,
 * protocol doc §2.6, §5; Strimzi 404/404); `unassigned`, it no longer has the partition (409/40903 on a
 * seek, §6; Strimzi 404/404 "No current assignment for partition …", §9).
 */
export type Lost = 'gone' | 'unassigned';

/**
 * Strimzi's `records` answer when the encoded records of one poll exceed `max_bytes`: sent after the poll,
 * so the position has already moved past them (protocol doc §9).
 */
export const OVERFLOW = 'overflow';

/** `Consumer instance not found.` (protocol doc §3; newer proxies also use it for an unknown partition). */
const INSTANCE_NOT_FOUND = 40403;

/** Seek or assign on a partition the instance does not have (protocol doc §3). */
const ILLEGAL_STATE = 40903;

export const confluentLost = (status: number, kafkaErrorCode: number | null): Lost | undefined =>
  status === 404 && kafkaErrorCode === INSTANCE_NOT_FOUND
    ? 'gone'
    : status === 409 && kafkaErrorCode === ILLEGAL_STATE
      ? 'unassigned'
      : undefined;

/**
 * Strimzi says both with 404/404 (protocol doc §9): only the message tells a seek on an unassigned
 * partition from a lost instance. Re-assigning a lost instance would fail again; recreating one that still
 * holds the partition would leave it on the bridge for good (its instances never expire by default).
 */
export const strimziLost = (
  status: number,
  kafkaErrorCode: number | null,
  body: string,
): Lost | undefined => {
  if (status !== 404 || kafkaErrorCode !== 404) return undefined;
  return parseErrorMessage(body)?.startsWith('No current assignment') === true ? 'unassigned' : 'gone';
};

export const lostStatus = (
  flavor: KafkaRestFlavor,
  lost: Lost,
): { readonly status: number; readonly kafkaErrorCode: number } =>
  flavor === 'strimzi'
    ? { status: 404, kafkaErrorCode: 404 }
    : lost === 'gone'
      ? { status: 404, kafkaErrorCode: INSTANCE_NOT_FOUND }
      : { status: 409, kafkaErrorCode: ILLEGAL_STATE };

/** Forgets the instance: the next fetch creates, assigns and seeks a new one. */
export const forget = (consumer: Consumer): void => {
  consumer.path = undefined;
  consumer.assigned = false;
  consumer.cursor = undefined;
  consumer.buffer = [];
};

/** Kept for deletion at `end`: a read still waiting on the proxy may yet move it, so it is not reused. */
export const abandon = (consumer: Consumer): void => {
  if (consumer.path !== undefined) consumer.abandoned.push(consumer.path);
  forget(consumer);
};

export const outOfRange = (consumer: Consumer, offset: number, bounds: LogBounds): OffsetOutOfRangeError =>
  new OffsetOutOfRangeError(
    `offset ${offset} is ${offset < bounds.start ? 'below the start' : 'above the end'} of the log of ${consumer.topic}/${consumer.partition} [${bounds.start}, ${bounds.end}]`,
    { topic: consumer.topic, partition: consumer.partition, offset },
  );

/** Deletes one instance; never throws (a failed delete only leaves it to expire, or not: Strimzi). */
export const deleteInstance = async (
  deps: Pick<ReaderDeps, 'exchange' | 'log'> & {
    readonly headers: HeaderMerge;
    readonly flavor: KafkaRestFlavor;
  },
  consumer: Consumer,
  path: string,
  call: CallOptions,
): Promise<void> => {
  const { topic, partition } = consumer;
  try {
    // 404: already gone, which is what was asked for.
    await deps.exchange(call, {
      what: `delete the consumer instance of ${topic}/${partition}`,
      method: 'DELETE',
      path,
      headers: deps.headers,
      passThrough: (status) => status === 404,
    });
  } catch (error) {
    // Confluent drops idle instances itself (consumer.instance.timeout.ms, 5 min by default); the
    // Strimzi bridge only when its http.timeoutSeconds is set.
    deps.log.warn(
      deps.flavor === 'strimzi'
        ? 'could not delete a Kafka REST consumer instance; the bridge keeps it unless its http.timeoutSeconds is set'
        : 'could not delete a Kafka REST consumer instance; the proxy will expire it',
      { topic, partition, code: isAppError(error) ? error.code : 'unknown' },
    );
  }
};
