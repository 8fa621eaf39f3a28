/**
 * What `npm start` shows of the functions' output: one short line per thing a person watching the
 * walkthrough cares about (a webhook in, a record produced, a drain delivery, a checkpoint moved, an
 * error), nothing for idle drains, metrics blobs or serverless-offline's per-invocation chatter.
 * `--verbose` shows the raw output instead.
 */

export interface ConsoleLine {
  /** The function (`webhook`, `queue`, `events`, `drain`) or `offline`. */
  readonly source: string;
  readonly text: string;
}

type Fields = Readonly<Record<string, unknown>>;

const FUNCTION_PREFIX = /^kafka-rest-bridge-[a-z0-9-]+?-(webhook|queue|events|drain)$/;

const sourceOf = (fields: Fields): string => {
  const name = typeof fields.function_name === 'string' ? fields.function_name : '';
  return FUNCTION_PREFIX.exec(name)?.[1] ?? 'function';
};

const at = (fields: Fields): string =>
  `${String(fields.topic)}/${String(fields.partition)}@${String(fields.offset)}`;

/** The INFO lines worth a line of their own, each said briefly; any other INFO line is left out. */
const INFO_LINES: Readonly<Record<string, (fields: Fields) => string | undefined>> = {
  'webhook record produced': (f) => `POST /hooks/${String(f.route)} → produced ${at(f)}`,
  'webhook delivery is a duplicate: replaying the first answer': (f) =>
    `duplicate delivery on /hooks/${String(f.route)}: first answer replayed, nothing produced`,
  'queue batch produced': (f) =>
    `${String(f.messages)} SQS message(s): ${String(f.acknowledged)} produced, ${String(f.failed)} failed`,
  'event produced': (f) => `EventBridge event → produced ${at(f)}`,
  'partition drained': (f) => {
    const delivered = Number(f.delivered ?? 0);
    const deadLettered = Number(f.deadLettered ?? 0);
    const skipped = Number(f.skipped ?? 0);
    if (delivered + deadLettered + skipped === 0) return undefined;
    const moved =
      f.fromOffset === f.nextOffset
        ? ''
        : `, checkpoint ${String(f.fromOffset ?? '–')} → ${String(f.nextOffset)}`;
    const extra = [
      deadLettered > 0 ? `${deadLettered} to the DLQ` : '',
      skipped > 0 ? `${skipped} skipped` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `${String(f.drainId)} ${String(f.topic)}/${String(f.partition)}: ${delivered} delivered${extra ? `, ${extra}` : ''}${moved}`;
  },
};

/** What identifies a problem line briefly: its code and reason, never a payload. */
const problemDetail = (fields: Fields): string => {
  const error = typeof fields.error === 'object' && fields.error !== null ? (fields.error as Fields) : {};
  const code = fields.code ?? error.code ?? error.name;
  const reason = fields.reason ?? error.message;
  return [code, reason].filter((part) => typeof part === 'string' && part !== '').join(': ');
};

// serverless-offline's own lines for every invocation and its start-up banner: the walkthrough needs none.
const OFFLINE_CHATTER = [
  /^\s*$/,
  /^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \|/,
  /^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \//,
  /^\(λ: [a-z]+\)/,
  /RequestId: [0-9a-f-]+/,
  /^Invoke URL/i,
  /^Function names exposed/i,
  /^Running "serverless"/,
  /^Starting Offline/,
  /^Server ready/,
  /^Offline \[/,
  /^\s*[│┌└├─*]/,
  /^\s*\*/,
  /^Enter "rp"/,
];

/**
 * One line of the functions' or serverless-offline's output, as `npm start` shows it by default, or
 * undefined to leave it out.
 */
export const toConsoleLine = (raw: string): ConsoleLine | undefined => {
  const line = raw.trim();
  if (line.startsWith('{')) {
    let fields: Fields;
    try {
      fields = JSON.parse(line) as Fields;
    } catch {
      return { source: 'function', text: line.slice(0, 300) };
    }
    if ('_aws' in fields) return undefined;
    const level = String(fields.level ?? 'INFO').toUpperCase();
    const message = String(fields.message ?? '');
    if (level === 'WARN' || level === 'ERROR' || level === 'CRITICAL') {
      const detail = problemDetail(fields);
      return { source: sourceOf(fields), text: `${level} ${message}${detail ? ` (${detail})` : ''}` };
    }
    const describe = INFO_LINES[message];
    const text = describe?.(fields);
    return text === undefined ? undefined : { source: sourceOf(fields), text };
  }
  if (OFFLINE_CHATTER.some((pattern) => pattern.test(line))) return undefined;
  // Whatever else serverless-offline says is rare and usually a problem (a failed handler, a port): keep it.
  return { source: 'offline', text: line.slice(0, 500) };
};
