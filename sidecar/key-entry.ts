// What may be read as a key file, decided from what `lstat`, `realpath` and `stat` said of a
// directory entry. Pure: key-files.ts asks the file system and passes the answers in.
//
// Only regular files are read, and a symlink only when it resolves inside the key directory (by
// real paths). The kubelet's own layout stays inside: each name is a link `name -> ..data/name`,
// and `..data -> ..2026_…` is a directory beside them. A link out of a Secret volume is nothing the
// kubelet makes; whoever planted one could make the sidecar read a file of their choosing (a share
// from /etc/machine-id is junk at best, and a file the sidecar's uid can read is not ours to send to
// a server). README, "Key files".
import { sep } from 'node:path';

/** The type of a file, as the `is…()` methods of a `Stats` tell it. */
export interface FileTypeView {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

/** The name an operator knows a non-regular file by, with its article. */
export function fileTypeName(info: FileTypeView): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'an unknown file type';
}

/** Why an entry that is not a regular file is skipped (through its symlink, when it is one). */
export function notRegularReason(info: FileTypeView): string {
  return `not a regular file: ${fileTypeName(info)}`;
}

export const DANGLING_SYMLINK = 'symlink to a missing file';

/** Why a symlink whose target is outside the key directory is refused; `target` is a display path. */
export function outsideReason(target: string): string {
  return `symlink to ${target}, outside the key directory: refused`;
}

/**
 * Whether `target` (a real path: no symlink left in it) is inside the directory whose real path
 * is `dir`. The directory itself is not inside it (a link `name -> .`), nor a sibling whose name
 * starts with the directory's (`/keys-other` beside `/keys`).
 */
export function isInside(dir: string, target: string): boolean {
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  return target.startsWith(prefix) && target.length > prefix.length;
}
