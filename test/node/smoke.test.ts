// The first thing the real node must show: the kubelet runs a pod the webhook (installed in the
// cluster from the project's chart) injected, in native-sidecar mode, the chart's default: the
// sidecar is an initContainers entry with restartPolicy Always, the kubelet starts it before the
// server, probes it, and its /readyz answers from the host on the pod's IP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGES, node, waitUntil, type Node } from './harness/node.js';
import { serverPod } from './harness/pods.js';

const NAMESPACE = 'smoke';
let k: Node;

beforeAll(async () => {
  k = node();
  await k.createNamespace(NAMESPACE);
  await k.kubectlOk(['create', 'secret', 'generic', 'vault-unseal-keys', '-n', NAMESPACE]);
});

afterAll(async () => {
  await k?.deleteNamespace(NAMESPACE);
});

// Both chart-shaped server images (scripts/node-tools.sh): OpenBao's static bao, and HashiCorp
// Vault's dynamically linked binary with the libraries it needs.
describe.each([
  ['OpenBao', IMAGES.openbao, 'openbao'],
  ['HashiCorp Vault', IMAGES.vault, 'vault'],
])('the real node with %s', (_server, image, name) => {
  it('runs a labelled pod with the sidecar injected as a native sidecar, and its /readyz answers on the pod IP', async () => {
    const pod = serverPod({
      name,
      namespace: NAMESPACE,
      image,
      labels: { 'vault-autounseal.io/inject': 'true' },
    });
    await k.kubectlOk(['apply', '-f', '-'], JSON.stringify(pod));
    const running = await k.waitForReady(NAMESPACE, name, 120_000);

    const sidecar = (running.spec.initContainers ?? []).find(
      (c: any) => c.name === 'vault-autounseal',
    );
    expect(sidecar, 'the injected initContainers entry').toBeDefined();
    expect(sidecar.restartPolicy).toBe('Always');
    // The kubelet ran it: a started, ready init container, and the server beside it.
    const status = running.status.initContainerStatuses.find(
      (s: any) => s.name === 'vault-autounseal',
    );
    expect(status.started).toBe(true);
    expect(status.ready).toBe(true);
    expect(running.status.containerStatuses[0].state.running).toBeDefined();

    const ip = await k.podIp(NAMESPACE, name);
    const readyz = await fetch(`http://${ip}:8210/readyz`, { signal: AbortSignal.timeout(5_000) });
    expect(readyz.status).toBe(200);
    // The server is reachable the same way: uninitialised, sealed, as it started. The pod is Ready
    // once its containers run (the server has no readiness probe here), which can be before the
    // server listens: on a fresh machine Vault's first start took longer than the sidecar's.
    const health = await waitUntil(`${name}'s API on ${ip}:8200`, 60_000, async () => {
      const answer = await fetch(`http://${ip}:8200/v1/sys/seal-status`, {
        signal: AbortSignal.timeout(5_000),
      }).catch(() => undefined);
      return answer?.ok ? answer.json() : undefined;
    });
    expect(health).toMatchObject({ initialized: false, sealed: true });
  });
});
