// Decision 3 of 3: the JSON Patch (RFC 6902) that adds the sidecar spec to the raw pod.
// Pure: plain data in and out.
//
// The pitfalls it avoids (each tried with real patch libraries):
// - appending with `/-` to a missing array fails, so a missing array is added whole, once;
// - `add` on an existing map key replaces it, so existing items are never targeted (the spec
//   builder has already refused name clashes);
// - keys such as `vault-autounseal.io/status` are escaped (`~` as `~0`, then `/` as `~1`).
import type { PodView } from './pod.js';
import type { SidecarSpec } from './sidecar-spec.js';

export interface AddOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

/** One reference token of a JSON Pointer (RFC 6901). */
export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

type PodShape = Pick<
  PodView,
  | 'hasMetadata'
  | 'hasAnnotations'
  | 'annotations'
  | 'hasVolumes'
  | 'hasContainers'
  | 'hasInitContainers'
>;

function annotationOps(
  pod: PodShape,
  annotations: Readonly<Record<string, string>>,
): AddOperation[] {
  if (!pod.hasMetadata) {
    return [{ op: 'add', path: '/metadata', value: { annotations: { ...annotations } } }];
  }
  if (!pod.hasAnnotations) {
    return [{ op: 'add', path: '/metadata/annotations', value: { ...annotations } }];
  }
  // An annotation already holding the value (a stale status annotation) is left alone: `add` on
  // an existing key would replace it, and never overwriting is the rule.
  return Object.entries(annotations)
    .filter(([key, value]) => pod.annotations[key] !== value)
    .map(([key, value]) => ({
      op: 'add',
      path: `/metadata/annotations/${escapePointerToken(key)}`,
      value,
    }));
}

function appendOps(path: string, exists: boolean, items: readonly unknown[]): AddOperation[] {
  if (items.length === 0) return [];
  if (!exists) return [{ op: 'add', path, value: structuredClone(items) }];
  return items.map((item) => ({ op: 'add', path: `${path}/-`, value: structuredClone(item) }));
}

export function buildPatch(pod: PodShape, spec: SidecarSpec): AddOperation[] {
  const [path, exists] = spec.native
    ? ['/spec/initContainers', pod.hasInitContainers]
    : ['/spec/containers', pod.hasContainers];
  return [
    ...annotationOps(pod, spec.annotations),
    ...appendOps('/spec/volumes', pod.hasVolumes, spec.volumes),
    ...appendOps(path, exists, [spec.container]),
  ];
}
