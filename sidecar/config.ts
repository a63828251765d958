// The sidecar's settings, parsed once at the edge from the environment and flags.
// Every variable is documented here, where it is defined; `--help` prints the table.
import {
  BOOLEAN_FORMAT,
  flagNameFor,
  parseBoolean,
  parseFlags,
  type ConfigProblem,
  type Parsed,
} from '../common/config-problems.js';
import { checkDuration, formatDuration } from '../common/duration.js';
import { SIDECAR_DURATION_RANGES } from '../common/sidecar-durations.js';
import { LOG_LEVELS, type LogLevel } from '../common/log-levels.js';
import { CA_PATH_REFUSAL, CA_PATH_VARIABLES, checkVaultAddress } from '../common/vault-settings.js';
import { closestName } from '../common/did-you-mean.js';

export interface SidecarConfig {
  /** The one server to keep unsealed. */
  readonly vaultAddr: string;
  /** PEM CA bundle file that verifies the server's certificate. */
  readonly caCertFile: string | undefined;
  /** Client certificate and key files for listeners that require mTLS. */
  readonly clientCertFile: string | undefined;
  readonly clientKeyFile: string | undefined;
  /** Name to verify in the server's certificate, for certs that do not name 127.0.0.1. */
  readonly tlsServerName: string | undefined;
  /** Disable verification of the server's certificate. Loudly warned about at start. */
  readonly skipVerify: boolean;
  /** Directories holding key files; split custody spreads shares over several. */
  readonly keysDirs: readonly string[];
  /** Check period while the server is unsealed. */
  readonly intervalMs: number;
  /** Check period while sealed, unreachable or not initialised. */
  readonly retryIntervalMs: number;
  /** Ceiling of the back-off after the server rejects the key set. */
  readonly maxBackoffMs: number;
  /** Timeout of each request to the server. */
  readonly requestTimeoutMs: number;
  /** Where `/healthz`, `/readyz`, `/status` and `/metrics` listen. */
  readonly httpHost: string;
  readonly httpPort: number;
  /** Downward-API volume; its `annotations` file carries the pause switch. */
  readonly podinfoDir: string;
  readonly logLevel: LogLevel;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Each setting: its env name, its OpenBao twin (which wins, as in OpenBao's own CLI), its default,
 * and what it means. This table is the documentation: `--help` prints it, and the README copies it.
 */
const SETTINGS = {
  vaultAddr: {
    env: 'VAULT_ADDR',
    twin: 'BAO_ADDR',
    fallback: 'https://127.0.0.1:8200',
    doc: 'the one server to keep unsealed',
  },
  caCertFile: {
    env: 'VAULT_CACERT',
    twin: 'BAO_CACERT',
    fallback: '',
    doc: 'PEM CA bundle that verifies the server',
  },
  clientCertFile: {
    env: 'VAULT_CLIENT_CERT',
    twin: 'BAO_CLIENT_CERT',
    fallback: '',
    doc: 'client certificate for mTLS listeners (with VAULT_CLIENT_KEY)',
  },
  clientKeyFile: {
    env: 'VAULT_CLIENT_KEY',
    twin: 'BAO_CLIENT_KEY',
    fallback: '',
    doc: 'key of the client certificate',
  },
  tlsServerName: {
    env: 'VAULT_TLS_SERVER_NAME',
    twin: 'BAO_TLS_SERVER_NAME',
    fallback: '',
    doc: 'name to verify in the server certificate',
  },
  skipVerify: {
    env: 'VAULT_SKIP_VERIFY',
    twin: 'BAO_SKIP_VERIFY',
    fallback: 'false',
    doc: "do not verify the server certificate (true/false, also Go's 1/0 and t/f; empty verifies)",
  },
  keysDirs: {
    env: 'UNSEAL_KEYS_DIR',
    twin: undefined,
    fallback: '/vault/unseal-keys',
    doc: 'key directories, comma-separated (split custody); set but empty is an error',
    // Set to nothing is a mistake (a chart value that rendered empty), not "use the default":
    // the default directory may hold another server's keys, or nothing, and say nothing.
    blankIsValue: true,
  },
  intervalMs: {
    env: 'UNSEAL_INTERVAL',
    twin: undefined,
    fallback: '5s',
    doc: 'check period while unsealed',
  },
  retryIntervalMs: {
    env: 'UNSEAL_RETRY_INTERVAL',
    twin: undefined,
    fallback: '500ms',
    doc: 'check period while sealed, unreachable or not initialised',
  },
  maxBackoffMs: {
    env: 'UNSEAL_MAX_BACKOFF',
    twin: undefined,
    fallback: '60s',
    doc: 'ceiling of the back-off after a rejected key set or failed requests',
  },
  requestTimeoutMs: {
    env: 'UNSEAL_REQUEST_TIMEOUT',
    twin: undefined,
    fallback: '5s',
    doc: 'total deadline of each request to the server',
  },
  httpAddr: {
    env: 'UNSEAL_HTTP_ADDR',
    twin: undefined,
    // Dual-stack: `::` accepts IPv4 too (Node sets IPV6_V6ONLY off), so the kubelet's probes reach
    // the sidecar on an IPv4, IPv6 or dual-stack pod address. Without IPv6 in the kernel, the
    // program falls back to 0.0.0.0 (sidecar/program.ts).
    fallback: '[::]:8210',
    doc: 'listener of /healthz, /readyz, /status and /metrics ([::] is dual-stack; IPv6 in brackets)',
  },
  podinfoDir: {
    env: 'UNSEAL_PODINFO_DIR',
    twin: undefined,
    fallback: '/etc/vault-autounseal/podinfo',
    doc: 'downward-API volume whose annotations file carries the pause switch',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    twin: undefined,
    fallback: 'info',
    doc: `log level: ${LOG_LEVELS.join(', ')}`,
  },
} as const;

type SettingName = keyof typeof SETTINGS;
type DurationSetting = 'intervalMs' | 'retryIntervalMs' | 'maxBackoffMs' | 'requestTimeoutMs';

const KNOWN_FLAGS = new Set(
  Object.values(SETTINGS).flatMap((s) => [
    flagNameFor(s.env),
    ...(s.twin ? [flagNameFor(s.twin)] : []),
  ]),
);

/**
 * Reads the settings from the environment and `--kebab-case` flags (flags win; `BAO_*` beats
 * `VAULT_*`). Returns a frozen config, or every problem found: never a half-valid config.
 */
export function parseSidecarConfig(env: Env, argv: readonly string[]): Parsed<SidecarConfig> {
  const { flags, problems } = parseFlags(argv);
  for (const name of flags.keys()) {
    if (!KNOWN_FLAGS.has(name)) problems.push({ setting: `--${name}`, message: 'unknown flag' });
  }
  const raw = (name: SettingName): { text: string; setting: string } =>
    rawSetting(env, flags, name);
  const reader = new SettingReader(raw, problems);

  const value: SidecarConfig = {
    vaultAddr: reader.url('vaultAddr'),
    caCertFile: reader.optional('caCertFile'),
    clientCertFile: reader.optional('clientCertFile'),
    clientKeyFile: reader.optional('clientKeyFile'),
    tlsServerName: reader.optional('tlsServerName'),
    skipVerify: reader.boolean('skipVerify'),
    keysDirs: reader.list('keysDirs'),
    intervalMs: reader.duration('intervalMs'),
    retryIntervalMs: reader.duration('retryIntervalMs'),
    maxBackoffMs: reader.duration('maxBackoffMs'),
    requestTimeoutMs: reader.duration('requestTimeoutMs'),
    ...reader.hostPort('httpAddr'),
    podinfoDir: reader.text('podinfoDir'),
    logLevel: reader.logLevel('logLevel'),
  };
  checkPairs(value, raw, problems);
  problems.push(...caPathProblems(env));
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: Object.freeze({ ...value, keysDirs: Object.freeze([...value.keysDirs]) }),
  };
}

/** The three TLS file settings, resolved like every other setting, even when others are bad. */
export function tlsFileSettings(
  env: Env,
  argv: readonly string[],
): Record<'ca' | 'cert' | 'key', { setting: string; path: string | undefined }> {
  const { flags } = parseFlags(argv);
  const one = (name: SettingName): { setting: string; path: string | undefined } => {
    const { text, setting } = rawSetting(env, flags, name);
    return { setting, path: text.trim() === '' ? undefined : text.trim() };
  };
  return { ca: one('caCertFile'), cert: one('clientCertFile'), key: one('clientKeyFile') };
}

/** `--help` or `-h` anywhere on the command line. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((arg) => arg === '--help' || arg === '-h');
}

/** What `--help` prints: every setting with its flag, default, range and meaning, from SETTINGS. */
export function sidecarHelp(program: string): string {
  const ranges: Readonly<Record<string, { minMs: number; maxMs: number }>> =
    SIDECAR_DURATION_RANGES;
  const lines = Object.values(SETTINGS).map((spec) => {
    const names = spec.twin ? `${spec.env} (or ${spec.twin}, which wins)` : spec.env;
    const range = ranges[spec.env];
    const bounds = range
      ? `, ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}`
      : '';
    const fallback = spec.fallback === '' ? 'unset' : spec.fallback;
    return `  ${names}\n  --${flagNameFor(spec.env)}=VALUE\n      ${spec.doc} (default: ${fallback}${bounds})`;
  });
  return [
    `${program}: keeps one Vault or OpenBao server unsealed with Shamir shares read from files.`,
    '',
    'Settings come from the environment, or from --kebab-case flags, which win.',
    'Durations are written 500ms, 5s, 2m or 1h. Bad settings exit with status 2, all listed.',
    '--version prints the version and the git revision of this build, and exits.',
    '',
    ...lines,
  ].join('\n');
}

/** VAULT_CAPATH or BAO_CAPATH set: refused, not ignored (common/vault-settings.ts says why). */
function caPathProblems(env: Env): ConfigProblem[] {
  return CA_PATH_VARIABLES.filter((name) => (env[name] ?? '').trim() !== '').map((setting) => ({
    setting,
    message: CA_PATH_REFUSAL,
  }));
}

export interface UnknownVariable {
  readonly name: string;
  /** The known setting it is closest to, when it is close enough to be a typo of it. */
  readonly suggestion: string | undefined;
}

/**
 * The `UNSEAL_*` variables of the environment that no setting reads, sorted, each with the known
 * one it most likely misspells (`UNSEAL_KEYS_DIRS` → `UNSEAL_KEYS_DIR`). Flags are refused when
 * unknown; variables cannot be, since a pod's environment holds whatever its manifest puts there,
 * so they are warned about at start instead.
 */
export function unknownUnsealVariables(env: Env): UnknownVariable[] {
  const known: readonly string[] = Object.values(SETTINGS).map((s): string => s.env);
  return Object.keys(env)
    .filter((name) => name.startsWith('UNSEAL_') && !known.includes(name))
    .sort()
    .map((name) => ({ name, suggestion: closestName(name, known) }));
}

function rawSetting(
  env: Env,
  flags: ReadonlyMap<string, string>,
  name: SettingName,
): { text: string; setting: string } {
  const spec: { env: string; twin: string | undefined; fallback: string; blankIsValue?: boolean } =
    SETTINGS[name];
  const names = spec.twin ? [spec.twin, spec.env] : [spec.env];
  const candidates: [setting: string, text: string | undefined][] = [
    ...names.map((n): [string, string | undefined] => [
      `--${flagNameFor(n)}`,
      flags.get(flagNameFor(n)),
    ]),
    ...names.map((n): [string, string | undefined] => [n, env[n]]),
  ];
  for (const [setting, text] of candidates) {
    if (text !== undefined && (text !== '' || spec.blankIsValue === true)) return { text, setting };
  }
  return { text: spec.fallback, setting: spec.env };
}

function checkPairs(
  value: SidecarConfig,
  raw: (name: SettingName) => { setting: string },
  problems: ConfigProblem[],
): void {
  if ((value.clientCertFile === undefined) !== (value.clientKeyFile === undefined)) {
    problems.push({
      setting: `${raw('clientCertFile').setting}/${raw('clientKeyFile').setting}`,
      message: 'a client certificate needs its key and the other way round: set both or neither',
    });
  }
  if (value.maxBackoffMs < value.retryIntervalMs) {
    problems.push({
      setting: raw('maxBackoffMs').setting,
      message: `must be at least ${raw('retryIntervalMs').setting}`,
    });
  }
}

/** Reads one setting at a time, recording a problem (and returning a harmless placeholder) when bad. */
class SettingReader {
  constructor(
    private readonly raw: (name: SettingName) => { text: string; setting: string },
    private readonly problems: ConfigProblem[],
  ) {}

  text(name: SettingName): string {
    return this.raw(name).text.trim();
  }

  optional(name: SettingName): string | undefined {
    const text = this.text(name);
    return text === '' ? undefined : text;
  }

  url(name: SettingName): string {
    const { text, setting } = this.raw(name);
    const checked = checkVaultAddress(text);
    if (checked.ok) return checked.address;
    this.problems.push({ setting, message: checked.message });
    return '';
  }

  boolean(name: SettingName): boolean {
    const { text, setting } = this.raw(name);
    const value = parseBoolean(text);
    if (value === undefined)
      this.problems.push({ setting, message: `"${text}" is not ${BOOLEAN_FORMAT}` });
    return value ?? false;
  }

  duration(name: DurationSetting): number {
    const { text, setting } = this.raw(name);
    const checked = checkDuration(text, SIDECAR_DURATION_RANGES[SETTINGS[name].env]);
    if (checked.ok) return checked.ms;
    this.problems.push({ setting, message: checked.message });
    return SIDECAR_DURATION_RANGES[SETTINGS[name].env].minMs;
  }

  list(name: SettingName): string[] {
    const { setting } = this.raw(name);
    const items = this.text(name)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length === 0) {
      this.problems.push({
        setting,
        message: `is set but names no directory; accepted: one or more directories, comma-separated (unset means ${SETTINGS[name].fallback})`,
      });
    }
    return [...new Set(items)];
  }

  hostPort(name: SettingName): { httpHost: string; httpPort: number } {
    const { text, setting } = this.raw(name);
    // An IPv6 host goes in brackets, as in a URL: `::1:8210` could be either of two addresses.
    const match = /^(?:\[([0-9a-fA-F:.]*:[0-9a-fA-F:.]*)\]|([^[\]:]+)):(\d{1,5})$/.exec(
      text.trim(),
    );
    // Exactly one of the two host groups matched, or none when the text is not host:port.
    const host = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (host === undefined || port > 65_535) {
      this.problems.push({
        setting,
        message: `"${text}" is not host:port (for example [::]:8210, 0.0.0.0:8210 or [::1]:8210)`,
      });
      return { httpHost: '', httpPort: 0 };
    }
    return { httpHost: host, httpPort: port };
  }

  logLevel(name: SettingName): SidecarConfig['logLevel'] {
    const { text, setting } = this.raw(name);
    const level = LOG_LEVELS.find((l) => l === text.trim().toLowerCase());
    if (!level)
      this.problems.push({ setting, message: `"${text}" is not one of ${LOG_LEVELS.join(', ')}` });
    return level ?? 'info';
  }
}
