// Rules of the JSON Patch that the mutation run (docs/mutation.md) showed no test held: each test
// here failed against at least one surviving mutant of webhook/patch.ts.
import { describe, expect, it } from 'vitest';
import { buildPatch } from '../../../webhook/patch.js';
import { readPod } from '../../../webhook/pod.js';
import { buildSidecarSpec } from '../../../webhook/sidecar-spec.js';
import { testDefaults, type Json } from '../../fixtures/webhook/fixtures.js';

describe('buildPatch on a pod that already carries our status annotation', () => {
  // Exported from an injected pod, then the sidecar removed: the annotation is already right.
  const pod: Json = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'vault-0',
      annotations: { 'vault-autounseal.io/status': 'injected', 'example.com/keep': 'me' },
    },
    spec: { containers: [{ name: 'vault', image: 'hashicorp/vault:1.21.0' }] },
  };

  it('leaves the annotation alone and adds only the volumes and the container', () => {
    const view = readPod(pod, 'vault')!;
    const built = buildSidecarSpec(view, testDefaults({ nativeSidecar: false }));
    if (!built.ok) throw new Error(built.message);
    const ops = buildPatch(view, built.spec);
    expect(ops.map((op) => op.path)).toEqual([
      '/metadata/labels',
      '/spec/volumes',
      '/spec/containers/-',
    ]);
  });
});
