import type { KafkaRestFlavor } from './flavors.js';
import type { FetchedRecord } from './types.js';
import { parseErrorMessage } from './v1-parse.js';

/** What the v2 reader keeps of a partition's consumer instance, and how each server says it lost one. */

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
