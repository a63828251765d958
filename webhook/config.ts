// The webhook's configuration: environment variables, each also a `--kebab-case` flag (flags win).
// Parsed once, at the edge, into a frozen object; every bad setting is reported at once.
// Pure: `main.ts` passes in the environment, the arguments and the service-account namespace.
import {
  BOOLEAN_FORMAT,
  flagNameFor,
  parseBoolean,
  parseFlags,
  type ConfigProblem,
  type Parsed,
} from '../common/config-problems.js';
import type { PullPolicy, SidecarDefaults } from './sidecar-spec.js';

import { LOG_LEVELS, type LogLevel } from '../common/log-levels.js';

export interface WebhookConfig {
  readonly port: number;
  readonly metricsPort: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly namespace: string;
  readonly logLevel: LogLevel;
  readonly maxBodyBytes: number;
  readonly sidecar: SidecarDefaults;
}

/** Where Kubernetes mounts the pod's own namespace: the default for WEBHOOK_NAMESPACE. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE =
  '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * Every setting, its default, and what it means. This table is the documentation: the Helm chart
 * and the README copy it.
 */
export const SETTINGS = {
  /** HTTPS port of `POST /mutate` (the Service's targetPort). */
  WEBHOOK_PORT: '8443',
  /** Plain-HTTP port of `/healthz`, `/readyz` and `/metrics`. */
  WEBHOOK_METRICS_PORT: '8080',
  /** Served certificate (PEM, may hold the chain) and key. Reloaded when the files change. */
  WEBHOOK_TLS_CERT_FILE: '/etc/webhook/tls/tls.crt',
  WEBHOOK_TLS_KEY_FILE: '/etc/webhook/tls/tls.key',
  /** The webhook's own namespace, never injected. Default: the service account's namespace. */
  WEBHOOK_NAMESPACE: '',
  /** Largest accepted request body. The kube-apiserver caps requests at 3 MiB, so any pod fits. */
  WEBHOOK_MAX_BODY_BYTES: '3145728',
  /** pino level of the webhook's own logs. */
  LOG_LEVEL: 'info',
  /** Required: the sidecar image to inject, e.g. `ghcr.io/example/vault-autounseal-sidecar:0.1.0`. */
  SIDECAR_IMAGE: '',
  /** `Always`, `IfNotPresent` or `Never`. */
  SIDECAR_IMAGE_PULL_POLICY: 'IfNotPresent',
  /** Requests and limits of the injected container (Kubernetes quantities). */
  SIDECAR_CPU_REQUEST: '10m',
  SIDECAR_MEMORY_REQUEST: '64Mi',
  SIDECAR_CPU_LIMIT: '200m',
  SIDECAR_MEMORY_LIMIT: '128Mi',
  /** The injected container's uid and gid (the image's nonroot user). Empty: inherit the pod's. */
  SIDECAR_RUN_AS_USER: '65532',
  SIDECAR_RUN_AS_GROUP: '65532',
  /** Key Secret(s) when the pod has no `vault-autounseal.io/keys-secret`; comma-separated. */
  DEFAULT_KEYS_SECRET: 'vault-unseal-keys',
  /**
   * Native sidecar (init container with restartPolicy Always, on by default from Kubernetes 1.29)
   * unless the pod's `vault-autounseal.io/native-sidecar` says otherwise. Set `false` on older
   * clusters: an apiserver without the feature drops `restartPolicy`, and the never-ending init
   * container would hold the Vault container back forever.
   */
  DEFAULT_NATIVE_SIDECAR: 'true',
} as const;

type SettingName = keyof typeof SETTINGS;

const PULL_POLICIES: readonly string[] = ['Always', 'IfNotPresent', 'Never'];
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const QUANTITY_FACTOR: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The numeric value of a Kubernetes quantity (`250m`, `64Mi`), or undefined. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (QUANTITY_FACTOR[match[2] ?? ''] ?? Number.NaN);
}

class Reader {
  readonly problems: ConfigProblem[] = [];
  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly flags: ReadonlyMap<string, string>,
  ) {}

  /** The raw text (flag, else env, else default) and the name the operator used. */
  raw(name: SettingName): { text: string; setting: string } {
    const flag = flagNameFor(name);
    const fromFlag = this.flags.get(flag);
    if (fromFlag !== undefined) return { text: fromFlag.trim(), setting: `--${flag}` };
    const fromEnv = this.env[name];
    if (fromEnv !== undefined && fromEnv.trim() !== '')
      return { text: fromEnv.trim(), setting: name };
    return { text: SETTINGS[name], setting: name };
  }

  /** Like raw, but an explicitly empty value stays empty (to switch a default off). */
  rawAllowEmpty(name: SettingName): { text: string; setting: string } {
    const flag = this.flags.get(flagNameFor(name));
    if (flag !== undefined) return { text: flag.trim(), setting: `--${flagNameFor(name)}` };
    const fromEnv = this.env[name];
    return fromEnv === undefined
      ? { text: SETTINGS[name], setting: name }
      : { text: fromEnv.trim(), setting: name };
  }

  problem(setting: string, message: string): void {
    this.problems.push({ setting, message });
  }

  port(name: SettingName): number {
    const { text, setting } = this.raw(name);
    const value = Number(text);
    if (/^\d+$/.test(text) && value >= 1 && value <= 65535) return value;
    this.problem(setting, `is ${JSON.stringify(text)}; accepted: a port number from 1 to 65535`);
    return 0;
  }

  oneOf<T extends string>(name: SettingName, accepted: readonly string[]): T {
    const { text, setting } = this.raw(name);
    if (accepted.includes(text)) return text as T;
    this.problem(setting, `is ${JSON.stringify(text)}; accepted values: ${accepted.join(', ')}`);
    return accepted[0] as T;
  }

  quantity(name: SettingName): string {
    const { text, setting } = this.raw(name);
    const value = parseQuantity(text);
    if (value !== undefined && value > 0) return text;
    this.problem(
      setting,
      `is ${JSON.stringify(text)}; accepted: a Kubernetes quantity such as 10m, 0.5, 64Mi or 1Gi`,
    );
    return SETTINGS[name];
  }

  optionalId(name: SettingName, min: number): number | undefined {
    const { text, setting } = this.rawAllowEmpty(name);
    if (text === '') return undefined;
    const value = Number(text);
    if (/^\d+$/.test(text) && value >= min && value <= 2_147_483_647) return value;
    this.problem(
      setting,
      `is ${JSON.stringify(text)}; accepted: an integer id from ${min}, or empty to inherit the pod's`,
    );
    return undefined;
  }
}

function readResources(reader: Reader): SidecarDefaults['resources'] {
  const resources = {
    requests: {
      cpu: reader.quantity('SIDECAR_CPU_REQUEST'),
      memory: reader.quantity('SIDECAR_MEMORY_REQUEST'),
    },
    limits: {
      cpu: reader.quantity('SIDECAR_CPU_LIMIT'),
      memory: reader.quantity('SIDECAR_MEMORY_LIMIT'),
    },
  };
  // Kubernetes rejects a pod whose request exceeds its limit: that would fail every injected pod.
  for (const kind of ['cpu', 'memory'] as const) {
    const request = parseQuantity(resources.requests[kind]) ?? 0;
    const limit = parseQuantity(resources.limits[kind]) ?? Number.POSITIVE_INFINITY;
    if (request > limit) {
      const upper = kind.toUpperCase();
      reader.problem(
        `SIDECAR_${upper}_REQUEST`,
        `is above SIDECAR_${upper}_LIMIT; accepted: at most the limit`,
      );
    }
  }
  return resources;
}

function readSidecar(reader: Reader): SidecarDefaults {
  const image = reader.raw('SIDECAR_IMAGE');
  if (image.text === '' || /\s/.test(image.text)) {
    reader.problem(
      image.setting,
      'is required: the sidecar image reference to inject, without spaces',
    );
  }
  const keys = reader.raw('DEFAULT_KEYS_SECRET');
  const names = keys.text.split(',').map((n) => n.trim());
  if (names.some((n) => n.length > 253 || !DNS1123_SUBDOMAIN.test(n))) {
    reader.problem(
      keys.setting,
      'accepted: one or more Secret names (lowercase DNS subdomains), comma-separated',
    );
  }
  const native = reader.raw('DEFAULT_NATIVE_SIDECAR');
  const nativeValue = parseBoolean(native.text);
  if (nativeValue === undefined) reader.problem(native.setting, `accepted: ${BOOLEAN_FORMAT}`);
  return {
    image: image.text,
    imagePullPolicy: reader.oneOf<PullPolicy>('SIDECAR_IMAGE_PULL_POLICY', PULL_POLICIES),
    resources: readResources(reader),
    keysSecret: names.join(','),
    nativeSidecar: nativeValue ?? true,
    runAsUser: reader.optionalId('SIDECAR_RUN_AS_USER', 1),
    runAsGroup: reader.optionalId('SIDECAR_RUN_AS_GROUP', 0),
  };
}

function readNamespace(reader: Reader, serviceAccountNamespace: string | undefined): string {
  const { text, setting } = reader.raw('WEBHOOK_NAMESPACE');
  const namespace = text || (serviceAccountNamespace ?? '').trim();
  if (namespace === '') {
    reader.problem(
      setting,
      `is required outside a pod (${SERVICE_ACCOUNT_NAMESPACE_FILE} is unreadable): the webhook's own namespace`,
    );
  } else if (namespace.length > 63 || !DNS1123_SUBDOMAIN.test(namespace)) {
    reader.problem(setting, `is ${JSON.stringify(namespace)}; accepted: a namespace name`);
  }
  return namespace;
}

function readBodyLimit(reader: Reader): number {
  const { text, setting } = reader.raw('WEBHOOK_MAX_BODY_BYTES');
  const value = Number(text);
  if (/^\d+$/.test(text) && value >= 1024 && value <= 64 * 2 ** 20) return value;
  reader.problem(
    setting,
    `is ${JSON.stringify(text)}; accepted: a byte count from 1024 to 67108864`,
  );
  return Number(SETTINGS.WEBHOOK_MAX_BODY_BYTES);
}

export function parseWebhookConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[],
  context: { readonly serviceAccountNamespace?: string | undefined } = {},
): Parsed<WebhookConfig> {
  const { flags, problems: flagProblems } = parseFlags(argv);
  const reader = new Reader(env, flags);
  reader.problems.push(...flagProblems);
  const known = new Set(Object.keys(SETTINGS).map(flagNameFor));
  for (const flag of flags.keys()) {
    if (!known.has(flag)) reader.problem(`--${flag}`, 'is not a setting of the webhook');
  }
  const config: WebhookConfig = {
    port: reader.port('WEBHOOK_PORT'),
    metricsPort: reader.port('WEBHOOK_METRICS_PORT'),
    tlsCertFile: reader.raw('WEBHOOK_TLS_CERT_FILE').text,
    tlsKeyFile: reader.raw('WEBHOOK_TLS_KEY_FILE').text,
    namespace: readNamespace(reader, context.serviceAccountNamespace),
    logLevel: reader.oneOf<LogLevel>('LOG_LEVEL', LOG_LEVELS),
    maxBodyBytes: readBodyLimit(reader),
    sidecar: readSidecar(reader),
  };
  if (config.port !== 0 && config.port === config.metricsPort) {
    reader.problem('WEBHOOK_METRICS_PORT', 'must differ from WEBHOOK_PORT');
  }
  if (reader.problems.length > 0) return { ok: false, problems: reader.problems };
  return { ok: true, value: deepFreeze(config) };
}

function deepFreeze<T extends object>(value: T): T {
  for (const item of Object.values(value)) {
    if (typeof item === 'object' && item !== null) deepFreeze(item as object);
  }
  return Object.freeze(value);
}
