import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A test that asserts nothing proves nothing: fail it (our stand-in for undici's `plan`).
    expect: { requireAssertions: true },
    testTimeout: 20_000,
    // The concurrent tests (each call of every dialect against a trickling answer) wait on timers, not the
    // CPU: all twelve at once take one deadline's time instead of three.
    maxConcurrency: 12,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: ['default'],
    // What the code under test logs is shown only for a failing test: vitest's own lines stay readable.
    silent: 'passed-only',
    setupFiles: ['test/setup-quiet-functions.ts'],
    // The pinned AWS SDK runs on Node 20; its notice about its releases after January 2027 is in the README.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
