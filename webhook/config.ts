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

import { checkDuration, formatDuration, type DurationRange } from '../common/duration.js';
import { LOG_LEVELS, type LogLevel } from '../common/log-levels.js';

/** Bounds on what one client can hold of the HTTPS listener. */
export interface ConnectionLimits {
  readonly handshakeTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
}

export interface WebhookConfig {
  readonly host: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly namespace: string;
  /** Where Vault pods are expected to opt in (WEBHOOK_VAULT_NAMESPACES): only for startWarnings. */
  readonly vaultNamespaces: readonly string[];
  readonly logLevel: LogLevel;
  readonly maxBodyBytes: number;
  readonly limits: ConnectionLimits;
  readonly sidecar: SidecarDefaults;
}

/** Where Kubernetes mounts the pod's own namespace: the default for WEBHOOK_NAMESPACE. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE =
  '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** One setting: its default (empty: none) and what it means, as `--help` prints it. */
export interface SettingDoc {
  readonly default: string;
  readonly meaning: string;
}

/**
 * Every setting, its default, and what it means. This table is the documentation: `--help` prints
 * it, and the Helm chart and the README follow it.
 */
export const SETTING_DOCS = {
  WEBHOOK_HOST: {
    default: '0.0.0.0',
    meaning:
      'IP address both listeners bind to. In a pod keep 0.0.0.0 (or :: for IPv6): the kubelet ' +
      'and the apiserver connect from outside it. 127.0.0.1 to run it on a workstation.',
  },
  WEBHOOK_PORT: {
    default: '8443',
    meaning: "HTTPS port of POST /mutate (the Service's targetPort).",
  },
  WEBHOOK_METRICS_PORT: {
    default: '8080',
    meaning: 'Plain-HTTP port of /healthz, /readyz and /metrics.',
  },
  WEBHOOK_TLS_CERT_FILE: {
    default: '/etc/webhook/tls/tls.crt',
    meaning: 'Served certificate (PEM, may hold the chain). Reloaded when the file changes.',
  },
  WEBHOOK_TLS_KEY_FILE: {
    default: '/etc/webhook/tls/tls.key',
    meaning: "The certificate's private key (PEM). Reloaded when the file changes.",
  },
  WEBHOOK_NAMESPACE: {
    default: '',
    meaning:
      "The webhook's own namespace, never injected. Default: the service account's namespace; " +
      'required outside a pod.',
  },
  WEBHOOK_VAULT_NAMESPACES: {
    default: '',
    meaning:
      'Namespaces where Vault pods opt in, comma-separated (the chart: webhook.vaultNamespaces). ' +
      'Used only to warn at start when the webhook runs in one of them: every webhook entry ' +
      "excludes the webhook's own namespace, so no pod there is ever injected.",
  },
  WEBHOOK_MAX_BODY_BYTES: {
    default: '3145728',
    meaning:
      'Largest accepted request body (413 past it). The kube-apiserver caps requests at 3 MiB, ' +
      'so any pod fits.',
  },
  WEBHOOK_TLS_HANDSHAKE_TIMEOUT: {
    default: '10s',
    meaning:
      'A connection that has not finished its TLS handshake by then is closed (a client that ' +
      'never sends a ClientHello would otherwise hold it for 120 s).',
  },
  WEBHOOK_REQUEST_TIMEOUT: {
    default: '15s',
    meaning:
      "Time to receive one request's headers and body; a slower one gets 408 and is closed. " +
      "Well past the apiserver's own timeout (at most 5 s in our webhook configuration).",
  },
  WEBHOOK_MAX_CONNECTIONS: {
    default: '1000',
    meaning:
      'Open connections to the HTTPS port at most, a quarter of them from one address. Past ' +
      'either, the longest-idle connection makes room for the new one (the new one is closed ' +
      'only if all are serving a review), and one idle for 5 s is closed. The apiservers keep a ' +
      'few each and reconnect cheaply.',
  },
  LOG_LEVEL: { default: 'info', meaning: "pino level of the webhook's own logs." },
  SIDECAR_IMAGE: {
    default: '',
    meaning:
      'Required: the sidecar image to inject, e.g. ghcr.io/example/vault-autounseal-sidecar:0.1.0.',
  },
  SIDECAR_IMAGE_PULL_POLICY: {
    default: 'IfNotPresent',
    meaning: "The injected container's imagePullPolicy: Always, IfNotPresent or Never.",
  },
  SIDECAR_CPU_REQUEST: {
    default: '10m',
    meaning: 'CPU request of the injected container (a Kubernetes quantity).',
  },
  SIDECAR_MEMORY_REQUEST: {
    default: '96Mi',
    meaning:
      'Memory request of the injected container (a Kubernetes quantity). The sidecar measured ' +
      '63 to 65 MiB resident idle on Node 24 (65.3 MiB at most over a 10-minute idle under the ' +
      'injected limits): a request below that lets the scheduler overcommit the node.',
  },
  SIDECAR_CPU_LIMIT: {
    default: '200m',
    meaning: 'CPU limit of the injected container (a Kubernetes quantity).',
  },
  SIDECAR_MEMORY_LIMIT: {
    default: '128Mi',
    meaning: 'Memory limit of the injected container (a Kubernetes quantity).',
  },
  SIDECAR_RUN_AS_USER: {
    default: '65532',
    meaning: "The injected container's uid (the image's nonroot user). Empty: inherit the pod's.",
  },
  SIDECAR_RUN_AS_GROUP: {
    default: '65532',
    meaning: "The injected container's gid. Empty: inherit the pod's.",
  },
  DEFAULT_KEYS_SECRET: {
    default: 'vault-unseal-keys',
    meaning:
      'Key Secret(s), comma-separated, for pods without a vault-autounseal.io/keys-secret annotation.',
  },
  DEFAULT_NATIVE_SIDECAR: {
    default: 'true',
    meaning:
      'Inject a native sidecar (init container with restartPolicy Always, on by default from ' +
      "Kubernetes 1.29) unless the pod's vault-autounseal.io/native-sidecar says otherwise. Set " +
      'false on older clusters: an apiserver without the feature drops restartPolicy, and the ' +
      'never-ending init container would hold the Vault container back forever.',
  },
} as const satisfies Record<string, SettingDoc>;

type SettingName = keyof typeof SETTING_DOCS;

/** Every setting and its default (empty: none), from SETTING_DOCS. */
export const SETTINGS: Readonly<Record<SettingName, string>> = Object.freeze(
  Object.fromEntries(
    Object.entries(SETTING_DOCS).map(([name, doc]) => [name, doc.default]),
  ) as Record<SettingName, string>,
);

/**
 * The sane range of each duration setting. Below 1 s a slow but healthy apiserver (or a TLS
 * handshake across a loaded control plane) is cut off; above 60 s a slow client holds a
 * connection for longer than any admission can wait (the apiserver gives up after 30 s at most).
 */
export const WEBHOOK_DURATION_RANGES = {
  WEBHOOK_TLS_HANDSHAKE_TIMEOUT: { minMs: 1_000, maxMs: 60_000 },
  WEBHOOK_REQUEST_TIMEOUT: { minMs: 1_000, maxMs: 60_000 },
} as const satisfies Record<string, DurationRange>;

/** `--help` and `-h` print the settings instead of starting. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** The `--help` text, generated from SETTING_DOCS so it cannot drift from what is parsed. */
export function formatHelp(program: string): string {
  const lines = [
    `Usage: ${program} [--setting=value ...]`,
    '',
    'The mutating admission webhook that injects the vault-autounseal sidecar into Vault pods.',
    'Every setting is an environment variable and also a --kebab-case flag; a flag wins.',
    'Bad settings are all reported at once, with exit status 2.',
    '',
  ];
  for (const [name, doc] of Object.entries(SETTING_DOCS) as [SettingName, SettingDoc][]) {
    const fallback = doc.default === '' ? 'none' : doc.default;
    lines.push(`  ${name}, --${flagNameFor(name)}  (default: ${fallback})`);
    const range = rangeOf(name);
    const meaning = range === undefined ? doc.meaning : `${doc.meaning} Accepted: ${range}.`;
    lines.push(...wrap(meaning, 92).map((line) => `      ${line}`));
  }
  return lines.join('\n');
}

function rangeOf(name: string): string | undefined {
  if (!Object.hasOwn(WEBHOOK_DURATION_RANGES, name)) return undefined;
  const range = WEBHOOK_DURATION_RANGES[name as keyof typeof WEBHOOK_DURATION_RANGES];
  return `from ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

const PULL_POLICIES: readonly string[] = ['Always', 'IfNotPresent', 'Never'];
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Namespace names are DNS-1123 labels: at most 63 characters, and no dots. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
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

  duration(name: keyof typeof WEBHOOK_DURATION_RANGES): number {
    const { text, setting } = this.raw(name);
    const checked = checkDuration(text, WEBHOOK_DURATION_RANGES[name]);
    if (checked.ok) return checked.ms;
    this.problem(setting, checked.message);
    return 0;
  }

  integer(name: SettingName, min: number, max: number): number {
    const { text, setting } = this.raw(name);
    const value = Number(text);
    if (/^\d+$/.test(text) && value >= min && value <= max) return value;
    this.problem(setting, `is ${JSON.stringify(text)}; accepted: an integer from ${min} to ${max}`);
    return 0;
  }

  /**
   * An IP address literal. Not a host name: the listener would bind whatever it resolves to
   * at start, which is not what an operator reading the manifest expects.
   */
  ipAddress(name: SettingName): string {
    const { text, setting } = this.raw(name);
    if (isIpAddress(text)) return text;
    this.problem(
      setting,
      `is ${JSON.stringify(text)}; accepted: an IP address such as 0.0.0.0 (every IPv4 address), :: (every address) or 127.0.0.1`,
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

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** IPv4 dotted quad, or an IPv6 literal as the WHATWG URL parser accepts it (pure, no node:net). */
export function isIpAddress(text: string): boolean {
  if (IPV4.test(text)) return true;
  if (!text.includes(':') || /[[\]/%\s]/.test(text)) return false;
  try {
    return new URL(`http://[${text}]/`).hostname !== '';
  } catch {
    return false;
  }
}

function readLimits(reader: Reader): ConnectionLimits {
  return {
    handshakeTimeoutMs: reader.duration('WEBHOOK_TLS_HANDSHAKE_TIMEOUT'),
    requestTimeoutMs: reader.duration('WEBHOOK_REQUEST_TIMEOUT'),
    maxConnections: reader.integer('WEBHOOK_MAX_CONNECTIONS', 1, 100_000),
  };
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
  } else if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
    reader.problem(setting, `is ${JSON.stringify(namespace)}; accepted: a namespace name`);
  }
  return namespace;
}

function readVaultNamespaces(reader: Reader): string[] {
  const { text, setting } = reader.raw('WEBHOOK_VAULT_NAMESPACES');
  if (text === '') return [];
  const names = text.split(',').map((n) => n.trim());
  const bad = names.filter((n) => n.length > 63 || !DNS1123_LABEL.test(n));
  if (bad.length > 0) {
    reader.problem(
      setting,
      `has ${bad.map((n) => JSON.stringify(n.slice(0, 63))).join(', ')}; accepted: namespace names, comma-separated`,
    );
  }
  return names;
}

/**
 * What the webhook can tell at start about a configuration that silently injects nothing. Every
 * webhook entry excludes the webhook's own namespace (its pods must never wait on themselves), so
 * a webhook installed where the Vault pods live never sees them. The webhook cannot read namespace
 * labels (it has no API access), so it knows the Vault namespaces only when told.
 */
export function startWarnings(
  config: Pick<WebhookConfig, 'namespace' | 'vaultNamespaces'>,
): string[] {
  if (!config.vaultNamespaces.includes(config.namespace)) return [];
  return [
    `the webhook runs in namespace ${config.namespace}, which WEBHOOK_VAULT_NAMESPACES names as ` +
      "a Vault namespace: every webhook entry excludes the webhook's own namespace, so no pod " +
      'there is injected; install the webhook in a namespace of its own',
  ];
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
    host: reader.ipAddress('WEBHOOK_HOST'),
    port: reader.port('WEBHOOK_PORT'),
    metricsPort: reader.port('WEBHOOK_METRICS_PORT'),
    tlsCertFile: reader.raw('WEBHOOK_TLS_CERT_FILE').text,
    tlsKeyFile: reader.raw('WEBHOOK_TLS_KEY_FILE').text,
    namespace: readNamespace(reader, context.serviceAccountNamespace),
    vaultNamespaces: readVaultNamespaces(reader),
    logLevel: reader.oneOf<LogLevel>('LOG_LEVEL', LOG_LEVELS),
    maxBodyBytes: readBodyLimit(reader),
    limits: readLimits(reader),
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
