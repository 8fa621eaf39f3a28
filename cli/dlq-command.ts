import { parseArgs } from 'node:util';
import {
  countBy,
  dlqUrlsOf,
  type HeldLetter,
  holdLetters,
  isText,
  partitionOf,
  toCountLines,
  toPreview,
} from './dlq-letters.js';
import { auditPartition, type RedriveDeps, redriveLetters } from './dlq-redrive.js';
import { toNonNegativeInt } from './operator.js';

export interface DlqCommandDeps extends RedriveDeps {
  /** Between two looks at a move task's progress. */
  readonly sleep: (ms: number) => Promise<void>;
}

export const DLQ_USAGE = `Usage: npm run dlq -- <command> [options]

The drains' DLQs (each drain's "dlq" in DRAINS):
  list [--drain D] [--json]          count, oldest, by drain/partition and by error
  show <id> [--value]                one letter (its SQS message id or record id): coordinates, attempts,
                                     last error, a preview of key and value; the value itself with --value
  redrive [--drain D] [--partition P] [--max N]
                                     deliver each letter to its drain's sink, in offset order per
                                     partition; delivered letters are deleted, a record that fails again
                                     goes back with its attempts raised
  purge [--drain D] [--partition P] --yes
                                     delete the letters (without --yes: says how many it would delete)

The ingestion DLQs (the queue function's redrive DLQ):
  redrive --queue <name|URL> [--to <name|URL>]
                                     SQS's own message move task, back to the queue each message came
                                     from (or --to), with its progress

Ctrl-C stops a redrive safely: the record in hand is finished, nothing undelivered is deleted.
Each redrive and purge is written to the audit trail (npm run checkpoints -- history <drain>).
Environment: DRAINS (with DRAIN_DLQ_URL for "dlq": "stack"), CHECKPOINT_TABLE, DYNAMODB_ENDPOINT and
SQS_ENDPOINT (local), AWS_REGION, and the sinks' own settings.`;

/** How long `list`, `show` and `purge` hide the letters they read (released at the end). */
const LOOK_VISIBILITY_S = 60;
/** A redrive holds its letters while it works (SQS's most, 12 h, would strand them after a crash). */
const REDRIVE_VISIBILITY_S = 900;
/** The most letters one command reads. */
const MAX_LETTERS = 100_000;
const MOVE_POLL_MS = 1_000;

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      drain: { type: 'string' },
      partition: { type: 'string' },
      max: { type: 'string' },
      queue: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      value: { type: 'boolean' },
      yes: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });

const usage = (deps: DlqCommandDeps, problem: string): number => {
  deps.err(`${problem}\n\n${DLQ_USAGE}`);
  return 2;
};

/**
 * Runs one `npm run dlq` command; returns the exit code (0 done, 1 something stayed or was refused, 2
 * usage). Throws what SQS, the sinks' setup or the checkpoint store throw.
 */
export const runDlqCommand = async (deps: DlqCommandDeps, argv: readonly string[]): Promise<number> => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage(deps, (error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    deps.out(DLQ_USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  if (!['list', 'show', 'redrive', 'purge'].includes(command))
    return usage(deps, `unknown command ${command}`);
  if (command !== 'show' && args.length > 0) return usage(deps, `${command} takes no positional arguments`);

  if (values.queue !== undefined) {
    if (command !== 'redrive') return usage(deps, '--queue (an ingestion DLQ) is for redrive only');
    return moveBack(deps, values.queue, values.to);
  }
  if (values.to !== undefined) return usage(deps, '--to goes with --queue');

  const partition = values.partition === undefined ? undefined : toNonNegativeInt(values.partition);
  if (values.partition !== undefined && partition === undefined) {
    return usage(deps, `--partition must be an integer ≥ 0, got ${values.partition}`);
  }
  const max = values.max === undefined ? MAX_LETTERS : toNonNegativeInt(values.max);
  if (max === undefined || max < 1) return usage(deps, `--max must be an integer ≥ 1, got ${values.max}`);
  const drains = deps.drains.filter((drain) => values.drain === undefined || drain.id === values.drain);
  if (values.drain !== undefined && drains.length === 0) {
    deps.err(`no drain ${values.drain} in DRAINS`);
    return 1;
  }
  const queueUrls = dlqUrlsOf(drains);
  if (queueUrls.length === 0) {
    deps.err(
      `${values.drain === undefined ? 'no drain in DRAINS has' : `drain ${values.drain} has no`} "dlq"`,
    );
    return 1;
  }

  const { letters, others } = await holdLetters(deps.queues, queueUrls, {
    visibilitySeconds: command === 'redrive' ? REDRIVE_VISIBILITY_S : LOOK_VISIBILITY_S,
    max: MAX_LETTERS,
    filter: { drainId: values.drain, partition },
  });

  if (command === 'redrive') {
    const chosen = letters.sort((a, b) => a.letter.offset - b.letter.offset).slice(0, max);
    await deps.queues.release(letters.slice(max).map((held) => held.message));
    if (chosen.length === 0) {
      deps.out('redrive: no dead letter to redrive');
      return 0;
    }
    const totals = await redriveLetters(deps, chosen);
    if (deps.stopRequested()) deps.out('redrive: stopped; what was not delivered stays in the DLQ');
    return totals.failedAgain + totals.kept === 0 ? 0 : 1;
  }

  try {
    if (command === 'list') return list(deps, letters, others, values.json === true);
    if (command === 'show') return show(deps, letters, args, values.value === true);
    return await purge(deps, letters, values.yes === true);
  } finally {
    await deps.queues.release(letters.map((held) => held.message));
  }
};

const list = (
  deps: DlqCommandDeps,
  letters: readonly HeldLetter[],
  others: number,
  json: boolean,
): number => {
  if (json) {
    deps.out(
      JSON.stringify(
        letters.map(({ message, letter }) => ({
          messageId: message.messageId,
          ...letter,
          key: undefined,
          value: undefined,
        })),
        null,
        2,
      ),
    );
    return 0;
  }
  if (letters.length === 0) {
    deps.out(`no dead letters${others > 0 ? ` (${others} other message(s) in the queues)` : ''}`);
    return 0;
  }
  const oldest = letters.reduce((a, b) => (b.letter.failedAt < a.letter.failedAt ? b : a));
  deps.out(
    `${letters.length} dead letter(s); oldest ${oldest.letter.failedAt} (${partitionOf(oldest.letter)}@${oldest.letter.offset})`,
  );
  deps.out('by drain and partition:');
  for (const line of toCountLines(countBy(letters, (held) => partitionOf(held.letter)))) deps.out(line);
  deps.out('by error:');
  for (const line of toCountLines(countBy(letters, (held) => held.letter.lastError.code))) deps.out(line);
  if (others > 0) deps.out(`and ${others} message(s) of other drains or not written by a drain`);
  return 0;
};

const show = (
  deps: DlqCommandDeps,
  letters: readonly HeldLetter[],
  args: readonly string[],
  withValue: boolean,
): number => {
  const [id, ...extra] = args;
  if (id === undefined || extra.length > 0)
    return usage(deps, 'show takes one <id>: a message id or record id');
  const found = letters.find(({ message, letter }) => message.messageId === id || letter.id === id);
  if (found === undefined) {
    deps.err(`no dead letter with message id or record id ${id}`);
    return 1;
  }
  const { letter, message } = found;
  deps.out(`message   ${message.messageId}`);
  deps.out(`record    ${letter.id}`);
  deps.out(`at        ${letter.drainId} ${letter.topic}/${letter.partition}@${letter.offset}`);
  deps.out(`attempts  ${letter.attempts}, failed at ${letter.failedAt}`);
  deps.out(`error     ${letter.lastError.code}: ${letter.lastError.message}`);
  deps.out(`key       ${toPreview(letter.key, letter.keyOmitted)}`);
  deps.out(`value     ${toPreview(letter.value, letter.valueOmitted)}`);
  if (withValue && letter.value !== null) {
    const text = Buffer.from(letter.value, 'base64').toString('utf8');
    // Binary values print as base64, so the terminal gets no control bytes.
    deps.out(isText(text) ? text : `(base64) ${letter.value}`);
  }
  return 0;
};

const purge = async (deps: DlqCommandDeps, letters: readonly HeldLetter[], yes: boolean): Promise<number> => {
  if (!yes) {
    deps.err(`purge would delete ${letters.length} dead letter(s) for good: run again with --yes`);
    return 1;
  }
  const byPartition = new Map<string, HeldLetter[]>();
  for (const held of letters) {
    const name = partitionOf(held.letter);
    byPartition.set(name, [...(byPartition.get(name) ?? []), held]);
  }
  for (const group of byPartition.values()) {
    for (const held of group) await deps.queues.remove(held.message);
    const { drainId, topic, partition } = (group[0] as HeldLetter).letter;
    const offsets = group.map((held) => held.letter.offset);
    await auditPartition(
      deps,
      { drainId, topic, partition },
      `dlq purge: ${group.length} letter(s) deleted, offsets ${Math.min(...offsets)}-${Math.max(...offsets)}`,
    );
  }
  deps.out(`purged ${letters.length} dead letter(s)`);
  return 0;
};

/** An ingestion DLQ back to its source queue (or `to`) through SQS's message move task. */
const moveBack = async (deps: DlqCommandDeps, queue: string, to: string | undefined): Promise<number> => {
  const sourceUrl = await deps.queues.urlOf(queue);
  const sourceArn = await deps.queues.arnOf(sourceUrl);
  const destinationArn = to === undefined ? undefined : await deps.queues.arnOf(await deps.queues.urlOf(to));
  const handle = await deps.queues.startMove(sourceArn, destinationArn);
  const startedMs = deps.now();
  let cancelled = false;
  for (;;) {
    await deps.sleep(MOVE_POLL_MS);
    const task = await deps.queues.moveProgress(sourceArn);
    if (task === undefined) throw new Error(`SQS lists no move task for ${sourceArn}`);
    const rate = task.moved / Math.max(0.001, (deps.now() - startedMs) / 1000);
    const remaining = task.toMove === undefined ? '' : `, ${Math.max(0, task.toMove - task.moved)} remaining`;
    deps.out(
      `move ${sourceArn}: ${task.status}, ${task.moved}${task.toMove === undefined ? '' : ` of ${task.toMove}`} moved, ${rate.toFixed(1)}/s${remaining}`,
    );
    if (task.status !== 'RUNNING') {
      const name = sourceArn.slice(sourceArn.lastIndexOf(':') + 1);
      await deps.store.audit({
        drainId: `queue:${name}`,
        topic: name,
        partition: 0,
        atMs: deps.now(),
        who: deps.operator,
        action: `dlq redrive (move task to ${destinationArn ?? 'the source queues'}): ${task.status}, ${task.moved} moved`,
        before: undefined,
        after: undefined,
      });
      if (task.failureReason !== undefined) deps.err(`the move task failed: ${task.failureReason}`);
      return task.status === 'COMPLETED' ? 0 : 1;
    }
    if (deps.stopRequested() && !cancelled) {
      cancelled = true;
      await deps.queues.cancelMove(handle);
    }
  }
};
