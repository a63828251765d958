// Reads the pause switch from the downward-API volume. An edge: fs here, the decision in pause.ts.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAnnotationsFile, pauseStateFrom, type PauseRead } from './pause.js';

/** Kubernetes caps all of a pod's annotations together at 256 KiB; past this it is not a kubelet file. */
const MAX_ANNOTATIONS_BYTES = 512 * 1024;

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

async function describeFailure(dir: string, path: string, code: unknown): Promise<PauseRead> {
  if (code === 'ENOENT' && !(await exists(dir))) return { kind: 'no-volume' };
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

/** Only a definite "no such directory" counts as absent; any other failure fails closed. */
async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ENOENT';
  }
}
