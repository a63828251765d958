// Decision 3 of 3: the JSON Patch (RFC 6902) that adds the sidecar spec to the raw pod.
// Pure: plain data in and out.
//
// The pitfalls it avoids (each tried with real patch libraries):
// - appending with `/-` to a missing array fails, so a missing array is added whole, once;
// - `add` on an existing map key replaces it, so existing items are never targeted (the spec
//   builder has already refused name clashes);
// - keys such as `vault-autounseal.io/status` are escaped (`~` as `~0`, then `/` as `~1`);
// - a pod without `metadata`, or without a labels or annotations map, gets the map added whole
//   (an `add` below a missing parent fails the whole patch, and the pod with it).
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
  | 'hasLabels'
  | 'labels'
  | 'hasVolumes'
  | 'hasContainers'
  | 'hasInitContainers'
>;

/** Adds to one string map of `/metadata` (`annotations` or `labels`), creating it when missing. */
function mapOps(
  field: 'annotations' | 'labels',
  existing: { readonly present: boolean; readonly map: Readonly<Record<string, string>> },
  wanted: Readonly<Record<string, string>>,
): AddOperation[] {
  if (Object.keys(wanted).length === 0) return [];
  if (!existing.present) return [{ op: 'add', path: `/metadata/${field}`, value: { ...wanted } }];
  // An entry already holding the value (a stale status annotation, a label exported from an
  // injected pod) is left alone: `add` on an existing key would replace it, and never overwriting
  // is the rule.
  return Object.entries(wanted)
    .filter(([key, value]) => existing.map[key] !== value)
    .map(([key, value]) => ({
      op: 'add',
      path: `/metadata/${field}/${escapePointerToken(key)}`,
      value,
    }));
}

function metadataOps(
  pod: PodShape,
  spec: Pick<SidecarSpec, 'annotations' | 'labels'>,
): AddOperation[] {
  if (!pod.hasMetadata) {
    const value: Record<string, Record<string, string>> = {};
    if (Object.keys(spec.annotations).length > 0) value['annotations'] = { ...spec.annotations };
    if (Object.keys(spec.labels).length > 0) value['labels'] = { ...spec.labels };
    return [{ op: 'add', path: '/metadata', value }];
  }
  return [
    ...mapOps(
      'annotations',
      { present: pod.hasAnnotations, map: pod.annotations },
      spec.annotations,
    ),
    ...mapOps('labels', { present: pod.hasLabels, map: pod.labels }, spec.labels),
  ];
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
    ...metadataOps(pod, spec),
    ...appendOps('/spec/volumes', pod.hasVolumes, spec.volumes),
    ...appendOps(path, exists, [spec.container]),
  ];
}
