// Reads the pause switch from the downward-API volume. An edge: fs here, the decision in pause.ts.
// It runs before every check and every submission, so the common case is cheap: one `stat` of the
// file, and the last parse reused while the file is unchanged (the kubelet replaces it, which
// changes its inode, through the `..data` swap).
import { statSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileIdentity, settledAt } from '../common/file-identity.js';
import { parseAnnotationsFile, pauseStateFrom, type PauseRead } from './pause.js';

/** Kubernetes caps all of a pod's annotations together at 256 KiB; past this it is not a kubelet file. */
const MAX_ANNOTATIONS_BYTES = 512 * 1024;

/** The file behind the name, as `stat` follows it; undefined when nothing is there. */
function statOrNothing(path: string): BigIntStats | 'error' | undefined {
  try {
    // No exception (and no stack trace built) for the usual "not there": this runs every check.
    return statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return 'error';
  }
}

/** A reader of one pod-info directory's `annotations` file that re-reads only when it changed. */
export function createPauseFileReader(podinfoDir: string): () => Promise<PauseRead> {
  const path = join(podinfoDir, 'annotations');
  let last: { identity: string; read: PauseRead } | undefined;
  return async () => {
    const info = statOrNothing(path);
    if (info === undefined) {
      last = undefined;
      return statOrNothing(podinfoDir) === undefined
        ? { kind: 'no-volume' }
        : { kind: 'unreadable', problem: `${path} does not exist` };
    }
    if (info === 'error' || !info.isFile()) {
      last = undefined;
      return readPauseFile(podinfoDir);
    }
    const identity = fileIdentity(info);
    if (last && last.identity === identity && settledAt(info, Date.now())) return last.read;
    const read = await readPauseFile(podinfoDir);
    last = read.kind === 'read' ? { identity, read } : undefined;
    return read;
  };
}

export async function readPauseFile(podinfoDir: string): Promise<PauseRead> {
  const path = join(podinfoDir, 'annotations');
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(MAX_ANNOTATIONS_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_ANNOTATIONS_BYTES) {
        return { kind: 'unreadable', problem: `${path} is larger than any annotations file` };
      }
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      return { kind: 'read', state: pauseStateFrom(parseAnnotationsFile(text)) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    return describeFailure(podinfoDir, path, (error as { code?: unknown }).code);
  }
}

function describeFailure(dir: string, path: string, code: unknown): PauseRead {
  if (code === 'ENOENT' && statOrNothing(dir) === undefined) return { kind: 'no-volume' };
  const why: Record<string, string> = {
    ENOENT: 'does not exist',
    EISDIR: 'is a directory, not a file',
    EACCES: 'cannot be read: permission denied',
    EPERM: 'cannot be read: permission denied',
    ENOTDIR: 'is not under a directory',
  };
  const text =
    typeof code === 'string' ? (why[code] ?? `cannot be read (${code})`) : 'cannot be read';
  return { kind: 'unreadable', problem: `${path} ${text}` };
}
