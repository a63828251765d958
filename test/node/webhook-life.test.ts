// The webhook's own life on a real node (issue 18, point 7), as deploy/README.md section 3 says:
// with its Deployment scaled to 0, a pod opted in by label is refused (failurePolicy Fail: no
// Vault pod starts without its sidecar), a pod opted in by the annotation alone starts without
// the sidecar (the best-effort entry, failurePolicy Ignore); scaled back up, the pod the
// StatefulSet controller had been failing to recreate is created, and injected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { node, waitUntil, type Node } from './harness/node.js';
import { injectedSidecar, serverPod, serverStatefulSet } from './harness/pods.js';

const NAMESPACE = 'webhook-life';
let k: Node;

beforeAll(async () => {
  k = node();
  await k.createNamespace(NAMESPACE);
  await k.kubectlOk(['create', 'secret', 'generic', 'vault-unseal-keys', '-n', NAMESPACE]);
});

afterAll(async () => {
  // Whatever happened, the next file gets the webhook as the global setup installed it.
  await k?.scaleWebhook(2);
  await k?.deleteNamespace(NAMESPACE);
});

describe("the webhook's own life", () => {
  it('scaled to 0: label-selected pods are refused, annotation-only pods start without the sidecar; scaled up, the next recreated pod is injected', async () => {
    const labels = { 'vault-autounseal.io/inject': 'true' };
    await k.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify(serverStatefulSet({ name: 'vault', namespace: NAMESPACE, labels })),
    );
    const first = await k.waitForReady(NAMESPACE, 'vault-0', 180_000);
    expect(injectedSidecar(first), 'injected while the webhook runs').toBeDefined();

    await k.scaleWebhook(0);

    const refused = await k.kubectl(
      ['create', '-f', '-'],
      JSON.stringify(serverPod({ name: 'labelled', namespace: NAMESPACE, labels })),
    );
    expect(refused.code, 'a label-selected pod is refused').not.toBe(0);
    expect(refused.stderr).toMatch(/failed calling webhook "pod\.vault-autounseal\.io"/);
    expect(await k.get(NAMESPACE, 'pod', 'labelled')).toBeUndefined();

    await k.kubectlOk(
      ['create', '-f', '-'],
      JSON.stringify(
        serverPod({
          name: 'annotated',
          namespace: NAMESPACE,
          annotations: { 'vault-autounseal.io/inject': 'true' },
        }),
      ),
    );
    const annotated = await k.waitForReady(NAMESPACE, 'annotated', 180_000);
    expect(injectedSidecar(annotated), 'started without the sidecar').toBeUndefined();

    // The controller cannot recreate the deleted pod while the webhook is away...
    const oldUid = first.metadata.uid as string;
    await k.kubectlOk(['delete', 'pod', 'vault-0', '-n', NAMESPACE, '--wait=true']);
    const failed = await waitUntil(
      'the StatefulSet controller refused by the webhook',
      120_000,
      async () => {
        const events = await k.events(NAMESPACE, { name: 'vault', reason: 'FailedCreate' });
        return events.find((e) => /vault-autounseal\.io/.test(e.message)) ?? false;
      },
    );
    expect(failed.kind).toBe('StatefulSet');
    expect(await k.get(NAMESPACE, 'pod', 'vault-0')).toBeUndefined();

    // ...and once it is back, the pod it creates next is injected.
    const back = Date.now();
    await k.scaleWebhook(2);
    const recreated = await k.waitForReady(NAMESPACE, 'vault-0', 300_000);
    process.stderr.write(
      `[node] webhook Ready → vault-0 Ready: ${((Date.now() - back) / 1000).toFixed(1)} s\n`,
    );
    expect(recreated.metadata.uid).not.toBe(oldUid);
    expect(injectedSidecar(recreated), 'the recreated pod is injected').toBeDefined();
  });
});
