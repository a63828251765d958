// Mutation testing of the pure decision modules (docs/mutation.md): `npm run mutation` runs the
// full set; `npm run mutation:ci` runs the profile .ci/run uses.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
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
  // 2 cores on the CI machine, shared.
  concurrency: 2,
  tempDirName: '.mutation/tmp',
  ignorePatterns: ['.cache', 'dist', 'coverage', '.ci/results', 'bench/results', 'chaos/results'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.mutation/report.html' },
  jsonReporter: { fileName: '.mutation/report.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 90, low: 85, break: 85 },
};
