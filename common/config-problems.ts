// Shared shape for "bad configuration": every problem is collected, then reported together, so an
// operator fixes the manifest once instead of once per restart.

export interface ConfigProblem {
  /** The setting as the operator wrote it: an env var name or a `--flag`. */
  readonly setting: string;
  /** What was wrong and what the setting accepts. Never the value of a secret. */
  readonly message: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export const CONFIG_EXIT_CODE = 2;

/** One message naming every bad setting, as printed before exiting with status 2. */
export function formatProblems(program: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.setting}: ${p.message}`);
  return `${program}: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/**
 * Accepts what operators write for booleans: every form of Go's strconv.ParseBool (1, t, T, TRUE,
 * true, True and their false twins), which is what the Vault and OpenBao CLIs read
 * VAULT_SKIP_VERIFY with, so a value the Vault container accepts is never refused here; plus
 * yes/no and on/off, in any case. Empty means false. Anything else is `undefined`.
 */
export function parseBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (['true', 't', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', 'f', '0', 'no', 'off', ''].includes(value)) return false;
  return undefined;
}

export const BOOLEAN_FORMAT = 'true or false (also 1/0, t/f, yes/no, on/off, in any case)';

/** `--unseal-keys-dir=/x` and `--unseal-keys-dir /x` become `{ 'unseal-keys-dir': '/x' }`. */
export function parseFlags(argv: readonly string[]): {
  flags: Map<string, string>;
  problems: ConfigProblem[];
} {
  const flags = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      problems.push({
        setting: arg,
        message: 'unexpected argument; settings are --name=value flags',
      });
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else if (i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('--')) {
      flags.set(arg.slice(2), argv[i + 1] ?? '');
      i++;
    } else {
      problems.push({ setting: arg, message: 'needs a value (--name=value)' });
    }
  }
  return { flags, problems };
}

/** `UNSEAL_KEYS_DIR` → `unseal-keys-dir`: every env setting is also a flag of this name. */
export function flagNameFor(envName: string): string {
  return envName.toLowerCase().replaceAll('_', '-');
}
