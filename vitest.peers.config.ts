import { defineConfig } from 'vitest/config';

/**
 * The peer suite (`npm run test:peers`): the project's client, functions and a chaos run against a real
 * Apache Kafka and the real Strimzi Kafka Bridge, which `bash peers/start.sh` starts. Its files end in
 * `.peer.ts`, so the default `npm test` (test/**\/*.test.ts, no Java) never picks them up.
 */
// biome-ignore lint/style/noDefaultExport: vitest reads a config file's default export.
export default defineConfig({
  test: {
    include: ['test/peers/**/*.peer.ts'],
    globalSetup: ['test/peers/global-setup.ts'],
    setupFiles: ['test/setup-quiet-functions.ts'],
    expect: { requireAssertions: true },
    // Real peers: a producer's metadata wait for an unknown topic is 3 s, a lost instance takes the bridge's
    // inactivity timeout (8 s) and a half, a broker restart several seconds.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One bridge and one broker for all files: files run one after another, so a chaos restart never cuts
    // another file's requests.
    fileParallelism: false,
    reporters: ['default'],
    silent: 'passed-only',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
