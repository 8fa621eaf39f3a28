import type { DrainConfig } from '../lib/drain/config.js';
import type { DeadLetterBody } from '../lib/sinks/index.js';
import type { DlqQueues, HeldMessage } from './dlq-queue.js';

/** A drain DLQ message read back: its body as the drain wrote it (`lib/sinks/dead-letter-queue.ts`). */
export interface HeldLetter {
  readonly message: HeldMessage;
  readonly letter: DeadLetterBody;
}

/** The body as a {@link DeadLetterBody}, or undefined for a message the drain did not write. */
export const toDeadLetter = (body: string): DeadLetterBody | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const letter = parsed as Partial<DeadLetterBody> | null;
  return letter !== null &&
    typeof letter === 'object' &&
    typeof letter.drainId === 'string' &&
    typeof letter.id === 'string' &&
    typeof letter.topic === 'string' &&
    Number.isInteger(letter.partition) &&
    Number.isInteger(letter.offset) &&
    Number.isInteger(letter.attempts) &&
    typeof letter.lastError?.code === 'string'
    ? (letter as DeadLetterBody)
    : undefined;
};

/** The letters a command works on: one drain's, one partition's; unset, any. */
export interface LetterFilter {
  readonly drainId?: string | undefined;
  readonly partition?: number | undefined;
}

/** The distinct DLQ URLs of `drains` (drains may share one queue). */
export const dlqUrlsOf = (drains: readonly Pick<DrainConfig, 'dlq'>[]): string[] => [
  ...new Set(drains.flatMap((drain) => (drain.dlq === undefined ? [] : [drain.dlq.queueUrl]))),
];

/**
 * Holds up to `max` messages of each queue for `visibilitySeconds` (each receive waiting up to
 * `waitSeconds`, as `DlqQueues.hold`) and answers the drain letters `filter`
 * picks, still held: the caller deletes or releases them. Every other message (another drain's in a shared
 * queue, or one no drain wrote) is released at once; `others` counts them. Throws what SQS throws.
 */
export const holdLetters = async (
  queues: Pick<DlqQueues, 'hold' | 'release'>,
  queueUrls: readonly string[],
  options: {
    readonly visibilitySeconds: number;
    readonly max: number;
    readonly filter: LetterFilter;
    readonly waitSeconds?: number;
  },
): Promise<{ readonly letters: HeldLetter[]; readonly others: number }> => {
  const { drainId, partition } = options.filter;
  const held: HeldMessage[] = [];
  for (const url of queueUrls)
    held.push(...(await queues.hold(url, options.visibilitySeconds, options.max, options.waitSeconds)));
  const letters: HeldLetter[] = [];
  const others: HeldMessage[] = [];
  for (const message of held) {
    const letter = toDeadLetter(message.body);
    const wanted =
      letter !== undefined &&
      (drainId === undefined || letter.drainId === drainId) &&
      (partition === undefined || letter.partition === partition);
    if (wanted) letters.push({ message, letter });
    else others.push(message);
  }
  await queues.release(others);
  return { letters, others: others.length };
};

/** Drain, then topic, partition and offset: the order a redrive delivers in. */
export const byCoordinates = (a: HeldLetter, b: HeldLetter): number =>
  a.letter.drainId.localeCompare(b.letter.drainId) ||
  a.letter.topic.localeCompare(b.letter.topic) ||
  a.letter.partition - b.letter.partition ||
  a.letter.offset - b.letter.offset;

export const partitionOf = (letter: DeadLetterBody): string =>
  `${letter.drainId} ${letter.topic}/${letter.partition}`;

const PREVIEW_CHARS = 120;

/** UTF-8 that decoded cleanly, without control characters but tab and line breaks. */
export const isText = (text: string): boolean =>
  !text.includes('\uFFFD') &&
  [...text].every((char) => {
    const code = char.charCodeAt(0);
    return code >= 32 || code === 9 || code === 10 || code === 13;
  });

/** The first characters of a base64 payload as text, or its size when it is not UTF-8 text. */
export const toPreview = (base64: string | null, omitted: boolean | undefined): string => {
  if (omitted === true) return '(left out of the letter: too large for the queue; read it from Kafka)';
  if (base64 === null) return '(null)';
  const bytes = Buffer.from(base64, 'base64');
  const text = bytes.toString('utf8');
  if (!isText(text)) return `(${bytes.length} bytes, binary)`;
  return text.length > PREVIEW_CHARS
    ? `${JSON.stringify(text.slice(0, PREVIEW_CHARS))}… (${bytes.length} bytes)`
    : JSON.stringify(text);
};

/** `counts` as `name: n` lines, largest first. */
export const toCountLines = (counts: ReadonlyMap<string, number>): string[] =>
  [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name, n]) => `  ${name}: ${n}`);

export const countBy = <T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
};
