import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // What a unit test asserts is never its speed: a few run the CLI or many seeds, and on a
          // shared 2-core machine under load they take longer than vitest's default 5 s.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/services/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // The tests share one broker and one Redis; keep files sequential on a 2-core machine.
          fileParallelism: false,
        },
      },
    ],
  },
});
