// A read-only view of the raw pod in an AdmissionReview. The webhook never re-serialises a typed
// model of the pod (that silently drops fields the model does not know): it reads
// what it needs through this view and builds JSON Patch operations against the raw object.
//
// Everything here is defensive: the object comes from the network and may be any JSON.

export type JsonObject = Record<string, unknown>;

export interface EnvVar {
  readonly name: string;
  /** The raw entry, copied as is (it may use `valueFrom`). */
  readonly raw: JsonObject;
  readonly value: string | undefined;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly raw: JsonObject;
}

/** One `envFrom` source: a whole ConfigMap or Secret imported as variables, keys prefixed. */
export interface EnvFromSource {
  readonly kind: 'configMap' | 'secret';
  readonly name: string;
  readonly prefix: string;
}

export interface ContainerView {
  readonly name: string;
  readonly env: readonly EnvVar[];
  readonly envFrom: readonly EnvFromSource[];
  readonly volumeMounts: readonly VolumeMount[];
  readonly ports: readonly { readonly containerPort: number; readonly name: string | undefined }[];
}

export interface PodSecurityView {
  readonly fsGroup: number | undefined;
  readonly runAsUser: number | undefined;
  readonly runAsGroup: number | undefined;
}

export interface PodView {
  /** Empty for `generateName` pods at admission time (kubernetes#76680). */
  readonly name: string;
  readonly generateName: string;
  /** `request.namespace`: `metadata.namespace` may be empty at admission. */
  readonly namespace: string;
  readonly hasMetadata: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly hasLabels: boolean;
  readonly hasAnnotations: boolean;
  readonly containers: readonly ContainerView[];
  readonly initContainers: readonly ContainerView[];
  readonly hasContainers: boolean;
  readonly hasInitContainers: boolean;
  readonly volumeNames: readonly string[];
  readonly hasVolumes: boolean;
  readonly hostNetwork: boolean;
  /** `spec.shareProcessNamespace: true`: every container sees (and may trace) the others' processes. */
  readonly shareProcessNamespace: boolean;
  readonly security: PodSecurityView;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function objects(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** A labels or annotations map; non-string values (invalid in Kubernetes) are ignored. */
function stringMap(value: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  if (!isObject(value)) return map;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') map[key] = item;
  }
  return map;
}

function readEnvFrom(entry: JsonObject): EnvFromSource[] {
  const prefix = asString(entry['prefix']) ?? '';
  for (const [field, kind] of [
    ['configMapRef', 'configMap'],
    ['secretRef', 'secret'],
  ] as const) {
    const ref = entry[field];
    const name = isObject(ref) ? asString(ref['name']) : undefined;
    if (name !== undefined) return [{ kind, name, prefix }];
  }
  return [];
}

function readContainer(raw: JsonObject): ContainerView {
  const env = objects(raw['env']).flatMap((entry): EnvVar[] => {
    const name = asString(entry['name']);
    return name === undefined ? [] : [{ name, raw: entry, value: asString(entry['value']) }];
  });
  const volumeMounts = objects(raw['volumeMounts']).flatMap((entry): VolumeMount[] => {
    const name = asString(entry['name']);
    const mountPath = asString(entry['mountPath']);
    return name === undefined || mountPath === undefined ? [] : [{ name, mountPath, raw: entry }];
  });
  const ports = objects(raw['ports']).flatMap((entry) => {
    const containerPort = asInteger(entry['containerPort']);
    return containerPort === undefined ? [] : [{ containerPort, name: asString(entry['name']) }];
  });
  const envFrom = objects(raw['envFrom']).flatMap(readEnvFrom);
  return { name: asString(raw['name']) ?? '', env, envFrom, volumeMounts, ports };
}

/** `undefined` when the object is not shaped like a pod at all (no `spec` object). */
export function readPod(object: unknown, requestNamespace: string): PodView | undefined {
  if (!isObject(object) || !isObject(object['spec'])) return undefined;
  const metadata = isObject(object['metadata']) ? object['metadata'] : {};
  const spec = object['spec'];
  const security = isObject(spec['securityContext']) ? spec['securityContext'] : {};
  return {
    name: asString(metadata['name']) ?? '',
    generateName: asString(metadata['generateName']) ?? '',
    namespace: requestNamespace || (asString(metadata['namespace']) ?? ''),
    hasMetadata: isObject(object['metadata']),
    labels: stringMap(metadata['labels']),
    annotations: stringMap(metadata['annotations']),
    hasLabels: isObject(metadata['labels']),
    hasAnnotations: isObject(metadata['annotations']),
    containers: objects(spec['containers']).map(readContainer),
    initContainers: objects(spec['initContainers']).map(readContainer),
    hasContainers: Array.isArray(spec['containers']),
    hasInitContainers: Array.isArray(spec['initContainers']),
    volumeNames: objects(spec['volumes']).flatMap((v) => asString(v['name']) ?? []),
    hasVolumes: Array.isArray(spec['volumes']),
    hostNetwork: spec['hostNetwork'] === true,
    shareProcessNamespace: spec['shareProcessNamespace'] === true,
    security: {
      fsGroup: asInteger(security['fsGroup']),
      runAsUser: asInteger(security['runAsUser']),
      runAsGroup: asInteger(security['runAsGroup']),
    },
  };
}

/** For logs and messages: `vault-0`, or `vault-` plus a marker for generateName pods. */
export function podDisplayName(pod: Pick<PodView, 'name' | 'generateName'>): string {
  if (pod.name) return pod.name;
  return pod.generateName ? `${pod.generateName}<generated>` : '<unnamed>';
}
