import type { EnvReader } from '../env-reader.js';

// Owned by the drain work: fill in the settings of design §1.4, §2 and the issue.
export interface DrainConfig {
  readonly id: string;
}

export interface DrainsConfig {
  readonly drains: readonly DrainConfig[];
}

/** Reads the drain function's settings; pushes every problem onto `read.problems`. */
export const parseDrainsConfig = (read: EnvReader): DrainsConfig => {
  const value = read.json('DRAINS');
  return { drains: Array.isArray(value) ? value.map((drain) => ({ id: String(drain?.id) })) : [] };
};
