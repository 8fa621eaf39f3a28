import { type DlqCommandDeps, runDlqCommand } from '../../cli/dlq-command.js';
import { byCoordinates, dlqUrlsOf, type HeldLetter, holdLetters, toPreview } from '../../cli/dlq-letters.js';

/** One dead letter as the page shows it: `npm run dlq show`'s fields and its value's preview. */
export interface DlqLetterView {
  readonly messageId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempts: number;
  readonly error: { readonly code: string; readonly message: string };
  readonly value: string;
}

/** A drain with a DLQ and its letters. */
export interface DlqView {
  readonly drainId: string;
  /** The queue's name (the last part of its URL). */
  readonly queue: string;
  readonly count: number;
  /** The read took `MAX_LETTERS` messages or more, so a queue may hold more than were read. */
  readonly capped: boolean;
  /** Since the oldest letter failed (`failedAt`, as `dlq list` orders them); null when there is none. */
  readonly oldestAgeMs: number | null;
  /** The first `SHOWN_LETTERS`, in the order a redrive delivers them. */
  readonly letters: readonly DlqLetterView[];
  /** Set when the queue could not be read. */
  readonly error?: string;
}

export type RedriveOutcome =
  | { readonly ok: true; readonly lines: readonly string[] }
  | { readonly ok: false; readonly message: string };

export interface DlqPanel {
  /** The drains' DLQs, read afresh. */
  read(): Promise<readonly DlqView[]>;
  /** `npm run dlq redrive --drain <drainId>`, its output as lines. */
  redrive(drainId: string): Promise<RedriveOutcome>;
}

/**
 * How long the console's read hides the letters. It releases them as soon as it has them all, so this
 * only bounds how long a console that dies mid-read keeps them from a redrive; one read of the local
 * queue takes milliseconds.
 */
const READ_VISIBILITY_S = 5;
/**
 * Receives that do not wait: the console reads the local SQS only (`localConsoleEnv`), which answers a
 * short poll with everything visible, and a read that waited 1 s on its last, empty receive (as `npm run
 * dlq list` does against AWS) would hide the letters for that second of every refresh.
 */
const READ_WAIT_S = 0;
const MAX_LETTERS = 1_000;
const SHOWN_LETTERS = 20;

const toLetterView = ({ message, letter }: HeldLetter): DlqLetterView => ({
  messageId: message.messageId,
  topic: letter.topic,
  partition: letter.partition,
  offset: letter.offset,
  attempts: letter.attempts,
  error: letter.lastError,
  value: toPreview(letter.value, letter.valueOmitted),
});

/**
 * The console's DLQ panel over `npm run dlq`'s own code (`holdLetters` to read, `runDlqCommand` to
 * redrive, audited as `deps.operator`).
 *
 * Reading hides the letters (SQS has no peek), and the page reads every second. So a read takes no wait
 * (`READ_WAIT_S`) and releases the letters as soon as it has them: they are hidden for the milliseconds of
 * the read. A redrive beside it, the page's own or `npm run dlq redrive`'s, still gets them all, since its
 * receives wait up to a second for a message before it takes the queue for empty, and the letters are
 * visible again well within that second.
 */
export const createDlqPanel = (deps: Omit<DlqCommandDeps, 'out' | 'err' | 'stopRequested'>): DlqPanel => {
  const readNow = async (): Promise<readonly DlqView[]> => {
    const drains = deps.drains.filter((drain) => drain.dlq !== undefined);
    const queueUrls = dlqUrlsOf(drains);
    const nameOf = (drain: (typeof drains)[number]) => {
      const url = drain.dlq?.queueUrl ?? '';
      return url.slice(url.lastIndexOf('/') + 1);
    };
    let held: { readonly letters: HeldLetter[]; readonly others: number };
    try {
      held = await holdLetters(deps.queues, queueUrls, {
        visibilitySeconds: READ_VISIBILITY_S,
        waitSeconds: READ_WAIT_S,
        max: MAX_LETTERS,
        filter: {},
      });
    } catch (error) {
      const message = `${(error as Error).name}: ${(error as Error).message}`;
      return drains.map((drain) => ({
        drainId: drain.id,
        queue: nameOf(drain),
        count: 0,
        capped: false,
        oldestAgeMs: null,
        letters: [],
        error: message,
      }));
    }
    await deps.queues.release(held.letters.map((letter) => letter.message));
    const nowMs = deps.now();
    return drains.map((drain) => {
      const letters = held.letters.filter((letter) => letter.letter.drainId === drain.id).sort(byCoordinates);
      const oldestMs = Math.min(...letters.map((letter) => Date.parse(letter.letter.failedAt)));
      return {
        drainId: drain.id,
        queue: nameOf(drain),
        count: letters.length,
        capped: held.letters.length + held.others >= MAX_LETTERS,
        oldestAgeMs: letters.length === 0 ? null : Math.max(0, nowMs - oldestMs),
        letters: letters.slice(0, SHOWN_LETTERS).map(toLetterView),
      };
    });
  };

  return {
    read: readNow,
    redrive: async (drainId) => {
      const lines: string[] = [];
      const collect = (line: string) => lines.push(line);
      const code = await runDlqCommand({ ...deps, out: collect, err: collect, stopRequested: () => false }, [
        'redrive',
        '--drain',
        drainId,
      ]);
      return code === 0 ? { ok: true, lines } : { ok: false, message: lines.join('\n') };
    },
  };
};
