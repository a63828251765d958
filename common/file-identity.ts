// When a cached read of a small file may be reused: the key files and the pause switch are both
// re-read only when `stat` says they changed. Shared so the two caches follow one rule.
import type { BigIntStats } from 'node:fs';

/**
 * A file changed less than this long before we looked may change again within the same timestamp
 * tick without `stat` showing it (the "racily clean" case of git's index): such a file is read again
 * next time rather than trusted from the cache.
 */
export const RACY_WINDOW_MS = 2_000;

/** The file behind a name, as `stat` (following symlinks) sees it: a new inode, size or time differs. */
export function fileIdentity(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

/** Whether a cached read of this file may be trusted at `nowMs` (it has not changed too recently). */
export function settledAt(info: BigIntStats, nowMs: number): boolean {
  return nowMs - Math.max(Number(info.mtimeMs), Number(info.ctimeMs)) > RACY_WINDOW_MS;
}
