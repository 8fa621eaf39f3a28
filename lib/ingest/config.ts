import type { EnvReader } from '../env-reader.js';

// Owned by the queue/events ingestion work: fill in the settings of design §1.2, §1.3 and the issue.
export interface QueueConfig {
  readonly topic: string | undefined;
}

export interface EventsConfig {
  readonly topic: string | undefined;
}

/** Reads the queue function's settings; pushes every problem onto `read.problems`. */
export const parseQueueConfig = (read: EnvReader): QueueConfig => ({ topic: read.string('QUEUE_TOPIC') });

/** Reads the events function's settings; pushes every problem onto `read.problems`. */
export const parseEventsConfig = (read: EnvReader): EventsConfig => ({ topic: read.string('EVENTS_TOPIC') });
