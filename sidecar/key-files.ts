// Reads the key directories: every visible regular file (or symlink to one) is a key file. The
// atomic writer's `..data` and `..<timestamp>` entries, and any dot-file, are skipped. A bad file
// is reported by name, never by content, and the rest are used.
//
// The check loop reads the keys before every round (every 500 ms while sealed), so a read must cost
// little whatever is in the directory: at most `filesPerDirectory` entries are looked at, first by
// name, and at most `totalBytes` are used; and a file is parsed again only when what `stat` says
// of it (through the symlink) changed. The directory itself is listed on every read, which is
// cheap and sees a kubelet `..data` swap even when a watch event was lost.
import { open, readdir, stat } from 'node:fs/promises';
import { constants, type BigIntStats } from 'node:fs';
import { fileIdentity, settledAt } from '../common/file-identity.js';
import { join } from 'node:path';
import { displayPath } from './display-path.js';
import { isKeyFileName, MAX_KEY_FILE_BYTES, parseKeyFileFrom } from './key-parsing.js';
import {
  buildKeySnapshot,
  DEFAULT_KEY_LIMITS,
  type DirReading,
  type FileOutcome,
  type FileReading,
  type KeyLimits,
  type KeySnapshot,
} from './key-snapshot.js';

export {
  EMPTY_KEY_SNAPSHOT,
  type InvalidKeyFile,
  type KeyDirectory,
  type KeyDirectoryState,
  type KeySnapshot,
  type KeySource,
} from './key-snapshot.js';

interface CachedFile {
  /** dev, ino, size, mtime and ctime of the file behind the name, at the time it was read. */
  readonly identity: string;
  readonly trusted: boolean;
  readonly outcome: FileOutcome;
}

export interface KeyReaderOptions {
  readonly limits?: KeyLimits;
  /** Wall clock in ms, for the racy-cache rule. */
  readonly now?: () => number;
  /** Reads a key file's text (at most MAX_KEY_FILE_BYTES + 1 bytes of it). */
  readonly readFile?: (path: string) => Promise<string>;
}

/**
 * Reads a key file's text. `stat` said "regular file" a moment ago, but the entry may have been
 * swapped since (a symlink re-pointed at a FIFO or a device): opened plainly, a FIFO with no
 * writer blocks a libuv thread and the check loop forever. So it is opened non-blocking, and
 * what was opened is checked again before a byte is read.
 */
export async function readKeyFileText(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) {
      throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    }
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
  if (code === 'ENOTREG') return 'not a regular file';
  return `unreadable: ${typeof code === 'string' ? code : 'error'}`;
}

/** Why a directory could not be listed, as its state and a sentence. */
function dirProblem(dir: string, error: unknown): DirReading {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return { path: dir, state: 'missing', reason: 'directory does not exist' };
  if (code === 'ENOTDIR') return { path: dir, state: 'not-a-directory', reason: 'not a directory' };
  return { path: dir, state: 'unreadable', reason: fsReason(error) };
}

/**
 * A reader of the key directories that remembers what it parsed. Call it before every round; it
 * returns a fresh snapshot, parsing only the files whose `stat` changed since the last call.
 */
export function createKeyReader(
  dirs: readonly string[],
  options: KeyReaderOptions = {},
): () => Promise<KeySnapshot> {
  const limits = options.limits ?? DEFAULT_KEY_LIMITS;
  const now = options.now ?? Date.now;
  const readFile = options.readFile ?? readKeyFileText;
  let cache = new Map<string, CachedFile>();

  /** One entry: from the cache when its identity is unchanged, else stat'ed and parsed. */
  async function readEntry(
    path: string,
    info: BigIntStats,
    next: Map<string, CachedFile>,
  ): Promise<FileOutcome> {
    const identity = fileIdentity(info);
    const cached = cache.get(path);
    if (cached && cached.trusted && cached.identity === identity) {
      next.set(path, cached);
      return cached.outcome;
    }
    const outcome = await parseEntry(path, info);
    next.set(path, { identity, trusted: settledAt(info, now()), outcome });
    return outcome;
  }

  async function parseEntry(path: string, info: BigIntStats): Promise<FileOutcome> {
    if (!info.isFile()) return { kind: 'ignored' };
    if (info.size > BigInt(MAX_KEY_FILE_BYTES)) return { kind: 'invalid', reason: 'too large' };
    try {
      const parsed = parseKeyFileFrom(await readFile(path), displayPath(path));
      return parsed.ok
        ? { kind: 'shares', shares: parsed.shares }
        : { kind: 'invalid', reason: parsed.problem };
    } catch (error) {
      return { kind: 'invalid', reason: fsReason(error) };
    }
  }

  async function readDirectory(
    dir: string,
    budget: { bytes: number },
    next: Map<string, CachedFile>,
  ): Promise<DirReading> {
    const shown = displayPath(dir);
    let names: string[];
    try {
      names = (await readdir(dir)).filter(isKeyFileName).sort();
    } catch (error) {
      return dirProblem(shown, error);
    }
    const files: FileReading[] = [];
    const considered = names.slice(0, limits.filesPerDirectory);
    for (const [index, name] of considered.entries()) {
      const path = join(dir, name);
      let info: BigIntStats;
      try {
        info = await stat(path, { bigint: true });
      } catch (error) {
        files.push({
          path: displayPath(path),
          outcome: { kind: 'invalid', reason: fsReason(error) },
        });
        continue;
      }
      const size = info.isFile() ? Number(info.size) : 0;
      if (size > 0 && size <= MAX_KEY_FILE_BYTES && budget.bytes + size > limits.totalBytes) {
        return {
          path: shown,
          state: 'ok',
          entries: names.length,
          files,
          stopped: { by: 'total-bytes', notRead: names.length - index },
        };
      }
      if (size <= MAX_KEY_FILE_BYTES) budget.bytes += size;
      files.push({ path: displayPath(path), outcome: await readEntry(path, info, next) });
    }
    const notRead = names.length - considered.length;
    return {
      path: shown,
      state: 'ok',
      entries: names.length,
      files,
      stopped: notRead > 0 ? { by: 'file-count', notRead } : null,
    };
  }

  return async function readKeys(): Promise<KeySnapshot> {
    const next = new Map<string, CachedFile>();
    const budget = { bytes: 0 };
    const readings: DirReading[] = [];
    for (const dir of dirs) readings.push(await readDirectory(dir, budget, next));
    // Only what is still there is remembered: a removed file's entry goes with it.
    cache = next;
    return buildKeySnapshot(readings, limits);
  };
}

/** Reads every key directory once. A missing or unreadable directory is reported, not thrown. */
export async function readKeyDirectories(
  dirs: readonly string[],
  options: KeyReaderOptions = {},
): Promise<KeySnapshot> {
  return createKeyReader(dirs, options)();
}
