import { defineConfig } from 'vitest/config';

// Two tiers. `unit`: no service, no build, seconds (npm run test:unit). `integration`: builds the bundles
// users run and starts radosgw and the Cloud Storage emulator once per run (global setup); suites start
// their own etcd members.
export default defineConfig({
  test: {
    // Integration suites share one radosgw and one storage emulator and start their own etcd members;
    // running files one at a time keeps the 2-core machine from timing out etcd elections. (A root-level
    // option: vitest applies it to every project.)
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/build.ts', 'test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
