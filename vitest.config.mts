import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Many unit tests run real git, SQLite and native watchers; a loaded CI machine has
          // taken 5 s (vitest's default) for a few of them. A hang still fails, later.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          // Builds dist/ first: the daemon under test is dist/branchboxd.js.
          globalSetup: ['test/helpers/fresh-build.ts'],
        },
      },
    ],
  },
});
