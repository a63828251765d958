// Issue 18, point 5, on the real node: a sidecar that cannot start (its image missing, as with a
// mistyped tag or a registry the node cannot reach) keeps the Vault container from starting in
// native mode, the default (docs/quick-start.md and the chart's NOTES say so); in regular mode
// Vault starts without it. The webhook is upgraded to inject a missing image for this file, so it
// runs alone (the `node-exclusive` project, after the other files).
import { describe, expect, it } from 'vitest';
import {
  IMAGES,
  SIDECAR,
  containerStatus,
  node,
  waitUntil,
  withWebhookSettings,
} from './scenario-support.js';

const k = node();

describe('a sidecar that cannot start', () => {
  const ns = 'wrong-image';

  it('keeps Vault from starting in native mode; a regular sidecar does not', async () => {
    await k.createNamespace(ns);
    try {
      await withWebhookSettings(
        k,
        { 'sidecar.image.tag': 'does-not-exist' },
        (env) =>
          env.some((e) => e.name === 'SIDECAR_IMAGE' && /does-not-exist/.test(e.value ?? '')),
        async () => {
          const podYaml = (name: string, native: boolean): string =>
            JSON.stringify({
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: {
                name,
                namespace: ns,
                labels: { 'vault-autounseal.io/inject': 'true' },
                annotations: { 'vault-autounseal.io/native-sidecar': String(native) },
              },
              spec: {
                terminationGracePeriodSeconds: 2,
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 100,
                  runAsGroup: 1000,
                  fsGroup: 1000,
                },
                containers: [
                  {
                    name: 'vault',
                    image: IMAGES.openbao,
                    imagePullPolicy: 'Never',
                    command: ['vault', 'server', '-dev', '-dev-listen-address=0.0.0.0:8200'],
                    // The dev server writes its token to $HOME, which uid 100 cannot write in the image.
                    env: [{ name: 'HOME', value: '/tmp' }],
                    securityContext: { allowPrivilegeEscalation: false },
                  },
                ],
              },
            });
          await k.kubectlOk(['apply', '-f', '-'], podYaml('native', true));
          await k.kubectlOk(['apply', '-f', '-'], podYaml('regular', false));
          // Native: the sidecar's image cannot be had, and the Vault container is never started.
          const stuck = await waitUntil(`${ns}/native: sidecar image error`, 120_000, async () => {
            const p = await k.get(ns, 'pod', 'native');
            const reason = containerStatus(p, SIDECAR)?.state?.waiting?.reason as
              string | undefined;
            return reason && /ErrImage|ImagePull/.test(reason) ? p : false;
          });
          await new Promise((r) => setTimeout(r, 15_000));
          const later = await k.get(ns, 'pod', 'native');
          expect(containerStatus(later, 'vault').state.running).toBeUndefined();
          expect(containerStatus(later, 'vault').state.waiting?.reason).toBe('PodInitializing');
          expect(later.status.phase).toBe('Pending');
          expect(stuck.spec.initContainers[0].name).toBe(SIDECAR);
          // Regular: Vault runs beside the sidecar that cannot start.
          let lastSeen: unknown;
          await waitUntil(
            `${ns}/regular: vault running`,
            180_000,
            async () => {
              const p = await k.get(ns, 'pod', 'regular');
              lastSeen = p?.status;
              return Boolean(containerStatus(p, 'vault')?.state?.running);
            },
            () => `the pod's status: ${JSON.stringify(lastSeen)}`,
          );
          const regular = await k.get(ns, 'pod', 'regular');
          expect(containerStatus(regular, SIDECAR)?.state?.waiting?.reason).toMatch(
            /ErrImage|ImagePull/,
          );
        },
      );
    } finally {
      await k.deleteNamespace(ns, 120_000);
    }
  }, 600_000);
});
