// Flat config: typescript-eslint type-checked rules plus the house-style guardrails (complexity,
// parameters, pure modules kept free of I/O).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Pure decision modules must not reach for I/O: they take plain data and return plain data.
const PURE_FILES = [
  'sidecar/seal-round.ts',
  'sidecar/key-parsing.ts',
  'sidecar/config.ts',
  'sidecar/pause.ts',
  'sidecar/key-snapshot.ts',
  'sidecar/display-path.ts',
  'common/duration.ts',
  'common/sidecar-durations.ts',
  'common/connection-fairness.ts',
  'common/metrics-cache.ts',
  'webhook/should-inject.ts',
  'webhook/sidecar-spec.ts',
  'webhook/patch.ts',
  'webhook/admission.ts',
  'webhook/config.ts',
  'webhook/pod.ts',
  'webhook/keys.ts',
  'webhook/bounded-text.ts',
  'chaos/checks.ts',
  'chaos/plan.ts',
  'chaos/random.ts',
  'chaos/report.ts',
  'chaos/soak-growth.ts',
  'webhook/json-depth.ts',
];
const IO_MODULES = [
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:net',
  'node:child_process',
  'fs',
  'http',
  'https',
  'chokidar',
  'node-vault',
  'fastify',
  'pino',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.cache/**',
      'coverage/**',
      'deploy/**',
      'eslint.config.js',
      'scripts/**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      complexity: ['error', 10],
      'max-depth': ['error', 3],
      'max-params': ['error', 4],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: PURE_FILES,
    rules: {
      'no-restricted-imports': ['error', { paths: IO_MODULES }],
      'no-restricted-globals': ['error', 'process', 'setTimeout', 'setInterval'],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'chaos/**/*.ts', 'demo/**/*.ts'],
    rules: {
      complexity: 'off',
      'max-params': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests and the harness handle server JSON as it comes; fakes implement async ports synchronously.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
