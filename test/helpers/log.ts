import type { Log } from '../../lib/log.js';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** A logger that keeps every line, so tests can assert what was logged (and what was not: secrets). */
export const createMemoryLog = (): Log & { readonly lines: LogLine[]; text(): string } => {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: string, attributes: Record<string, unknown> = {}) => {
      lines.push({ level, message, attributes });
    };
  return {
    lines,
    text: () =>
      lines.map((line) => `${line.level} ${line.message} ${JSON.stringify(line.attributes)}`).join('\n'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
};
