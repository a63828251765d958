import { watch } from 'chokidar';

export interface DirWatcher {
  close(): Promise<void>;
}

/**
 * Calls `onChange` (debounced) whenever anything under the directories changes.
 *
 * Kubernetes updates Secret and downward-API volumes by writing a new `..<timestamp>` directory and
 * swapping the `..data` symlink, so a watch on file paths alone misses updates: we watch the whole
 * directory, symlinks included, and let the caller re-read and compare contents. Callers must also
 * re-read on their own schedule, since watch events can be lost (inotify limits, NFS).
 */
export function watchDirectories(
  dirs: readonly string[],
  onChange: () => void,
  options: { readonly debounceMs: number } = { debounceMs: 100 },
): DirWatcher {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch([...dirs], {
    ignoreInitial: true,
    followSymlinks: true,
    depth: 2,
    // Polling is the only thing that sees symlink swaps on every filesystem; the directories are tiny.
    usePolling: true,
    interval: 250,
    binaryInterval: 250,
  });
  const fire = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, options.debounceMs);
    timer.unref();
  };
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
