import { CORRELATION_ID, type InvocationContext, type Log } from '../../lib/core/log.js';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
  /** What Powertools would print as `correlation_id`: the line's own, else the invocation's. */
  readonly correlationId?: string;
}

/** A logger that keeps every line, so tests can assert what was logged (and what was not: secrets). */
export const createMemoryLog = (): Log & {
  readonly lines: LogLine[];
  /** Every `startInvocation` call, in order. */
  readonly invocations: { readonly requestId: string; readonly correlationId: string }[];
  text(): string;
} => {
  const lines: LogLine[] = [];
  const invocations: { requestId: string; correlationId: string }[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: string, attributes: Record<string, unknown> = {}) => {
      const own = attributes[CORRELATION_ID];
      const correlationId = typeof own === 'string' ? own : invocations.at(-1)?.correlationId;
      lines.push({ level, message, attributes, ...(correlationId === undefined ? {} : { correlationId }) });
    };
  return {
    lines,
    invocations,
    text: () =>
      lines.map((line) => `${line.level} ${line.message} ${JSON.stringify(line.attributes)}`).join('\n'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    startInvocation: (context: InvocationContext, correlationId: string) => {
      invocations.push({ requestId: context.awsRequestId, correlationId });
    },
  };
};

/** One JSON line written to stdout: a Powertools log line, or an EMF metrics line (it has `_aws`). */
export type JsonLine = Record<string, unknown>;

export interface OutputCapture {
  /** Every JSON line written so far (anything else on stdout is ignored). */
  json(): JsonLine[];
  /** Log lines only (they have `level`). */
  logs(): JsonLine[];
  /** EMF lines only. */
  emf(): EmfLine[];
  /** Everything written, raw: for "this never appears" assertions. */
  text(): string;
  /** Puts the streams' `write` back; call it in `afterEach`. */
  restore(): void;
}

/** The parts of a CloudWatch Embedded Metric Format line that tests read. */
export interface EmfLine extends JsonLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
}

/**
 * Captures what Powertools Logger and Metrics print: JSON lines through their own `Console`, which writes
 * info/debug lines and EMF to stdout and warn/error lines to stderr (Lambda sends both to CloudWatch
 * Logs). Lines come back in the order they were written. Nothing reaches the terminal while captured.
 */
export const captureOutput = (): OutputCapture => {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
  }
  const json = (): JsonLine[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as JsonLine);
  return {
    json,
    logs: () => json().filter((line) => typeof line.level === 'string'),
    emf: () => json().filter((line): line is EmfLine => typeof line._aws === 'object'),
    text: () => chunks.join(''),
    restore: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
    },
  };
};
