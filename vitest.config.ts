import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalPostgres.ts'],
    // Files run in parallel, each with its own databases. Most of a file's time is spent waiting on the
    // processes, browsers and databases it drives, so three files at once on two cores finish in about
    // half the time of vitest's default here (one file at a time: cores - 1).
    pool: 'forks',
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summaryReporter.ts'],
  },
});
