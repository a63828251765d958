// Decision 2 of 3: the sidecar spec. Given a pod and the configured defaults, which container,
// volumes and annotations to add, or why the pod must be denied. Pure: plain data in and out.
//
// ## Why the sidecar can read the key files (uid 100, gid 1000, fsGroup 1000 in the Vault chart)
//
// - The key Secret is mounted only into this container, read-only, with `defaultMode: 0440`
//   (owner and group may read, others nothing).
// - When the pod sets `securityContext.fsGroup` (the official Vault and OpenBao charts set 1000),
//   the kubelet makes the files of Secret volumes group-owned by that GID (and ORs in 0440, its
//   read-only mask: pkg/volume/volume_linux.go SetVolumeOwnership), and every container of the pod
//   runs with fsGroup among its supplementary groups. So the group-read bit is what lets the
//   sidecar read the shares, whatever its own uid and primary gid are. 0440 is asked for
//   explicitly so "others" never read them, whatever the kubelet version.
// - The sidecar therefore runs as its own non-root identity, `runAsUser`/`runAsGroup` 65532 (the
//   image's `nonroot` user) by default, not as Vault's uid 100: Vault's processes cannot signal or
//   read the memory of the process that holds the shares, and runAsNonRoot is checkable without
//   trusting the image's USER. Operators on platforms that assign uids (OpenShift) set
//   SIDECAR_RUN_AS_USER/SIDECAR_RUN_AS_GROUP to empty to inherit the pod's.
// - A pod without fsGroup gets root-owned files, which 0440 would hide from a non-root process.
//   Then the mode is 0444, with an admission warning: the Secret is still mounted in this one
//   container only, so "others" means other uids inside the sidecar's own container.
// - The Secret volume is `optional: true`: Vault must start, and be initialised, before its key
//   Secret can exist. A required volume would hold the pod in ContainerCreating forever. The
//   kubelet fills the volume once the Secret appears, and the sidecar watches the directory.
import { BOOLEAN_FORMAT, parseBoolean } from '../common/config-problems.js';
import { LOG_LEVELS } from '../common/log-levels.js';
import { CA_PATH_REFUSAL, CA_PATH_VARIABLES, checkVaultAddress } from '../common/vault-settings.js';
import { checkDuration } from '../common/duration.js';
import { SIDECAR_DURATION_RANGES } from '../common/sidecar-durations.js';
import { clip, joinProblems, listFirst } from './bounded-text.js';
import {
  ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION,
  INTERVAL_ANNOTATION,
  INJECTED_LABEL,
  INJECTED_VALUE,
  KEYS_SECRET_ANNOTATION,
  LOG_LEVEL_ANNOTATION,
  NATIVE_SIDECAR_ANNOTATION,
  SIDECAR_CONTAINER_NAME,
  STATUS_ANNOTATION,
  STATUS_INJECTED,
  VAULT_CONTAINER_ANNOTATION,
  VOLUME_PREFIX,
} from './keys.js';
import type { ContainerView, EnvVar, JsonObject, PodView } from './pod.js';

export const SIDECAR_PORT = 8210;
export const SIDECAR_PORT_NAME = 'autounseal';
export const KEYS_MOUNT_ROOT = '/vault/unseal-keys';
export const PODINFO_DIR = '/etc/vault-autounseal/podinfo';
export const KEYS_VOLUME = `${VOLUME_PREFIX}keys`;
export const PODINFO_VOLUME = `${VOLUME_PREFIX}podinfo`;
/** Where the kubelet puts a pod's ServiceAccount token; the sidecar's mount here hides it. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const NO_TOKEN_VOLUME = `${VOLUME_PREFIX}no-token`;
/**
 * The sidecar's listener, dual-stack: `::` takes IPv4 connections too, so the kubelet's probes
 * reach it on the pod's IPv4 or IPv6 address, whichever the cluster gives (sidecar/config.ts).
 */
export const SIDECAR_HTTP_ADDR = `[::]:${SIDECAR_PORT}`;
/** Owner and group read: see the header. 0o440 === 288, as the API stores it. */
export const KEY_FILE_MODE_WITH_FS_GROUP = 0o440;
export const KEY_FILE_MODE_WITHOUT_FS_GROUP = 0o444;

/** What the sidecar reads to find and trust its own server (the sidecar's own config names). */
export const COPIED_ENV: readonly string[] = [
  'VAULT_ADDR',
  'VAULT_CACERT',
  'VAULT_TLS_SERVER_NAME',
  'VAULT_SKIP_VERIFY',
  'VAULT_CLIENT_CERT',
  'VAULT_CLIENT_KEY',
  'BAO_ADDR',
  'BAO_CACERT',
  'BAO_TLS_SERVER_NAME',
  'BAO_SKIP_VERIFY',
  'BAO_CLIENT_CERT',
  'BAO_CLIENT_KEY',
];
/** Of those, the ones that name files: their volume mounts are copied too. */
const FILE_ENV: readonly string[] = [
  'VAULT_CACERT',
  'VAULT_CLIENT_CERT',
  'VAULT_CLIENT_KEY',
  'BAO_CACERT',
  'BAO_CLIENT_CERT',
  'BAO_CLIENT_KEY',
];

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_REFERENCE = /\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g;

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface SidecarResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** The webhook's configured defaults (webhook/config.ts). */
export interface SidecarDefaults {
  readonly image: string;
  readonly imagePullPolicy: PullPolicy;
  readonly resources: SidecarResources;
  /** One Secret name, or several comma-separated (split custody). */
  readonly keysSecret: string;
  readonly nativeSidecar: boolean;
  /** `undefined`: inherit the pod's (or the image's) identity. */
  readonly runAsUser: number | undefined;
  readonly runAsGroup: number | undefined;
}

export interface SidecarSpec {
  /** The container to add, as raw JSON. */
  readonly container: JsonObject;
  /** `initContainers` with `restartPolicy: Always` when true, else `containers`. */
  readonly native: boolean;
  readonly volumes: readonly JsonObject[];
  readonly annotations: Readonly<Record<string, string>>;
  /** Labels to add: the injected-pod label. */
  readonly labels: Readonly<Record<string, string>>;
  /** Short (≤ 120 characters) notes for the AdmissionReview's `warnings`. */
  readonly warnings: readonly string[];
}

export type DenyReason =
  | 'invalid-annotation'
  | 'no-vault-container'
  | 'name-clash'
  | 'unreadable-file'
  | 'invalid-setting'
  | 'shared-process-namespace';

export type SpecResult =
  | { readonly ok: true; readonly spec: SidecarSpec }
  | { readonly ok: false; readonly reason: DenyReason; readonly message: string };

interface Problem {
  readonly reason: DenyReason;
  readonly message: string;
}

interface PodOptions {
  readonly secrets: readonly string[];
  readonly native: boolean;
  readonly interval: string | undefined;
  readonly logLevel: string | undefined;
}

function parseSecrets(pod: PodView, defaults: SidecarDefaults, problems: Problem[]): string[] {
  const raw = pod.annotations[KEYS_SECRET_ANNOTATION] ?? defaults.keysSecret;
  const names = raw.split(',').map((name) => name.trim());
  const bad = names.filter((name) => name.length > 253 || !DNS1123_SUBDOMAIN.test(name));
  const duplicated = names.filter((name, i) => names.indexOf(name) !== i);
  if (bad.length > 0 || duplicated.length > 0 || names.length === 0) {
    problems.push({
      reason: 'invalid-annotation',
      message:
        `annotation ${KEYS_SECRET_ANNOTATION} is ${JSON.stringify(raw.slice(0, 80))}; accepted: ` +
        'one or more distinct Secret names (lowercase DNS subdomains), comma-separated',
    });
  }
  return names;
}

function parseNative(pod: PodView, defaults: SidecarDefaults, problems: Problem[]): boolean {
  const raw = pod.annotations[NATIVE_SIDECAR_ANNOTATION];
  if (raw === undefined) return defaults.nativeSidecar;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  problems.push({
    reason: 'invalid-annotation',
    message: `annotation ${NATIVE_SIDECAR_ANNOTATION} is ${JSON.stringify(raw.slice(0, 63))}; accepted values: "true" or "false"`,
  });
  return defaults.nativeSidecar;
}

/**
 * The sidecar's UNSEAL_INTERVAL, held to the range the sidecar itself accepts: a value it refuses
 * would make it exit 2 and crash-loop next to Vault, so the pod is refused here instead, with the
 * range in the message. A value too long to be a sane duration is shown clipped.
 */
function parseInterval(pod: PodView, problems: Problem[]): string | undefined {
  const raw = pod.annotations[INTERVAL_ANNOTATION];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const checked = checkDuration(clip(text, 63), SIDECAR_DURATION_RANGES.UNSEAL_INTERVAL);
  if (checked.ok) return text;
  problems.push({
    reason: 'invalid-annotation',
    message: `annotation ${INTERVAL_ANNOTATION} ${checked.message}`,
  });
  return undefined;
}

/**
 * ## shareProcessNamespace: true is refused unless the pod opts in
 *
 * With one process namespace for the whole pod, every container sees the sidecar's process. A
 * container running as the sidecar's uid may then read its memory through /proc/<pid>/mem (the
 * kernel's ptrace rule: same uid, no capability needed), and the shares are in that memory; a
 * root container may signal it. Separate namespaces, the default, rule both out. Some pods need a
 * shared namespace (a debug or reloader sidecar), so the pod may accept the risk explicitly with
 * ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION: "true", and is then admitted with a warning.
 */
function checkShareProcessNamespace(
  pod: PodView,
  notes: { readonly warnings: string[]; readonly problems: Problem[] },
): void {
  const raw = pod.annotations[ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION];
  if (raw !== undefined && raw !== 'true' && raw !== 'false') {
    notes.problems.push({
      reason: 'invalid-annotation',
      message: `annotation ${ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION} is ${JSON.stringify(clip(raw, 63))}; accepted values: "true" or "false"`,
    });
    return;
  }
  if (!pod.shareProcessNamespace) return;
  if (raw === 'true') {
    notes.warnings.push(
      "shareProcessNamespace: containers with the sidecar's uid can read its memory, shares included",
    );
    return;
  }
  notes.problems.push({
    reason: 'shared-process-namespace',
    message:
      "the pod sets shareProcessNamespace: true, so containers running as the sidecar's uid could " +
      'read its memory, unseal shares included; set it to false, or accept that with annotation ' +
      `${ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION}: "true"`,
  });
}

function parseLogLevel(pod: PodView, problems: Problem[]): string | undefined {
  const raw = pod.annotations[LOG_LEVEL_ANNOTATION];
  if (raw === undefined) return undefined;
  if ((LOG_LEVELS as readonly string[]).includes(raw)) return raw;
  problems.push({
    reason: 'invalid-annotation',
    message: `annotation ${LOG_LEVEL_ANNOTATION} is ${JSON.stringify(raw.slice(0, 63))}; accepted values: ${LOG_LEVELS.join(', ')}`,
  });
  return undefined;
}

/** The named container, else the one named `vault` or `openbao`, else the first. */
function findVaultContainer(pod: PodView, problems: Problem[]): ContainerView | undefined {
  const wanted = pod.annotations[VAULT_CONTAINER_ANNOTATION];
  const names = pod.containers.map((c) => c.name);
  if (wanted !== undefined) {
    const found = pod.containers.find((c) => c.name === wanted);
    if (!found) {
      problems.push({
        reason: 'invalid-annotation',
        message: `annotation ${VAULT_CONTAINER_ANNOTATION} is ${JSON.stringify(clip(wanted, 63))}; accepted: the name of a container of this pod (${listFirst(names)})`,
      });
    }
    return found;
  }
  const found =
    pod.containers.find((c) => c.name === 'vault') ??
    pod.containers.find((c) => c.name === 'openbao') ??
    pod.containers[0];
  if (!found) {
    problems.push({ reason: 'no-vault-container', message: 'the pod has no containers' });
  }
  return found;
}

/** The copied variables plus whatever they reference with `$(NAME)`. */
function wantedNames(vault: ContainerView, alsoWanted: Iterable<string>): Set<string> {
  const wanted = new Set([...COPIED_ENV, ...alsoWanted]);
  // Walk references backwards: Kubernetes only expands a `$(NAME)` defined earlier in the list.
  for (let i = vault.env.length - 1; i >= 0; i--) {
    const entry = vault.env[i];
    if (!entry || !wanted.has(entry.name) || entry.value === undefined) continue;
    for (const name of references(entry.value)) wanted.add(name);
  }
  return wanted;
}

/** The wanted variables the Vault container defines in `env`, in the container's order. */
function copiedEnv(vault: ContainerView, alsoWanted: Iterable<string> = []): EnvVar[] {
  const wanted = wantedNames(vault, alsoWanted);
  // A variable defined twice: Kubernetes uses the last, so do we.
  const last = new Map(vault.env.map((entry) => [entry.name, entry]));
  return [...last.values()].filter((e) => wanted.has(e.name) && !OWN_ENV.has(e.name));
}

/**
 * ## A Vault container that gets VAULT_ADDR (or its twins) only through `envFrom`
 *
 * Nothing in `env` to copy, so the sidecar would fall back to https://127.0.0.1:8200 while Vault
 * listens elsewhere: admitted, and never unsealing. Three answers were weighed:
 * - Copy the `envFrom` sources whole: no. A source imports *every* key of a ConfigMap or Secret,
 *   and Vault's often hold its token, seal or cloud credentials; the container that holds the
 *   unseal shares should get no more than it reads. Any UNSEAL_* or LOG_LEVEL key in them would
 *   also silently retune the sidecar.
 * - Deny: no. The webhook cannot see the sources' keys (admission makes no API calls), so it
 *   cannot know the pod is broken; many `envFrom` sources hold nothing for the sidecar at all.
 * - Derive, key by key (this): for each variable the sidecar reads to find its server that `env`
 *   does not define, one `valueFrom` reference per source that could hold it (prefix removed),
 *   `optional: true`. The kubelet skips an optional reference whose key or object is absent, and
 *   a later entry of the same name overrides an earlier one, so listing them in source order
 *   gives the sidecar exactly the value the Vault container sees (envFrom: last source wins), and
 *   nothing else. Being first in the sidecar's `env`, they also feed `$(NAME)` references.
 * The file variables (CA, client certificate) are not derived: their path is unknown here, so
 * their volume cannot be copied, and a path the sidecar cannot open makes it exit 2 at start; a
 * crash-looping native sidecar can hold back the Vault container itself. Without them the sidecar
 * runs and reports a TLS error in /status. A warning says to set them in `env` instead.
 */
function envFromRefs(vault: ContainerView, alsoWanted: Iterable<string>): JsonObject[] {
  if (vault.envFrom.length === 0) return [];
  const defined = new Set(vault.env.map((e) => e.name));
  const names = [...wantedNames(vault, alsoWanted)].filter(
    (n) => !defined.has(n) && !OWN_ENV.has(n) && !FILE_ENV.includes(n),
  );
  return names.flatMap((name) =>
    vault.envFrom.flatMap((source): JsonObject[] => {
      const key = name.slice(source.prefix.length);
      if (!name.startsWith(source.prefix) || key === '') return [];
      const ref = { name: source.name, key, optional: true };
      const valueFrom =
        source.kind === 'configMap' ? { configMapKeyRef: ref } : { secretKeyRef: ref };
      return [{ name, valueFrom }];
    }),
  );
}

function envFromWarning(vault: ContainerView): string[] {
  if (vault.envFrom.length === 0) return [];
  if (vault.env.some((e) => e.name === 'VAULT_CACERT' || e.name === 'BAO_CACERT')) return [];
  return [
    `container ${clip(vault.name, 20)} uses envFrom: a VAULT_CACERT set there is not copied; set it in env`,
  ];
}

/**
 * What the sidecar will read for each variable it is given: the literal text, or `undefined` when
 * only the running pod knows (`valueFrom`, a `$(NAME)` reference, a key of an `envFrom` source).
 * Later entries override earlier ones, as in Kubernetes.
 */
function sidecarSees(
  fromEnvFrom: readonly JsonObject[],
  fromEnv: readonly EnvVar[],
): Map<string, string | undefined> {
  const seen = new Map<string, string | undefined>();
  for (const entry of fromEnvFrom) seen.set(String(entry['name']), undefined);
  for (const entry of fromEnv) {
    const literal = entry.raw['valueFrom'] === undefined && !(entry.value ?? '').includes('$(');
    seen.set(entry.name, literal ? (entry.value ?? '') : undefined);
  }
  return seen;
}

/**
 * The value the sidecar will use for a setting, resolved as the sidecar resolves it (the `BAO_*`
 * twin first, an empty value counts as unset); `value: undefined` when it cannot be known here.
 */
function effective(
  seen: ReadonlyMap<string, string | undefined>,
  names: readonly string[],
): { name: string; value: string | undefined } | undefined {
  for (const name of names) {
    if (!seen.has(name)) continue;
    const value = seen.get(name);
    if (value !== '') return { name, value };
  }
  return undefined;
}

/**
 * ## Every copied value is judged with the sidecar's own parsers
 *
 * A value the sidecar refuses makes it exit 2 at every start: a crash loop beside Vault, and in
 * native mode a Vault container that never starts. So the webhook refuses the pod instead, naming
 * the container, the variable, the value (clipped, credentials removed) and what is accepted.
 * A non-loopback address is valid but almost always wrong in a pod: admitted, with a warning.
 * VAULT_CAPATH is never copied, and the sidecar would verify against the wrong roots without it:
 * refused (common/vault-settings.ts says why).
 */
function checkCopiedValues(
  vault: ContainerView,
  seen: ReadonlyMap<string, string | undefined>,
  notes: { readonly warnings: string[]; readonly problems: Problem[] },
): void {
  const where = `container ${clip(vault.name, 63)}:`;
  const refused = [
    ...checkAddress(effective(seen, ['BAO_ADDR', 'VAULT_ADDR']), notes.warnings),
    ...checkSkipVerify(effective(seen, ['BAO_SKIP_VERIFY', 'VAULT_SKIP_VERIFY'])),
    ...vault.env
      .filter((e) => CA_PATH_VARIABLES.includes(e.name))
      .filter((e) => e.raw['valueFrom'] !== undefined || (e.value ?? '').trim() !== '')
      .map((e) => `${e.name} is set: ${CA_PATH_REFUSAL}`),
  ];
  for (const message of refused) {
    notes.problems.push({ reason: 'invalid-setting', message: `${where} ${message}` });
  }
}

type Resolved = ReturnType<typeof effective>;

/** The refusals for the address; a valid non-loopback one adds a warning instead. */
function checkAddress(address: Resolved, warnings: string[]): string[] {
  if (address?.value === undefined) return [];
  const checked = checkVaultAddress(address.value, 100);
  if (!checked.ok) return [`${address.name} ${checked.message}`];
  if (!checked.loopback) {
    warnings.push(
      `${address.name} ${clip(checked.host, 26)} is not loopback: the sidecar may unseal another pod, not its own`,
    );
  }
  return [];
}

function checkSkipVerify(skip: Resolved): string[] {
  if (skip?.value === undefined || parseBoolean(skip.value) !== undefined) return [];
  return [`${skip.name} is ${JSON.stringify(clip(skip.value, 63))}; accepted: ${BOOLEAN_FORMAT}`];
}

/**
 * ## hostNetwork: warn
 *
 * The pod shares the node's network, so the sidecar's /status and /metrics listen on the node's
 * addresses, and a second such pod on the node could not bind the port. It still works (and
 * Vault's own 8200 is exposed the same way, by the operator's choice), so this is a warning, not
 * a denial: binding to loopback instead would break the kubelet's probes, which use the pod IP.
 */
function hostNetworkWarning(pod: PodView): string[] {
  return pod.hostNetwork
    ? [`hostNetwork: the sidecar's /status and /metrics (port ${SIDECAR_PORT}) listen on the node`]
    : [];
}

function references(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return [...value.matchAll(ENV_REFERENCE)].map((match) => match[1] ?? '');
}

function isUnder(path: string, mountPath: string): boolean {
  const dir = mountPath.endsWith('/') ? mountPath.slice(0, -1) : mountPath;
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * The Vault container's mounts that hold its CA and client cert files, made read-only.
 *
 * A literal path on no volume (a file baked into the Vault image) is denied: the sidecar's image
 * does not have it, so the sidecar would exit 2 at start, every start. A path that is not a
 * literal (`valueFrom`, `$(NAME)`) may still work, and is a warning.
 */
function copiedMounts(
  vault: ContainerView,
  env: readonly EnvVar[],
  notes: { readonly warnings: string[]; readonly problems: Problem[] },
): JsonObject[] {
  const mounts = new Map<string, JsonObject>();
  for (const entry of env) {
    if (!FILE_ENV.includes(entry.name)) continue;
    const path = entry.value;
    if (path === undefined || !path.startsWith('/') || path.includes('$(')) {
      notes.warnings.push(`${entry.name} is not a literal absolute path: its volume is not copied`);
      continue;
    }
    const candidates = vault.volumeMounts.filter((m) => isUnder(path, m.mountPath));
    const best = candidates.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    if (!best) {
      notes.problems.push({
        reason: 'unreadable-file',
        message:
          `${entry.name} (${clip(path, 100)}) is on no volume of container ${clip(vault.name, 63)}, ` +
          'so the sidecar cannot read it and would exit at start; mount that file from a volume ' +
          '(a Secret or ConfigMap) in the Vault container',
      });
      continue;
    }
    const copy: JsonObject = { name: best.name, mountPath: best.mountPath, readOnly: true };
    for (const key of ['subPath', 'subPathExpr']) {
      if (typeof best.raw[key] === 'string') copy[key] = best.raw[key];
    }
    mounts.set(`${best.name}\u0000${best.mountPath}`, copy);
  }
  return [...mounts.values()];
}

function keysMounts(
  secrets: readonly string[],
): { volume: string; path: string; secret: string }[] {
  if (secrets.length === 1) {
    return [{ volume: KEYS_VOLUME, path: KEYS_MOUNT_ROOT, secret: secrets[0] ?? '' }];
  }
  // Numbered, not named after the Secret: a volume name is a 63-character DNS label, and a Secret
  // name may be 253 characters long.
  return secrets.map((secret, i) => ({
    volume: `${KEYS_VOLUME}-${i + 1}`,
    path: `${KEYS_MOUNT_ROOT}/${secret}`,
    secret,
  }));
}

/** The sidecar's own mounts (keys, pod info), and those copied from the Vault container. */
interface SidecarMounts {
  readonly own: readonly JsonObject[];
  readonly copied: readonly JsonObject[];
}

function clashes(pod: PodView, volumes: readonly JsonObject[], mounts: SidecarMounts): Problem[] {
  const problems: Problem[] = [];
  for (const volume of volumes) {
    const name = String(volume['name']);
    if (pod.volumeNames.includes(name)) {
      problems.push({
        reason: 'name-clash',
        message: `the pod already has a volume named ${name}`,
      });
    }
  }
  // Told apart by where they come from, not by path: a copied mount at or under the keys
  // directory is exactly the clash to find.
  const ours = mounts.own.map((m) => String(m['mountPath']));
  for (const path of mounts.copied.map((m) => String(m['mountPath']))) {
    if (ours.some((own) => isUnder(own, path) || isUnder(path, own))) {
      problems.push({
        reason: 'name-clash',
        message: `the Vault container's mount ${clip(path, 100)} overlaps the sidecar's own mounts`,
      });
    }
  }
  const onOurPort = [...pod.containers, ...pod.initContainers]
    .filter((c) => c.ports.some((p) => p.containerPort === SIDECAR_PORT))
    .map((c) => c.name);
  if (onOurPort.length > 0) {
    problems.push({
      reason: 'name-clash',
      message: `${onOurPort.length === 1 ? 'container' : 'containers'} ${listFirst(onOurPort)} already use${onOurPort.length === 1 ? 's' : ''} port ${SIDECAR_PORT}, the sidecar's port`,
    });
  }
  problems.push(...metadataClashes(pod));
  return problems;
}

/**
 * Our status annotation or injected-pod label already set to another value (a manifest that set it
 * by hand): `add` would replace it, and never overwriting is the rule; and a pod that the
 * runbooks' selector would miss must not start silently.
 */
function metadataClashes(pod: PodView): Problem[] {
  const problems: Problem[] = [];
  const status = pod.annotations[STATUS_ANNOTATION];
  if (status !== undefined && status !== STATUS_INJECTED) {
    problems.push({
      reason: 'name-clash',
      message: `annotation ${STATUS_ANNOTATION} is already set to ${JSON.stringify(status.slice(0, 63))}`,
    });
  }
  const label = pod.labels[INJECTED_LABEL];
  if (label !== undefined && label !== INJECTED_VALUE) {
    problems.push({
      reason: 'name-clash',
      message: `label ${INJECTED_LABEL} is already set to ${JSON.stringify(label.slice(0, 63))}`,
    });
  }
  return problems;
}

function securityContext(defaults: SidecarDefaults): JsonObject {
  // Pod Security "restricted": runAsNonRoot, no privilege escalation, all capabilities dropped,
  // RuntimeDefault seccomp. readOnlyRootFilesystem too: the sidecar writes nothing to disk.
  const context: JsonObject = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  if (defaults.runAsUser !== undefined) context['runAsUser'] = defaults.runAsUser;
  if (defaults.runAsGroup !== undefined) context['runAsGroup'] = defaults.runAsGroup;
  return context;
}

function sidecarEnv(
  copied: { readonly fromEnvFrom: readonly JsonObject[]; readonly fromEnv: readonly EnvVar[] },
  options: PodOptions,
  keysDirs: string,
): JsonObject[] {
  // envFrom-derived first: in the Vault container those are defined before any `env` entry.
  const env: JsonObject[] = [
    ...copied.fromEnvFrom,
    ...copied.fromEnv.map((e) => structuredClone(e.raw)),
  ];
  env.push({ name: 'UNSEAL_KEYS_DIR', value: keysDirs });
  env.push({ name: 'UNSEAL_PODINFO_DIR', value: PODINFO_DIR });
  env.push({ name: 'UNSEAL_HTTP_ADDR', value: SIDECAR_HTTP_ADDR });
  if (options.interval !== undefined)
    env.push({ name: 'UNSEAL_INTERVAL', value: options.interval });
  if (options.logLevel !== undefined) env.push({ name: 'LOG_LEVEL', value: options.logLevel });
  return env;
}

/** The sidecar's own variables: never copied from the Vault container. */
const OWN_ENV = new Set([
  'UNSEAL_KEYS_DIR',
  'UNSEAL_PODINFO_DIR',
  'UNSEAL_HTTP_ADDR',
  'UNSEAL_INTERVAL',
  'LOG_LEVEL',
]);

/** The startup probe's budget, once a second: two minutes for the sidecar to start listening. */
export const STARTUP_PROBE_FAILURES = 120;

function probe(path: string, periodSeconds: number): JsonObject {
  return {
    httpGet: { path, port: SIDECAR_PORT_NAME, scheme: 'HTTP' },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold: 3,
    successThreshold: 1,
  };
}

interface ContainerParts {
  readonly env: readonly JsonObject[];
  readonly mounts: readonly JsonObject[];
  readonly native: boolean;
}

function buildContainer(defaults: SidecarDefaults, parts: ContainerParts): JsonObject {
  const container: JsonObject = {
    name: SIDECAR_CONTAINER_NAME,
    image: defaults.image,
    imagePullPolicy: defaults.imagePullPolicy,
    env: parts.env,
    ports: [{ name: SIDECAR_PORT_NAME, containerPort: SIDECAR_PORT, protocol: 'TCP' }],
    // A slow start (a busy node, a tight CPU limit: 30 s was seen on a real node) must not be
    // taken for a hung process: the liveness probe begins only once /healthz has answered. That
    // answer never waits for Vault (the check loop beats whatever the server does), so a native
    // sidecar holds the Vault container back only until its own listener is up, about a second.
    startupProbe: { ...probe('/healthz', 1), failureThreshold: STARTUP_PROBE_FAILURES },
    livenessProbe: probe('/healthz', 10),
    readinessProbe: probe('/readyz', 5),
    resources: {
      requests: { ...defaults.resources.requests },
      limits: { ...defaults.resources.limits },
    },
    securityContext: securityContext(defaults),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: parts.mounts,
  };
  // A native sidecar: started before, and stopped after, the Vault container (KEP-753).
  if (parts.native) container['restartPolicy'] = 'Always';
  return container;
}

function readPodOptions(pod: PodView, defaults: SidecarDefaults, problems: Problem[]): PodOptions {
  return {
    secrets: parseSecrets(pod, defaults, problems),
    native: parseNative(pod, defaults, problems),
    interval: parseInterval(pod, problems),
    logLevel: parseLogLevel(pod, problems),
  };
}

function volumesFor(pod: PodView, secrets: readonly string[]): JsonObject[] {
  const mode =
    pod.security.fsGroup === undefined
      ? KEY_FILE_MODE_WITHOUT_FS_GROUP
      : KEY_FILE_MODE_WITH_FS_GROUP;
  const keys = keysMounts(secrets).map((k) => ({
    name: k.volume,
    secret: { secretName: k.secret, defaultMode: mode, optional: true },
  }));
  const podinfo = {
    name: PODINFO_VOLUME,
    downwardAPI: {
      defaultMode: 0o444,
      items: [{ path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } }],
    },
  };
  // Empty, in memory, mounted read-only: it only has to exist (see ownMounts).
  const noToken = { name: NO_TOKEN_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Ki' } };
  return [...keys, podinfo, noToken];
}

export function buildSidecarSpec(pod: PodView, defaults: SidecarDefaults): SpecResult {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const options = readPodOptions(pod, defaults, problems);
  checkShareProcessNamespace(pod, { warnings, problems });
  const vault = findVaultContainer(pod, problems);
  if (!vault || problems.length > 0) return deny(problems);

  const keys = keysMounts(options.secrets);
  const firstEnv = copiedEnv(vault);
  const caMounts = copiedMounts(vault, firstEnv, { warnings, problems });
  // A copied `subPathExpr: $(POD_NAME)` is expanded from the sidecar's own env: copy those too.
  const subPathNames = caMounts.flatMap((m) => references(m['subPathExpr']));
  const env = {
    fromEnvFrom: envFromRefs(vault, subPathNames),
    fromEnv: copiedEnv(vault, subPathNames),
  };
  checkCopiedValues(vault, sidecarSees(env.fromEnvFrom, env.fromEnv), { warnings, problems });
  warnings.push(...envFromWarning(vault), ...hostNetworkWarning(pod));
  const ownMounts: JsonObject[] = [
    ...keys.map((k) => ({ name: k.volume, mountPath: k.path, readOnly: true })),
    { name: PODINFO_VOLUME, mountPath: PODINFO_DIR, readOnly: true },
    // ## The pod's ServiceAccount token stays out of the sidecar
    // The apiserver's ServiceAccount admission plugin mounts the token into every container that
    // has no mount at this path (plugin/pkg/admission/serviceaccount/admission.go), and on a real
    // apiserver it runs again after this webhook (the built-in plugins are re-run after webhooks
    // that change the pod). The sidecar never calls the Kubernetes API, and in vault-helm the
    // account may patch pods: an empty read-only directory here takes the path, so the plugin
    // leaves this container alone, and a leaked sidecar holds no credential.
    { name: NO_TOKEN_VOLUME, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
  ];
  const mounts = [...ownMounts, ...caMounts];
  const volumes = volumesFor(pod, options.secrets);
  problems.push(...clashes(pod, volumes, { own: ownMounts, copied: caMounts }));
  if (problems.length > 0) return deny(problems);
  if (pod.security.fsGroup === undefined) {
    warnings.push(
      'pod has no securityContext.fsGroup: key files are mounted 0444 in the sidecar only',
    );
  }
  const container = buildContainer(defaults, {
    env: sidecarEnv(env, options, keys.map((k) => k.path).join(',')),
    mounts,
    native: options.native,
  });
  return {
    ok: true,
    spec: {
      container,
      native: options.native,
      volumes,
      annotations: { [STATUS_ANNOTATION]: STATUS_INJECTED },
      labels: { [INJECTED_LABEL]: INJECTED_VALUE },
      warnings,
    },
  };
}

function deny(problems: readonly Problem[]): SpecResult {
  const first = problems[0];
  return {
    ok: false,
    reason: first?.reason ?? 'invalid-annotation',
    message: joinProblems(problems.map((p) => p.message)),
  };
}
