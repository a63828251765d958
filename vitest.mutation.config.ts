import { defineConfig } from 'vitest/config';

// The vitest config Stryker runs (stryker.config.mjs): the `unit` project's tests alone, as one
// project. The `integration` project starts real servers from `dist/`, which a mutant never
// reaches (it lives in Stryker's sandbox copy of the sources), so it would only cost time.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
  },
});
