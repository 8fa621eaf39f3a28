import { setTimeout as delay } from 'node:timers/promises';

/**
 * Resolves once `condition` holds, checking every `everyMs`: for waiting on what a server or a process
 * reports (a request arrived, a checkpoint moved). Tests wait with it and never assert a duration.
 */
export const waitUntil = async (condition: () => boolean | Promise<boolean>, everyMs = 5): Promise<void> => {
  while (!(await condition())) await delay(everyMs);
};
