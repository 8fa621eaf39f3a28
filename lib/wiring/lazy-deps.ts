import type { Env } from './settings/env.js';

/**
 * Builds a function's dependencies on first use, once per cold start, from `process.env` (the only place
 * that reads it) through the function's own settings loader. A failed config load caches nothing, so the
 * error repeats on every call and stays visible. Each function passes its own loader and factory, so it
 * parses only its own settings and loads only its own clients.
 */
export const lazyDeps = <C, T>(load: (env: Env) => C, create: (config: C) => T): (() => T) => {
  let deps: T | undefined;
  return () => {
    deps ??= create(load(process.env));
    return deps;
  };
};
