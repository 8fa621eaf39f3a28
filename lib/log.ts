import { Logger } from '@aws-lambda-powertools/logger';

/**
 * What the bridge's modules need from a logger. Attributes are structured fields; never put secrets or
 * payloads in them (payloads only behind an explicit debug setting).
 */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** JSON lines through Powertools Logger, the format CloudWatch Logs Insights and the metrics filters expect. */
export const createLog = (
  level: LogLevel,
  serviceName = 'kafka-rest-bridge',
): Log & { readonly logger: Logger } => {
  const logger = new Logger({ serviceName, logLevel: level });
  return {
    logger,
    debug: (message, attributes) => logger.debug(message, attributes ?? {}),
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  };
};
