import { TOPIC_NAME } from '../core/names.js';

/** IBM Message Hub's admin API (`/admin/topics`, protocol doc §5): its limits, the checks before a request, its answers. */

export interface CreateTopicOptions {
  /** 1–100; absent: the admin API's default (1). */
  readonly partitions?: number;
  /** A whole number of hours, 1 h to 30 d, in ms; absent: the admin API's default (24 h). */
  readonly retentionMs?: number;
}

const HOUR_MS = 3_600_000;

/** Message Hub's limits for `POST /admin/topics` (protocol doc §5). */
export const TOPIC_LIMITS = {
  minPartitions: 1,
  maxPartitions: 100,
  retentionStepMs: HOUR_MS,
  minRetentionMs: HOUR_MS,
  maxRetentionMs: 30 * 24 * HOUR_MS,
} as const;

/** `errorCode` of the admin API's 422 for a topic that already exists; IBM's client tolerates it. */
export const TOPIC_EXISTS_ERROR_CODE = 42201;

/** What is wrong with `name` as a topic name, or undefined when it is fine. */
export const checkTopicName = (name: unknown): string | undefined =>
  typeof name === 'string' && TOPIC_NAME.test(name) && name !== '.' && name !== '..'
    ? undefined
    : `a topic name is 1 to 249 of [a-zA-Z0-9._-] (not "." or ".."), got ${JSON.stringify(name)}`;

/** Every problem with a create request, in the admin API's terms; empty when it can be sent. */
export const checkCreateTopic = (name: unknown, options: CreateTopicOptions = {}): string[] => {
  const problems: string[] = [];
  const nameProblem = checkTopicName(name);
  if (nameProblem !== undefined) problems.push(nameProblem);
  const { partitions, retentionMs } = options;
  const { minPartitions, maxPartitions, retentionStepMs, minRetentionMs, maxRetentionMs } = TOPIC_LIMITS;
  if (partitions !== undefined && !isIntIn(partitions, minPartitions, maxPartitions)) {
    problems.push(
      `partitions must be an integer from ${minPartitions} to ${maxPartitions}, got ${partitions}`,
    );
  }
  if (
    retentionMs !== undefined &&
    !(isIntIn(retentionMs, minRetentionMs, maxRetentionMs) && retentionMs % retentionStepMs === 0)
  ) {
    problems.push(
      `retention must be a whole number of hours from 1 h to 30 d (${minRetentionMs} to ${maxRetentionMs} ms in steps of ${retentionStepMs}), got ${retentionMs} ms`,
    );
  }
  return problems;
};

const isIntIn = (value: unknown, min: number, max: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

export interface AdminTopicEntry {
  readonly name: string;
  readonly partitions: number | undefined;
  readonly retentionMs: number | undefined;
  readonly markedForDeletion: boolean;
}

/** `GET /admin/topics`: `[{"name","partitions","retentionMs","markedForDeletion"}]`; undefined if not that shape. */
export const parseAdminTopics = (body: string): AdminTopicEntry[] | undefined => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const entries: AdminTopicEntry[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null || typeof item.name !== 'string') return undefined;
    entries.push({
      name: item.name,
      partitions: Number.isSafeInteger(item.partitions) ? item.partitions : undefined,
      retentionMs: Number.isSafeInteger(item.retentionMs) ? item.retentionMs : undefined,
      markedForDeletion: item.markedForDeletion === true,
    });
  }
  return entries;
};

/** The camelCase error body of the admin API (`{errorCode, errorMessage}`); nulls when absent. */
export const parseAdminError = (body: string): { errorCode: number | null; errorMessage: string | null } => {
  try {
    const value = JSON.parse(body) as { errorCode?: unknown; errorMessage?: unknown } | null;
    return {
      errorCode: typeof value?.errorCode === 'number' ? value.errorCode : null,
      errorMessage: typeof value?.errorMessage === 'string' ? value.errorMessage : null,
    };
  } catch {
    return { errorCode: null, errorMessage: null };
  }
};
