import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/build.ts', 'test/support/global-setup.ts'],
    // Suites share one radosgw and one storage emulator and start their own etcd members; running
    // files one at a time keeps the 2-core machine from timing out etcd elections.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
