import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Files run in parallel, each on its own database. PostgreSQL's default
    // max_connections is 100, and CI needs some for itself: at two workers the worst
    // pair stays under 90. concurrentAppends holds the most, 58 at most (50 racing
    // appenders beside its pool of 8), then commandBus and sweepPendingCommands, 28
    // each; every other file measured under 20. A file that holds more must be
    // weighed against this.
    maxWorkers: 2,
    // Handlers log and emit metrics through Powertools; tests assert on responses, not on stdout.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
