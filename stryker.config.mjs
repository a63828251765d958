// Mutation testing of the pure decision modules (docs/mutation.md says how to read the results).
// `npm run mutation`: every mutant, and the results become the baseline in test/mutation/.
// `npm run mutation:ci` (.ci/run): only the mutants that changed since that baseline.
// Both end with scripts/mutation-scores.mjs, which holds each module to `thresholds.break`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // The unit tests only: the integration project starts real servers and never runs a mutant.
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'sidecar/seal-round.ts',
    'sidecar/key-parsing.ts',
    'sidecar/pause.ts',
    'sidecar/config.ts',
    'common/duration.ts',
    'common/sidecar-durations.ts',
    'webhook/config.ts',
    'webhook/should-inject.ts',
    'webhook/sidecar-spec.ts',
    'webhook/patch.ts',
  ],
  coverageAnalysis: 'perTest',
  // 2 cores on the CI machine, shared with the other stages.
  concurrency: 2,
  tempDirName: '.mutation/tmp',
  ignorePatterns: [
    '.cache',
    'dist',
    'coverage',
    '.mutation',
    '.ci/results',
    'bench/results',
    'chaos/results',
    'test/mutation',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.mutation/report.html' },
  jsonReporter: { fileName: '.mutation/report.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // Stryker judges all files together; scripts/mutation-scores.mjs holds each module to `break`.
  thresholds: { high: 90, low: 85, break: 85 },
};
