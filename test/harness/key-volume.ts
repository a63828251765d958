// Kubernetes Secret volumes as the kubelet's atomic writer lays them out: the real files live in a
// `..<timestamp>` directory, `..data` is a symlink to it, and each visible name is a symlink through
// `..data`. An update writes a new timestamp directory and swaps `..data` with one rename, which is
// exactly the change a naive file watcher misses.
import {
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  lstatSync,
} from 'node:fs';
import { join } from 'node:path';

let generation = 0;

function timestampDirName(): string {
  generation += 1;
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '_')
    .replace('T', '_')
    .replace(/\..*$/, '');
  return `..${stamp}.${process.pid}${generation}`;
}

/** Writes (or atomically replaces) the volume's files. Names not in `files` disappear. */
export function writeSecretVolume(
  dir: string,
  files: Readonly<Record<string, string>>,
  mode = 0o440,
): void {
  mkdirSync(dir, { recursive: true });
  const dataDir = timestampDirName();
  mkdirSync(join(dir, dataDir), { mode: 0o755 });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, dataDir, name), content, { mode });
  }
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  // The swap: a new symlink under a temporary name, renamed over `..data` in one step.
  symlinkSync(dataDir, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    const link = join(dir, name);
    if (!existsAsLink(link)) symlinkSync(join('..data', name), link);
  }
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.') || entry in files) continue;
    unlinkSync(join(dir, entry));
  }
  if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
}

function existsAsLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The downward-API `annotations` file, in the kubelet's `key="value"` format, atomically written. */
export function writeAnnotationsVolume(
  dir: string,
  annotations: Readonly<Record<string, string>>,
): void {
  const text = Object.entries(annotations)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join('\n');
  writeSecretVolume(dir, { annotations: text }, 0o644);
}
