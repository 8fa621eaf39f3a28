import { checkInt, isPlainObject } from '../core/checks.js';
import { AppError, ERROR_CODES } from '../core/errors.js';
import type { DrainConfig } from './config.js';

/** What one invocation drains: every configured drain, or one drain and optionally some of its partitions. */
export interface DrainRequest {
  readonly drainId?: string;
  /** Only with `drainId`: a subset of that drain's partitions (a coordinator's fan-out, design §9). */
  readonly partitions?: readonly number[];
}

/**
 * Reads the drain function's event. The plain schedule event (`aws.events` "Scheduled Event"), an empty
 * or absent input, or any object without `drainId`/`partitions` means "every drain"; `{drainId,
 * partitions?}` names one drain and a subset of its partitions.
 * Throws `ERR_PAYLOAD_INVALID` for an unknown drain, a malformed partition list, or partitions outside an
 * explicitly configured list.
 */
export const parseDrainEvent = (
  event: unknown,
  drains: readonly Pick<DrainConfig, 'id' | 'partitions'>[],
): DrainRequest => {
  if (!isPlainObject(event) || (event.drainId === undefined && event.partitions === undefined)) return {};
  const { drainId, partitions } = event;
  if (typeof drainId !== 'string') {
    throw invalid(
      'drain event: "drainId" (a string naming a configured drain) is required with "partitions"',
    );
  }
  const drain = drains.find((candidate) => candidate.id === drainId);
  if (drain === undefined) {
    throw invalid(`drain event: no drain ${JSON.stringify(drainId.slice(0, 64))} is configured`);
  }
  if (partitions === undefined) return { drainId };
  if (
    !Array.isArray(partitions) ||
    partitions.length === 0 ||
    partitions.some((partition) => checkInt(partition, { min: 0 }) !== undefined)
  ) {
    throw invalid('drain event: "partitions" must be a non-empty array of partition numbers (integers ≥ 0)');
  }
  const wanted = [...new Set(partitions as number[])].sort((a, b) => a - b);
  const configured = drain.partitions;
  if (configured !== 'all') {
    const outside = wanted.filter((partition) => !configured.includes(partition));
    if (outside.length > 0) {
      throw invalid(`drain event: partitions ${outside.join(', ')} are not configured for drain ${drainId}`);
    }
  }
  return { drainId, partitions: wanted };
};

const invalid = (message: string): AppError => new AppError(ERROR_CODES.PAYLOAD_INVALID, message);
