import { defineConfig } from 'vitest/config';

// The pure decision modules (no fs, HTTP or timers): unit tests can reach every line and branch of
// them, so their coverage thresholds are higher than the rest's.
const pureModules = [
  'sidecar/seal-round.ts',
  'sidecar/loop-state.ts',
  'sidecar/key-parsing.ts',
  'sidecar/pause.ts',
  'sidecar/config.ts',
  'sidecar/key-entry.ts',
  'sidecar/tls-failure.ts',
  'sidecar/outage-level.ts',
  'common/duration.ts',
  'common/sidecar-durations.ts',
  'common/connection-fairness.ts',
  'common/metrics-cache.ts',
  'common/vault-settings.ts',
  'webhook/config.ts',
  'webhook/should-inject.ts',
  'webhook/sidecar-spec.ts',
  'webhook/patch.ts',
];

// Two projects: `unit` is pure logic and runs anywhere in seconds; `integration` starts real
// OpenBao servers (and later other real components) on loopback and needs `scripts/prepare.mjs`
// to have built `dist/` and installed OpenBao first. `npm test` runs both.
/**
 * Real-node files that change the webhook every other node file relies on: quick-start (installs
 * it as the page says, then rolls back), webhook-life (scales it to 0), wrong-image (injects a
 * missing image). They run after all the others.
 */
const NODE_EXCLUSIVE = [
  'test/node/quick-start.test.ts',
  'test/node/webhook-life.test.ts',
  'test/node/wrong-image.test.ts',
  'test/node/upgrade.test.ts',
];

export default defineConfig({
  test: {
    // Off unless asked for: `npm run coverage`, or `npm test -- --coverage` (.ci/run's first stage).
    // The custom provider is vitest's V8 provider plus the built programs the integration tests run
    // as child processes (scripts/coverage-provider.mjs); the thresholds apply to both together.
    coverage: {
      provider: 'custom',
      customProviderModule: './scripts/coverage-provider.mjs',
      include: ['sidecar/**/*.ts', 'webhook/**/*.ts', 'common/**/*.ts'],
      // vitest matches these globs anywhere in a path: test/fixtures/webhook/ is not product code.
      exclude: ['**/test/**', '**/dist/**'],
      reporter: [['text', { skipFull: true }], 'json-summary', 'text-summary'],
      // A failed test still gets its report: .ci/run counts the tests and the thresholds apart.
      reportOnFailure: true,
      thresholds: {
        // sidecar/, webhook/ and common/ together.
        lines: 90,
        branches: 90,
        ...Object.fromEntries(pureModules.map((file) => [file, { lines: 95, branches: 95 }])),
      },
    },
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
          // Three files at a time. The files mostly wait on timers (servers starting, sidecars
          // polling, deadlines): the 2-core machine was 11% busy with them one by one. Each
          // worker hands out ports from its own slice (test/harness/ports.ts), so files never
          // share one. Measured with another CI run beside: OpenBao 169 s (one by one: ~500 s),
          // 4 at a time 134 s; Vault 1.21 on Node 24 184 s (one by one: 451 s); every test
          // passed in each. Three, not four, leaves room for a busier machine.
          maxWorkers: 3,
          // After the unit project (vitest runs projects with different maxWorkers in groups).
          sequence: { groupOrder: 1 },
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
      {
        test: {
          // test/release/: what `npm run release -- --version <package.json version>` made in
          // release/<version>/ (run it first: .ci/run's release stage does), its refusals, and the
          // publishing workflow (actionlint, built by scripts/release/actionlint.sh).
          name: 'release',
          include: ['test/release/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // test/node/: a real single-node cluster (kubelet, containerd, CoreDNS; harness/cluster.ts)
          // started once for the run by the global setup, the webhook installed with helm. Root only.
          // Run by `npm run test:node` and by .ci/run after the e2e stage. Its files run one at a
          // time, each in its own namespaces. Side by side they were no faster on 2 cores: two at
          // a time (up to 24 Vault pods, each probed by an exec of `vault status` every 5 s) put
          // the load average at 60 to 90 and one file took 674 s instead of 232 s alone; all five
          // at once passed 100, and the sidecars' own probes killed them (hence the startup probe).
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          exclude: ['test/node/teardown.test.ts', ...NODE_EXCLUSIVE],
          globalSetup: ['test/node/global-setup.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          // Groups run one after the other, in this order: node, node-exclusive, node-teardown.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          // The node files that change the webhook itself (its release, its replicas), which every
          // other file relies on: after the others, on the same cluster (a later group).
          name: 'node-exclusive',
          include: NODE_EXCLUSIVE,
          globalSetup: ['test/node/global-setup.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          // After every `node` file (a later group): tears the node down and checks that the machine
          // is as it was before (no process, mount, link, iptables rule or cgroup left).
          name: 'node-teardown',
          include: ['test/node/teardown.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
