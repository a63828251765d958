import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure logic and runs anywhere in seconds; `integration` starts real
// OpenBao servers (and later other real components) on loopback and needs `scripts/prepare.mjs`
// to have built `dist/` and installed OpenBao first. `npm test` runs both.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Real servers on a 2-core machine: run files one by one so timings stay sane.
          fileParallelism: false,
        },
      },
      {
        test: {
          // deploy/: helm, kustomize, promtool and a real Prometheus. Run by .ci/run after `npm test`,
          // once scripts/deploy-tools.sh has installed those tools.
          name: 'deploy',
          include: ['test/deploy/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // test/chaos/: the chaos tool's own proofs against a real raft cluster (planted defects are
          // caught). Run by .ci/run with the short chaos profile.
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // test/e2e/: a real kube-apiserver and etcd (built by scripts/e2e-tools.sh into the
          // per-user cache), the built webhook, and the injected pod run with podman. Run by
          // `npm run test:e2e` and by .ci/run after the images stage.
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
