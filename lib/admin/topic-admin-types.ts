import type { PartitionInfo } from '../kafka-rest/types.js';
import type { CreateTopicOptions } from './admin-api.js';

/**
 * Topic administration: listing and describing through the Kafka REST API (any proxy), creating and
 * deleting through the IBM Message Hub admin API (`/admin/topics`, protocol doc §5), which v1 lacks.
 */
export interface TopicAdmin {
  /** Whether create and delete can work: an admin API URL was given. */
  readonly hasAdminApi: boolean;

  /**
   * Every topic, sorted by name: the REST API's names, merged with the admin API's view (partitions,
   * retention, deletion state) when there is one. Without it, partition counts come from the REST API.
   * Throws `UpstreamError` (`ERR_UPSTREAM_*`, `ERR_DEADLINE`) when either API fails past its retries.
   */
  listTopics(options?: AdminCallOptions): Promise<TopicSummary[]>;

  /**
   * Partitions with their leader, replicas and in-sync replicas; `undefined` when the topic does not exist.
   * Throws `ERR_PAYLOAD_INVALID` for a malformed name, `UpstreamError` when the REST API fails.
   */
  describeTopic(name: string, options?: AdminCallOptions): Promise<TopicDescription | undefined>;

  /**
   * Asks the admin API to create a topic: `accepted` (202; Message Hub creates it asynchronously, so it may
   * take a few seconds to be listed) or `exists` (422 with errorCode 42201). Arguments are checked before
   * anything is sent: `ERR_PAYLOAD_INVALID`. Throws `ERR_CONFIG` without an admin API, `ERR_UPSTREAM_STATUS`
   * for any other refusal (its `errorMessage` in the message), `ERR_UPSTREAM_AUTH` when the key is refused
   * also after one refresh, and `ERR_UPSTREAM_TIMEOUT`/`ERR_UPSTREAM_NETWORK` when the outcome is unknown
   * (never resent then: list the topics to see whether it was created).
   */
  createTopic(name: string, options?: CreateTopicOptions & AdminCallOptions): Promise<CreateTopicOutcome>;

  /**
   * Asks the admin API to delete a topic: `accepted` (202; asynchronous too, the topic may stay listed as
   * marked for deletion) or `not-found` (404). Throws as `createTopic` does.
   */
  deleteTopic(name: string, options?: AdminCallOptions): Promise<DeleteTopicOutcome>;

  /** Closes the admin API's connection pool (not the `kafka` client, which belongs to the caller). */
  close(): Promise<void>;
}

export interface AdminCallOptions {
  /** Absolute time (epoch ms, the `now` clock) by which the call must have settled; default `callTimeoutMs` from now. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
}

export interface TopicSummary {
  readonly name: string;
  /** Undefined when neither API could say (the topic vanished while listing). */
  readonly partitions: number | undefined;
  /** Only the admin API knows; undefined without one. */
  readonly retentionMs: number | undefined;
  /** Message Hub deletes asynchronously: a deleted topic stays listed a while, marked. */
  readonly markedForDeletion: boolean;
}

export interface TopicDescription {
  readonly name: string;
  /** Sorted by partition number. */
  readonly partitions: readonly PartitionInfo[];
}

export type CreateTopicOutcome =
  | {
      readonly status: 'accepted';
      readonly name: string;
      /** As asked; undefined: the admin API's default. */
      readonly partitions: number | undefined;
      readonly retentionMs: number | undefined;
    }
  | { readonly status: 'exists'; readonly name: string };

export type DeleteTopicOutcome =
  | { readonly status: 'accepted'; readonly name: string }
  | { readonly status: 'not-found'; readonly name: string };
