// Per-test set-up shared by the sidecar integration suites: temporary key and podinfo directories,
// and cleanup of every server and sidecar a test started, even when it fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { everythingPrinted, leakedSecrets, secretForms } from '../../harness/leaks.js';
import type { InitResult, OpenBaoServer, RaftCluster } from '../../harness/openbao.js';
import { startSidecar, type SidecarProcess } from '../../harness/sidecar-process.js';

type Closable = OpenBaoServer | RaftCluster | SidecarProcess | { dir: string };

const toClose: Closable[] = [];

afterEach(async () => {
  const items = toClose.splice(0).reverse();
  for (const item of items) {
    if ('stop' in item) await item.stop('SIGKILL');
    else if ('destroy' in item) await item.destroy();
    else rmSync(item.dir, { recursive: true, force: true });
  }
});

export function track<T extends Closable>(item: T): T {
  toClose.push(item);
  return item;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vau-${prefix}-`));
  track({ dir });
  return dir;
}

/** A sidecar with fast timings, so behaviour shows within a test's patience. */
export async function sidecarFor(
  addr: string,
  keysDir: string,
  extra: Readonly<Record<string, string>> = {},
): Promise<SidecarProcess> {
  const podinfo = extra.UNSEAL_PODINFO_DIR ?? join(tempDir('podinfo'), 'absent');
  return track(
    await startSidecar({
      VAULT_ADDR: addr,
      UNSEAL_KEYS_DIR: keysDir,
      UNSEAL_PODINFO_DIR: podinfo,
      UNSEAL_INTERVAL: '1s',
      UNSEAL_RETRY_INTERVAL: '200ms',
      ...extra,
    }),
  );
}

/** Requirement k: nothing the sidecar printed or served contains a share or the root token. */
export async function expectNoLeaks(
  sidecar: SidecarProcess,
  ...inits: readonly InitResult[]
): Promise<void> {
  const printed = await everythingPrinted(sidecar);
  expect(printed.length).toBeGreaterThan(0);
  expect(leakedSecrets(printed, secretForms(...inits))).toEqual([]);
}

/** Counts of `vault_autounseal_key_submissions_total` by result, from a real scrape. */
export function submissions(metricsText: string): {
  accepted: number;
  rejected: number;
  error: number;
} {
  const value = (result: string): number => {
    const match = new RegExp(
      `^vault_autounseal_key_submissions_total\\{result="${result}"\\} (\\S+)$`,
      'm',
    ).exec(metricsText);
    return match ? Number(match[1]) : Number.NaN;
  };
  return { accepted: value('accepted'), rejected: value('rejected'), error: value('error') };
}

export function metricValue(metricsText: string, series: string): number {
  const escaped = series.replace(/[{}"=]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(metricsText);
  return match ? Number(match[1]) : Number.NaN;
}
