// Per-test set-up shared by the sidecar integration suites: temporary key and podinfo directories,
// and cleanup of every server and sidecar a test started, even when it fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, expect } from 'vitest';
import {
  everythingPrinted,
  leakedSecrets,
  secretForms,
  withoutSecretLikeText,
} from '../../harness/leaks.js';
import type { InitResult, OpenBaoServer, RaftCluster } from '../../harness/openbao.js';
import { startSidecar, type SidecarProcess } from '../../harness/sidecar-process.js';

type Closable = OpenBaoServer | RaftCluster | SidecarProcess | { dir: string };

const toClose: Closable[] = [];

// A failed test leaves what every sidecar and server printed in .ci/results/failures/, so a red CI
// run says why a node stayed sealed. Anything shaped like a share or a token is dropped first: a
// dev server prints its own unseal key and root token, and a failed leak test's output holds one.
const FAILURES_DIR = join(import.meta.dirname, '..', '..', '..', '.ci', 'results', 'failures');

function evidence(items: readonly Closable[]): string {
  const parts: string[] = [];
  for (const item of items) {
    if ('httpAddr' in item) {
      parts.push(`=== sidecar ${item.httpAddr}\n${item.stdout()}${item.stderr()}`);
    } else if ('nodes' in item) {
      for (const node of item.nodes) parts.push(`=== server ${node.addr}\n${node.logs()}`);
    } else if ('logs' in item) {
      parts.push(`=== server ${item.addr}\n${item.logs()}`);
    }
  }
  return withoutSecretLikeText(parts.join('\n'));
}

afterEach(async ({ task }) => {
  const items = toClose.splice(0).reverse();
  if (task.result?.state === 'fail') {
    mkdirSync(FAILURES_DIR, { recursive: true });
    const server = process.env.VAULT_BIN ? 'vault' : 'openbao';
    const node = `node${process.versions.node.split('.')[0]}`;
    const name = `${server}-${node}--${basename(task.file.name, '.test.ts')}--${task.name}`
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 150);
    writeFileSync(join(FAILURES_DIR, `${name}.log`), evidence(items));
  }
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
