import { resolve } from 'node:path';
import { watch } from 'chokidar';

export interface DirWatcher {
  close(): Promise<void>;
}

/**
 * Calls `onChange` (debounced) whenever an entry directly in one of the directories changes.
 *
 * Kubernetes updates Secret and downward-API volumes by writing a new `..<timestamp>` directory and
 * swapping the `..data` symlink, so a watch on file paths alone misses updates: we watch the
 * directories themselves and let the caller re-read and compare contents. Callers must also re-read
 * on their own schedule, since watch events can be lost (inotify limits, NFS, a directory that is
 * removed and created again).
 *
 * Native events (inotify), not polling: polling stats every file every interval, which costs a
 * core when someone puts thousands of files beside the keys. One watch per directory, none per
 * file: chokidar ignores every path but the directories, and we listen to its raw events, which
 * inotify raises on a directory for each entry in it that is created, written, renamed or removed;
 * the `..data` swap is a rename in the directory, and a plain write is a write of an entry in it.
 */
export function watchDirectories(
  dirs: readonly string[],
  onChange: () => void,
  options: { readonly debounceMs: number } = { debounceMs: 100 },
): DirWatcher {
  let timer: NodeJS.Timeout | undefined;
  const roots = new Set(dirs.map((dir) => resolve(dir)));
  const watcher = watch([...dirs], {
    ignoreInitial: true,
    usePolling: false,
    depth: 0,
    followSymlinks: true,
    // Only the directories: a watch per file would spend an inotify watch (a per-user kernel limit,
    // shared by the whole node) on every file in the directory.
    ignored: (path: string) => !roots.has(resolve(path)),
  });
  const fire = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, options.debounceMs);
    timer.unref();
  };
  watcher.on('raw', fire);
  watcher.on('all', fire);
  // A watcher error (a directory removed, a permission change) must not crash the process: the
  // periodic re-read still picks up the state, and the caller reports what it finds.
  watcher.on('error', () => fire());
  return {
    async close(): Promise<void> {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
