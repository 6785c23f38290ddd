import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real servers; a few files at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
    // Two projects so that a run of unit tests alone does not start moto and MariaDB:
    // a project's global setup runs only when one of its files is queued.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.integration.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.integration.test.ts'], globalSetup: ['test/support/global-setup.ts'] } },
    ],
  },
});
