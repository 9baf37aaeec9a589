import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Files run in parallel, each on its own database. Two workers keep the peak
    // (a 50-connection racing pool plus another file's pools) under PostgreSQL's
    // default max_connections of 100.
    maxWorkers: 2,
    // Handlers log and emit metrics through Powertools; tests assert on responses, not on stdout.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
