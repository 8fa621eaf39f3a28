/**
 * `npm run send -- sqs|events …`: hands an SQS batch or an EventBridge event to the functions that
 * `npm start` runs, through the offline Lambda API (what the event source mapping and the rule do in AWS),
 * and says what came back.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { eventBridgeEvent } from '../test/fixtures/eventbridge.js';
import { sqsEvent, sqsRecord } from '../test/fixtures/sqs.js';
import { invokeLocal } from './local-invoke.js';
import { LOCAL } from './local-stage.js';
import { readLocalFile } from './start-options.js';

const USAGE = `Usage:
  npm run send -- sqs '<body>' [--count N] [--group G] [--topic T]   one batch of N messages (FIFO with --group)
  npm run send -- events '<detail JSON>' [--detail-type T] [--source S]  one EventBridge event

Goes to the functions of a running \`npm start\` (its --lambda-port, or lambdaPort in local.json).`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    count: { type: 'string', default: '1' },
    group: { type: 'string' },
    topic: { type: 'string' },
    'detail-type': { type: 'string', default: 'Local Test' },
    source: { type: 'string', default: 'local.send' },
    'lambda-port': { type: 'string' },
  },
});
const [kind, payload] = positionals;
const count = Number(values.count);
const localPort = (
  JSON.parse(readLocalFile(new URL('../', import.meta.url)) ?? '{}') as { lambdaPort?: number }
).lambdaPort;
const port = Number(values['lambda-port'] ?? localPort ?? LOCAL.lambdaPort);
if ((kind !== 'sqs' && kind !== 'events') || payload === undefined || !Number.isInteger(count) || count < 1) {
  process.stderr.write(`${kind === undefined ? '' : `cannot send ${JSON.stringify(kind)}: `}${USAGE}\n`);
  process.exit(2);
}

const invoke = async (functionName: string, event: unknown): Promise<unknown> => {
  const result = await invokeLocal(port, functionName, event).catch((error: Error) => {
    process.stderr.write(
      `nothing answers at the offline Lambda API on port ${port} (${error.message}): is \`npm start\` running?\n`,
    );
    process.exit(1);
  });
  if (!result.ok) {
    process.stderr.write(`the ${functionName} function failed: ${result.error}\n`);
    process.exit(1);
  }
  return result.payload;
};

if (kind === 'sqs') {
  const records = Array.from({ length: count }, (_, n) =>
    sqsRecord(count === 1 ? payload : `${payload}`.replace(/\{n\}/g, String(n)), {
      messageId: randomUUID(),
      ...(values.group === undefined ? {} : { groupId: values.group }),
      ...(values.topic === undefined ? {} : { attributes: { topic: values.topic } }),
    }),
  );
  const answer = (await invoke('queue', sqsEvent(records))) as {
    batchItemFailures?: { itemIdentifier: string }[];
  };
  const failed = answer?.batchItemFailures ?? [];
  process.stdout.write(
    `${count - failed.length} of ${count} message(s) produced; ${failed.length === 0 ? 'none' : failed.map((f) => f.itemIdentifier).join(', ')} left for SQS to redeliver\n`,
  );
} else {
  let detail: unknown;
  try {
    detail = JSON.parse(payload);
  } catch {
    process.stderr.write('the event detail must be JSON\n');
    process.exit(2);
  }
  const event = eventBridgeEvent(detail, {
    id: randomUUID(),
    'detail-type': values['detail-type'],
    source: values.source,
  });
  await invoke('events', event);
  process.stdout.write(
    `event ${event.id} produced (a failure would have been retried, then sent to the events DLQ)\n`,
  );
}
