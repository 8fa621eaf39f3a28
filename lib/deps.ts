import { type Config, loadConfig } from './config.js';

/**
 * Builds a function's dependencies on first use, once per cold start, from `process.env` (the only place
 * that reads it). A failed config load caches nothing, so the error repeats on every call and stays visible.
 * Each function passes its own factory, so it loads only its own clients.
 */
export const lazyDeps = <T>(create: (config: Config) => T): (() => T) => {
  let deps: T | undefined;
  return () => {
    deps ??= create(loadConfig(process.env));
    return deps;
  };
};
