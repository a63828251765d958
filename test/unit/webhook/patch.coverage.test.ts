// buildPatch given a spec with nothing to put in an array: no empty `add` appears. The webhook's
// spec always carries the pod-info volume, so this is the patch function's own contract, kept for
// any caller (patch.test.ts covers the specs the webhook builds).
import { describe, expect, it } from 'vitest';
import { buildPatch } from '../../../webhook/patch.js';
import { readPod } from '../../../webhook/pod.js';
import { buildSidecarSpec } from '../../../webhook/sidecar-spec.js';
import { testDefaults, type Json } from '../../fixtures/webhook/fixtures.js';

describe('buildPatch with no volumes to add', () => {
  it.each([
    // [the pod, what it already has]
    ['without a volumes array', {}],
    ['with one', { volumes: [{ name: 'data', emptyDir: {} }] }],
  ])('a pod %s gets no /spec/volumes operation at all', (_name, extra) => {
    const pod: Json = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'vault-0' },
      spec: { containers: [{ name: 'vault', image: 'openbao' }], ...extra },
    };
    const view = readPod(pod, 'vault')!;
    const built = buildSidecarSpec(view, testDefaults());
    if (!built.ok) throw new Error(built.message);
    const ops = buildPatch(view, { ...built.spec, volumes: [] });
    expect(ops.filter((op) => op.path.startsWith('/spec/volumes'))).toEqual([]);
    // The sidecar itself is still added (a native sidecar by default: an init container).
    expect(ops.map((op) => op.path)).toContain('/spec/initContainers');
  });
});
