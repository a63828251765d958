// Reads the key directories: every visible regular file, or symlink to one inside the directory,
// is a key file. The atomic writer's `..data` and `..<timestamp>` entries, and any dot-file, are
// skipped. Any other entry (a sub-directory, a FIFO, a device, a dangling symlink, a symlink that
// leaves the directory) is listed as unusable with the reason (key-entry.ts says which and why), and
// a bad file is reported by name, never by content; the rest are used.
//
// The check loop reads the keys before every round (every 500 ms while sealed), so a read must cost
// little whatever is in the directory: at most `filesPerDirectory` entries are looked at, first by
// name, and at most `totalBytes` are used; and a file is parsed again only when what `stat` says
// of it (through the symlink) changed. The directory itself is listed on every read, which is
// cheap and sees a kubelet `..data` swap even when a watch event was lost.
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { constants, type BigIntStats } from 'node:fs';
import { fileIdentity, settledAt } from '../common/file-identity.js';
import { join, resolve } from 'node:path';
import { displayPath } from './display-path.js';
import { DANGLING_SYMLINK, isInside, notRegularReason, outsideReason } from './key-entry.js';
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
  /**
   * Reads a key file's text (at most MAX_KEY_FILE_BYTES + 1 bytes of it); `expected` is the file
   * `stat` saw there, which what is opened must still be.
   */
  readonly readFile?: (path: string, expected?: FileKey) => Promise<string>;
}

/** The device and inode of a file: what it is, whatever path leads to it. */
export interface FileKey {
  readonly dev: bigint;
  readonly ino: bigint;
}

/**
 * Reads a key file's text. `stat` said "regular file" a moment ago, but the entry may have been
 * swapped since (a symlink re-pointed at a FIFO or a device): opened plainly, a FIFO with no
 * writer blocks a libuv thread and the check loop forever. So it is opened non-blocking, and
 * what was opened is checked again before a byte is read: a regular file, and, when `expected`
 * is given, the very file that was checked (a directory on the way re-pointed in between, out of
 * the key directory, opens another one).
 */
export async function readKeyFileText(path: string, expected?: FileKey): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const opened = await handle.stat({ bigint: true });
    if (!opened.isFile()) {
      throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    }
    if (expected && (opened.dev !== expected.dev || opened.ino !== expected.ino)) {
      throw Object.assign(new Error('replaced while reading'), { code: 'ECHANGED' });
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
  if (code === 'EDANGLING') return DANGLING_SYMLINK;
  if (code === 'ENOTREG') return 'not a regular file';
  if (code === 'ECHANGED') return 'replaced while reading';
  return `unreadable: ${typeof code === 'string' ? code : 'error'}`;
}

/** Why a directory could not be listed, as its state and a sentence. */
function dirProblem(dir: string, error: unknown): DirReading {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return { path: dir, state: 'missing', reason: 'directory does not exist' };
  if (code === 'ENOTDIR') return { path: dir, state: 'not-a-directory', reason: 'not a directory' };
  return { path: dir, state: 'unreadable', reason: fsReason(error) };
}

/** A directory entry that may be read: the file behind it, and the path to open it by. */
type Inspected =
  | { readonly ok: true; readonly info: BigIntStats; readonly openPath: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Looks at one entry without opening it: `lstat` first, so a symlink is followed only after its
 * target is known to be inside the directory (`dirReal`, the directory's real path), and only a
 * regular file is ever opened (a FIFO would block the reader).
 */
async function inspectEntry(path: string, dirReal: string): Promise<Inspected> {
  let info: BigIntStats;
  let openPath = path;
  try {
    info = await lstat(path, { bigint: true });
    if (info.isSymbolicLink()) {
      openPath = await realpath(path).catch((error: unknown) => {
        throw (error as { code?: unknown }).code === 'ENOENT'
          ? Object.assign(new Error(DANGLING_SYMLINK), { code: 'EDANGLING' })
          : error;
      });
      if (!isInside(dirReal, openPath)) {
        return { ok: false, reason: outsideReason(displayPath(openPath)) };
      }
      info = await stat(openPath, { bigint: true });
    }
  } catch (error) {
    return { ok: false, reason: fsReason(error) };
  }
  if (!info.isFile()) return { ok: false, reason: notRegularReason(info) };
  return { ok: true, info, openPath };
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
    entry: { readonly info: BigIntStats; readonly openPath: string },
    next: Map<string, CachedFile>,
  ): Promise<FileOutcome> {
    const identity = fileIdentity(entry.info);
    const cached = cache.get(path);
    if (cached && cached.trusted && cached.identity === identity) {
      next.set(path, cached);
      return cached.outcome;
    }
    const outcome = await parseEntry(path, entry);
    next.set(path, { identity, trusted: settledAt(entry.info, now()), outcome });
    return outcome;
  }

  async function parseEntry(
    path: string,
    { info, openPath }: { readonly info: BigIntStats; readonly openPath: string },
  ): Promise<FileOutcome> {
    if (info.size > BigInt(MAX_KEY_FILE_BYTES)) return { kind: 'invalid', reason: 'too large' };
    try {
      // By its real path (no symlink left in it) and as the very file just checked (dev, ino).
      const text = await readFile(openPath, { dev: info.dev, ino: info.ino });
      const parsed = parseKeyFileFrom(text, displayPath(path));
      // Whether it also holds a token: a flag, never the token (key-parsing.ts holdsToken).
      const token = parsed.rootToken ? { rootToken: true as const } : {};
      return parsed.ok
        ? { kind: 'shares', shares: parsed.shares, ...token }
        : { kind: 'invalid', reason: parsed.problem, ...token };
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
    // Listed a moment ago, so it resolves; should it not, symlinks are judged against the path given.
    const dirReal = await realpath(dir).catch(() => resolve(dir));
    const files: FileReading[] = [];
    const considered = names.slice(0, limits.filesPerDirectory);
    for (const [index, name] of considered.entries()) {
      const path = join(dir, name);
      const entry = await inspectEntry(path, dirReal);
      if (!entry.ok) {
        files.push({ path: displayPath(path), outcome: { kind: 'invalid', reason: entry.reason } });
        continue;
      }
      const size = Number(entry.info.size);
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
      files.push({ path: displayPath(path), outcome: await readEntry(path, entry, next) });
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
