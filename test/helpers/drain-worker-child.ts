/**
 * Child-process entry of `startDrainWorker`: one Lambda container of the drain function. It imports the
 * handler module given in argv[2] (`handlers/drain.ts` through tsx, or a packaged `.mjs` bundle), whose
 * deps read this process's environment, and runs one invocation at a time as IPC asks, as Lambda does.
 */
import { pathToFileURL } from 'node:url';
import type { DrainInvocation, DrainWorkerReply } from './drain-worker.js';

type Handler = (
  event: unknown,
  context: { getRemainingTimeInMillis(): number; awsRequestId: string },
) => Promise<unknown>;

const module = (await import(pathToFileURL(process.argv[2] ?? '').href)) as { handler: Handler };
const send = (reply: DrainWorkerReply): void => {
  process.send?.(reply);
};

process.on('message', async (invocation: DrainInvocation) => {
  const endsAtMs = Date.now() + invocation.remainingMs;
  try {
    const report = await module.handler(invocation.event, {
      getRemainingTimeInMillis: () => endsAtMs - Date.now(),
      awsRequestId: invocation.requestId,
    });
    send({ id: invocation.id, ok: true, report });
  } catch (error) {
    send({ id: invocation.id, ok: false, error: (error as Error).message });
  }
});
// The parent going away ends the container too: nothing is left running.
process.on('disconnect', () => process.exit(0));
send({ id: 0, ok: true, report: undefined });
