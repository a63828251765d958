// Reads the key directories: every visible regular file (or symlink to one) is a key file. The
// atomic writer's `..data` and `..<timestamp>` entries, and any dot-file, are skipped. A bad file
// is reported by name, never by content, and the rest are used.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  distinctShares,
  isKeyFileName,
  MAX_KEY_FILE_BYTES,
  parseKeyFile,
  type Share,
} from './key-parsing.js';

export interface KeySource {
  /** The file's path; its content never leaves this module except as decoded shares. */
  readonly path: string;
  readonly shares: number;
}

export interface InvalidKeyFile {
  readonly path: string;
  readonly reason: string;
}

export interface KeySnapshot {
  /** Distinct valid shares, in a stable order (directory order, then file name). */
  readonly shares: readonly Share[];
  readonly sources: readonly KeySource[];
  readonly invalid: readonly InvalidKeyFile[];
  /** Changes whenever the set of shares changes; compared, never shown. */
  readonly fingerprint: string;
}

async function readSmallFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

function fsReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'EACCES' || code === 'EPERM') return 'unreadable: permission denied';
  if (code === 'ENOENT') return 'vanished while reading';
  return `unreadable: ${typeof code === 'string' ? code : 'error'}`;
}

async function readOneFile(
  path: string,
  shares: Share[],
  sources: KeySource[],
  invalid: InvalidKeyFile[],
): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return;
    const parsed = parseKeyFile(await readSmallFile(path));
    if (parsed.ok) {
      shares.push(...parsed.shares);
      sources.push({ path, shares: parsed.shares.length });
    } else {
      invalid.push({ path, reason: parsed.problem });
    }
  } catch (error) {
    invalid.push({ path, reason: fsReason(error) });
  }
}

/** Reads every key directory. A missing or unreadable directory is reported as an invalid source. */
export async function readKeyDirectories(dirs: readonly string[]): Promise<KeySnapshot> {
  const shares: Share[] = [];
  const sources: KeySource[] = [];
  const invalid: InvalidKeyFile[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter(isKeyFileName).sort();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      invalid.push({
        path: dir,
        reason: code === 'ENOENT' ? 'directory does not exist' : fsReason(error),
      });
      continue;
    }
    for (const name of names) await readOneFile(join(dir, name), shares, sources, invalid);
  }
  const distinct = distinctShares(shares);
  return {
    shares: distinct,
    sources,
    invalid,
    fingerprint: distinct
      .map((share) => share.hex)
      .sort()
      .join(','),
  };
}
