import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalPostgres.ts'],
    // Files run in parallel, each with its own databases. Most of a file's time is spent waiting on the
    // processes, browsers and databases it drives, so two files at once on two cores take about two
    // thirds of the time of vitest's default here (one file at a time: cores - 1); three at once made
    // the longest process-driven tests run past their bounds.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summaryReporter.ts'],
  },
});
