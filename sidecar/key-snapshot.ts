// What the key directories hold, as the check loop sees it, and the bounds on what it lists. Pure:
// key-files.ts reads the directories and hands over what it found; this decides what the snapshot
// says. Every path here is already a display path (display-path.ts): scrubbed, never a share.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { distinctShares, type SourcedShare } from './key-parsing.js';

/** A file that gave shares. */
export interface KeySource {
  /** Display path: scrubbed, so a share used as a file name is never shown. */
  readonly path: string;
  readonly shares: number;
}

/** A file that could not be used, or a directory-level problem (`path` is then the directory). */
export interface InvalidKeyFile {
  readonly path: string;
  /** A fixed sentence, never file content. */
  readonly reason: string;
}

export type KeyDirectoryState = 'ok' | 'missing' | 'unreadable' | 'not-a-directory';

/** One configured keys directory, as last read. */
export interface KeyDirectory {
  /** Display path. */
  readonly path: string;
  readonly state: KeyDirectoryState;
  /** Visible entries in it (dot-files excluded). */
  readonly entries: number;
  /** Entries looked at, in name order; at most `limits.filesPerDirectory`. */
  readonly considered: number;
  /** Entries past a bound (file count or total bytes), not read. */
  readonly notRead: number;
  /** Why this directory is not fully used, as one sentence; null when it is. */
  readonly problem: string | null;
}

export interface KeySnapshot {
  /** Distinct valid shares, in a stable order (directory order, then file name), each with its origin. */
  readonly shares: readonly SourcedShare[];
  /** Changes iff the set of shares changes; compared, never shown. A hash: no share material. */
  readonly fingerprint: string;
  /** Files that gave shares: the first `limits.listed` per directory (see `counts.sources`). */
  readonly sources: readonly KeySource[];
  /**
   * Per directory: its own problem first (missing, unreadable, files past a bound), then the first
   * `limits.listed` unusable files, then one entry counting the ones not listed.
   */
  readonly invalid: readonly InvalidKeyFile[];
  /**
   * Files that hold a token (the root token of `operator init`), shares or not: the first
   * `limits.listed` per directory (see `counts.rootTokenFiles`). Display paths, never the token.
   */
  readonly rootTokenFiles?: readonly string[];
  // `counts` and `dirs` are always set by the reader (key-files.ts). They are optional only so that
  // hand-made snapshots (an empty one before the first read, test doubles) still compile; prefer
  // EMPTY_KEY_SNAPSHOT.
  /** Totals over all directories, whatever the lists above show. */
  readonly counts?: {
    /** Files that gave at least one share. */
    readonly sources: number;
    /** Files that were read (or stat'ed) and could not be used. */
    readonly invalidFiles: number;
    /** Files past a bound, not read at all. */
    readonly notRead: number;
    /** Files that hold a token. */
    readonly rootTokenFiles?: number;
  };
  /** One per configured directory, in configuration order. */
  readonly dirs?: readonly KeyDirectory[];
}

/** Before the first read: nothing loaded, and no directory known. */
export const EMPTY_KEY_SNAPSHOT: KeySnapshot = {
  shares: [],
  fingerprint: '',
  sources: [],
  invalid: [],
  rootTokenFiles: [],
  counts: { sources: 0, invalidFiles: 0, notRead: 0, rootTokenFiles: 0 },
  dirs: [],
};

export interface KeyLimits {
  /** Visible entries looked at per directory, first by name. */
  readonly filesPerDirectory: number;
  /** Bytes of key files used in total, over all directories. */
  readonly totalBytes: number;
  /** Names listed per directory in `sources` and `invalid`. */
  readonly listed: number;
}

/**
 * A keys directory holds one file per share, and Shamir allows at most 255 shares, so 256 files is
 * room for any real layout; an `operator init` JSON with 255 shares is under 40 KiB, so 1 MiB in
 * total is room for several. Past these, a directory is not a key volume (a wrong mount, junk), and
 * reading all of it every few hundred milliseconds is what made the sidecar slow and its `/status`
 * huge. Ten names per list is enough for a human to recognise the directory.
 */
export const DEFAULT_KEY_LIMITS: KeyLimits = {
  filesPerDirectory: 256,
  totalBytes: 1024 * 1024,
  listed: 10,
};

/** What reading one entry gave. */
export type FileOutcome =
  | { readonly kind: 'shares'; readonly shares: readonly SourcedShare[]; readonly rootToken?: true }
  /** Unusable, with the reason: also every entry that is not a regular file (key-entry.ts). */
  | { readonly kind: 'invalid'; readonly reason: string; readonly rootToken?: true };

export interface FileReading {
  readonly path: string;
  readonly outcome: FileOutcome;
}

/** What reading one directory gave. */
export type DirReading =
  | {
      readonly path: string;
      readonly state: 'ok';
      readonly entries: number;
      /** Entries looked at, in name order, up to where a bound stopped the reading. */
      readonly files: readonly FileReading[];
      /** Set when a bound stopped the reading: which one, and how many entries it left unread. */
      readonly stopped: {
        readonly by: 'file-count' | 'total-bytes';
        readonly notRead: number;
      } | null;
    }
  | {
      readonly path: string;
      readonly state: Exclude<KeyDirectoryState, 'ok'>;
      readonly reason: string;
    };

const count = (n: number): string => n.toLocaleString('en-US');

function stopReason(
  dir: string,
  stopped: { by: 'file-count' | 'total-bytes'; notRead: number },
  read: number,
  limits: KeyLimits,
): string {
  return stopped.by === 'file-count'
    ? `too many files in ${dir}: read the first ${count(limits.filesPerDirectory)} by name; ${count(stopped.notRead)} not read`
    : `key files too large in total: stopped in ${dir} at ${count(limits.totalBytes)} bytes after ${count(read)} file(s); ${count(stopped.notRead)} not read`;
}

/**
 * The fingerprint of a share set: the SHA-256 of the sorted shares, empty for none. It is compared,
 * never shown, but stays a cryptographic hash so that no share can be read back from it should it
 * ever reach a log. @noble/hashes, not node:crypto: node:crypto costs a sidecar whose VAULT_ADDR
 * is http:// (the official chart's default) about 2 MiB resident on Node 24, and the keys are read
 * at start, so loading it lazily would not help (docs/footprint.md, third pass).
 */
export function fingerprintOf(shares: readonly { readonly hex: string }[]): string {
  if (shares.length === 0) return '';
  const sorted = shares.map((share) => share.hex).sort();
  return bytesToHex(sha256(utf8ToBytes(sorted.join(','))));
}

interface Accumulator {
  readonly shares: SourcedShare[];
  readonly sources: KeySource[];
  readonly invalid: InvalidKeyFile[];
  readonly rootTokenFiles: string[];
  readonly dirs: KeyDirectory[];
  rootTokenCount: number;
  sourceCount: number;
  invalidCount: number;
  notRead: number;
}

/** A directory's files into the lists, each list bounded; returns how many of each there were. */
function addFiles(
  acc: Accumulator,
  files: readonly FileReading[],
  limits: KeyLimits,
  group: number,
): { sources: number; invalid: number } {
  let sources = 0;
  let invalid = 0;
  let tokens = 0;
  for (const { path, outcome } of files) {
    if (outcome.rootToken && tokens++ < limits.listed) acc.rootTokenFiles.push(path);
    if (outcome.kind === 'shares') {
      acc.shares.push(...outcome.shares.map((share) => ({ ...share, group })));
      if (sources++ < limits.listed) acc.sources.push({ path, shares: outcome.shares.length });
    } else {
      if (invalid++ < limits.listed) acc.invalid.push({ path, reason: outcome.reason });
    }
  }
  acc.rootTokenCount += tokens;
  return { sources, invalid };
}

function addDirectory(acc: Accumulator, dir: DirReading, limits: KeyLimits, group: number): void {
  if (dir.state !== 'ok') {
    acc.invalid.push({ path: dir.path, reason: dir.reason });
    acc.dirs.push({
      path: dir.path,
      state: dir.state,
      entries: 0,
      considered: 0,
      notRead: 0,
      problem: dir.reason,
    });
    return;
  }
  const problem = dir.stopped ? stopReason(dir.path, dir.stopped, dir.files.length, limits) : null;
  if (problem) acc.invalid.push({ path: dir.path, reason: problem });
  const { sources, invalid } = addFiles(acc, dir.files, limits, group);
  if (invalid > limits.listed) {
    acc.invalid.push({
      path: dir.path,
      reason: `${count(invalid - limits.listed)} more unusable file(s) not listed`,
    });
  }
  const notRead = dir.stopped?.notRead ?? 0;
  acc.sourceCount += sources;
  acc.invalidCount += invalid;
  acc.notRead += notRead;
  acc.dirs.push({
    path: dir.path,
    state: 'ok',
    entries: dir.entries,
    considered: dir.files.length,
    notRead,
    problem,
  });
}

/** The snapshot of what the directories gave, with its lists bounded. */
export function buildKeySnapshot(
  dirs: readonly DirReading[],
  limits: KeyLimits = DEFAULT_KEY_LIMITS,
): KeySnapshot {
  const acc: Accumulator = {
    shares: [],
    sources: [],
    invalid: [],
    rootTokenFiles: [],
    dirs: [],
    rootTokenCount: 0,
    sourceCount: 0,
    invalidCount: 0,
    notRead: 0,
  };
  dirs.forEach((dir, group) => addDirectory(acc, dir, limits, group));
  const shares = distinctShares(acc.shares);
  return {
    shares,
    fingerprint: fingerprintOf(shares),
    sources: acc.sources,
    invalid: acc.invalid,
    rootTokenFiles: acc.rootTokenFiles,
    counts: {
      sources: acc.sourceCount,
      invalidFiles: acc.invalidCount,
      notRead: acc.notRead,
      rootTokenFiles: acc.rootTokenCount,
    },
    dirs: acc.dirs,
  };
}
