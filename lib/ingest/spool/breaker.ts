import CircuitBreaker from 'opossum';
import { ERROR_CODES, isAppError, UpstreamError } from '../../core/errors.js';
import type { Log } from '../../core/log.js';
import type { BreakerSettings } from './config.js';

/**
 * Failures that say the proxy cannot take records now (down, timing out, throttling, 5xx, refusing our
 * credentials, our own deadline): what opens the breaker, and what a spooling route spools after. A
 * record refused for good (`ERR_RECORD_REJECTED`) or a caller's mistake says nothing about the proxy.
 */
const UPSTREAM_FAILURES: ReadonlySet<string> = new Set([
  ERROR_CODES.UPSTREAM_STATUS,
  ERROR_CODES.UPSTREAM_TIMEOUT,
  ERROR_CODES.UPSTREAM_NETWORK,
  ERROR_CODES.UPSTREAM_PROTOCOL,
  ERROR_CODES.UPSTREAM_AUTH,
  ERROR_CODES.DEADLINE,
  ERROR_CODES.SECRET,
]);

export const isUpstreamFailure = (error: unknown): boolean =>
  isAppError(error) && UPSTREAM_FAILURES.has(error.code);

/** Thrown instead of trying the proxy while the breaker is open: no attempt was made. */
export class BreakerOpenError extends UpstreamError {
  readonly breakerOpen = true;
  constructor(retryAfterMs: number, cause: unknown) {
    super(
      ERROR_CODES.UPSTREAM_NETWORK,
      'the Kafka REST proxy is failing: not tried while the circuit is open',
      {
        retryAfterMs,
        cause,
      },
    );
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** One function instance's view of the proxy, shared by every route. */
export interface UpstreamBreaker {
  /**
   * Runs `produce` unless the breaker is open; then throws an `UpstreamError` `ERR_UPSTREAM_NETWORK` whose
   * `retryAfterMs` is the time left before the next probe. Half-open, one call probes and the others are
   * turned away as while open.
   */
  run<T>(produce: () => Promise<T>): Promise<T>;
  state(): BreakerState;
}

/**
 * The breaker, by `opossum` (the maintained Node circuit breaker): it opens when, among at least
 * `minAttempts` calls in the last `windowMs`, more than `failurePercent` % failed upstream; after `openMs`
 * it lets one call probe, and closes on its success. Timeouts stay the produce call's own (its deadline).
 */
export const createUpstreamBreaker = (settings: BreakerSettings, log: Log): UpstreamBreaker => {
  const breaker = new CircuitBreaker(<T>(produce: () => Promise<T>) => produce(), {
    timeout: false,
    errorThresholdPercentage: settings.failurePercent,
    volumeThreshold: settings.minAttempts,
    rollingCountTimeout: settings.windowMs,
    rollingCountBuckets: 10,
    resetTimeout: settings.openMs,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    // A filtered error counts as a success: it is no sign of an outage.
    errorFilter: (error: unknown) => !isUpstreamFailure(error),
  });
  let openedAtMs = 0;
  breaker.on('open', () => {
    openedAtMs = Date.now();
    log.warn('upstream breaker open: the proxy is not tried for a while', { openMs: settings.openMs });
  });
  breaker.on('halfOpen', () => log.info('upstream breaker half-open: the next request probes the proxy'));
  breaker.on('close', () => log.info('upstream breaker closed: the proxy answers again'));
  return {
    run: async <T>(produce: () => Promise<T>): Promise<T> => {
      try {
        return (await breaker.fire(produce)) as T;
      } catch (error) {
        if (isAppError(error) || (error as { code?: unknown }).code !== 'EOPENBREAKER') throw error;
        const retryAfterMs = Math.max(1_000, openedAtMs + settings.openMs - Date.now());
        throw new BreakerOpenError(retryAfterMs, error);
      }
    },
    state: () => (breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed'),
  };
};
