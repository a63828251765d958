// Pod Security "restricted" enforced on the Vault namespace, on a real node (issue 18, point 6):
// the webhook's injected sidecar, with the chart's defaults, must pass the apiserver's Pod Security
// admission (which runs after the mutating webhooks) and run under the kubelet beside a Vault pod
// that itself meets "restricted" as the examples set it (the official chart's uid 100, gid
// 1000, fsGroup 1000, plus the restricted container settings). Both opt-in paths: the pod label
// (deploy/examples/vault-helm-values.yaml) and the namespace label (namespace-opt-in.yaml).
// The namespace must really enforce: a pod without the restricted settings is refused there. The
// example's StatefulSet runs there with each server's image, OpenBao and HashiCorp Vault.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { node, waitUntil, type Node } from './harness/node.js';
import { injectedSidecar, serverPod } from './harness/pods.js';
import { installVault, PODS } from './scenario-support.js';

const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
};
const BY_POD_LABEL = 'psa-pod-label';
const BY_NAMESPACE = 'psa-namespace-label';
const SERVERS = ['openbao', 'vault'] as const;
const example = (server: (typeof SERVERS)[number]): string => `psa-example-${server}`;
let k: Node;

beforeAll(async () => {
  k = node();
  await k.createNamespace(BY_POD_LABEL, RESTRICTED);
  await k.createNamespace(BY_NAMESPACE, {
    ...RESTRICTED,
    'vault-autounseal.io/injection': 'enabled',
  });
  for (const namespace of [BY_POD_LABEL, BY_NAMESPACE]) {
    await k.kubectlOk(['create', 'secret', 'generic', 'vault-unseal-keys', '-n', namespace]);
  }
});

afterAll(async () => {
  await k?.deleteNamespace(BY_POD_LABEL);
  await k?.deleteNamespace(BY_NAMESPACE);
  await Promise.all(SERVERS.map((server) => k?.deleteNamespace(example(server))));
});

async function admittedAndRunning(namespace: string, pod: Record<string, unknown>): Promise<void> {
  const created = await k.kubectl(['create', '-f', '-'], JSON.stringify(pod));
  expect(created.stderr, 'admitted under Pod Security "restricted"').toBe('');
  expect(created.code).toBe(0);
  const ready = await k.waitForReady(namespace, 'vault-0', 180_000);
  const sidecar = injectedSidecar(ready);
  expect(sidecar, 'the sidecar was injected').toBeDefined();
  expect(sidecar.restartPolicy).toBe('Always');
  const status = [
    ...(ready.status.initContainerStatuses ?? []),
    ...ready.status.containerStatuses,
  ].find((s: any) => s.name === 'vault-autounseal');
  expect(status.ready, 'the kubelet runs the sidecar and its readiness probe passes').toBe(true);
  const vault = ready.status.containerStatuses.find((s: any) => s.name === 'vault');
  expect(vault.state.running).toBeDefined();
}

describe('Pod Security "restricted" on the Vault namespace', () => {
  it('refuses a pod without the restricted settings there (the namespace enforces)', async () => {
    const pod = serverPod({ name: 'lax', namespace: BY_POD_LABEL }) as any;
    delete pod.spec.containers[0].securityContext;
    const created = await k.kubectl(['create', '-f', '-'], JSON.stringify(pod));
    expect(created.code).not.toBe(0);
    expect(created.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
  });

  it('admits and runs a pod opted in by its label, with the sidecar injected', async () => {
    await admittedAndRunning(
      BY_POD_LABEL,
      serverPod({
        name: 'vault-0',
        namespace: BY_POD_LABEL,
        labels: { 'vault-autounseal.io/inject': 'true' },
      }),
    );
  });

  it('admits and runs a pod opted in by its namespace label, with the sidecar injected', async () => {
    await admittedAndRunning(BY_NAMESPACE, serverPod({ name: 'vault-0', namespace: BY_NAMESPACE }));
  });

  it.concurrent.each(SERVERS)(
    "runs the example values' StatefulSet there with %s: every pod admitted, the sidecar and the server running",
    async (server) => {
      const ns = example(server);
      // deploy/examples/vault-helm-values.yaml as the quick start installs it; the StatefulSet
      // controller creates the pods, so a refusal shows as no pod at all (FailedCreate events).
      await installVault(k, ns, {
        server,
        native: true,
        namespaceLabels: RESTRICTED,
      });
      for (const name of PODS) {
        const running = await waitUntil(
          `${ns}/${name} running under "restricted"`,
          180_000,
          async () => {
            const got = await k.kubectl(['get', 'pod', '-n', ns, name, '-o', 'json']);
            if (got.code !== 0) return undefined;
            const pod = JSON.parse(got.stdout);
            const statuses = [
              ...(pod.status?.initContainerStatuses ?? []),
              ...(pod.status?.containerStatuses ?? []),
            ];
            const started = (container: string): boolean =>
              statuses.some((s: any) => s.name === container && s.state?.running);
            return started('vault') && started('vault-autounseal') ? pod : undefined;
          },
        );
        expect(injectedSidecar(running), `${name}: the sidecar was injected`).toBeDefined();
      }
      const events = await k.kubectl(['get', 'events', '-n', ns, '-o', 'json']);
      const refusals = JSON.parse(events.stdout).items.filter(
        (e: any) => e.reason === 'FailedCreate',
      );
      expect(refusals.map((e: any) => e.message)).toEqual([]);
    },
  );
});
