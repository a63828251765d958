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

describe('buildPatch with nothing to put in a metadata map', () => {
  const pod = (metadata: Json | undefined): Json => ({
    apiVersion: 'v1',
    kind: 'Pod',
    ...(metadata === undefined ? {} : { metadata }),
    spec: { containers: [{ name: 'vault', image: 'openbao' }] },
  });
  const specFor = (raw: Json): Parameters<typeof buildPatch>[1] => {
    const built = buildSidecarSpec(readPod(raw, 'vault')!, testDefaults());
    if (!built.ok) throw new Error(built.message);
    return built.spec;
  };

  it('no labels to add: no /metadata/labels operation, the annotations still added', () => {
    const raw = pod({ name: 'vault-0' });
    const ops = buildPatch(readPod(raw, 'vault')!, { ...specFor(raw), labels: {} });
    expect(ops.map((op) => op.path).filter((p) => p.startsWith('/metadata'))).toEqual([
      '/metadata/annotations',
    ]);
  });

  it('a pod without metadata gets /metadata with only the maps that have entries', () => {
    const raw = pod(undefined);
    const spec = specFor(raw);
    const view = readPod(raw, 'vault')!;
    expect(buildPatch(view, { ...spec, labels: {} })[0]).toEqual({
      op: 'add',
      path: '/metadata',
      value: { annotations: { 'vault-autounseal.io/status': 'injected' } },
    });
    expect(buildPatch(view, { ...spec, annotations: {} })[0]).toEqual({
      op: 'add',
      path: '/metadata',
      value: { labels: { 'vault-autounseal.io/injected': 'true' } },
    });
  });
});
