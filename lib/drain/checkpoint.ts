/** What the checkpoint table holds, in the drain's terms (`checkpoint-item.ts` maps it to items). */

/** One checkpoint item per (drain, topic, partition). */
export interface PartitionKey {
  readonly drainId: string;
  readonly topic: string;
  readonly partition: number;
}

export interface CheckpointError {
  readonly code: string;
  readonly message: string;
  /** The record the partition stopped at, when the error is about one record. */
  readonly offset: number | undefined;
  readonly atMs: number;
}

export interface Checkpoint extends PartitionKey {
  /** Next offset to deliver; undefined until the first commit (the drain then starts per its policy). */
  readonly nextOffset: number | undefined;
  /** Bumped by every write, so that a stale writer's condition fails. */
  readonly version: number;
  readonly lease: { readonly owner: string; readonly expiresAtMs: number } | undefined;
  readonly paused: boolean;
  readonly lastError: CheckpointError | undefined;
  /** Records skipped so far by offset resets (retention, re-created topics): never silently. */
  readonly skippedRecords: number;
  /**
   * The topic's incarnation, part of every record id (0 until the drain first finds the topic re-created:
   * offsets start again at 0 then, and the ids must not repeat those of the earlier topic).
   */
  readonly epoch: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly committedAtMs: number | undefined;
}

/** Proof of holding a partition: owner + the version of the item as we last wrote it. */
export interface Lease {
  readonly key: PartitionKey;
  readonly owner: string;
  readonly version: number;
  readonly expiresAtMs: number;
}

export const describeKey = (key: PartitionKey): string => `${key.drainId}/${key.topic}/${key.partition}`;
