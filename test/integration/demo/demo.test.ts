// The README's first command: `npm run demo` (prepare, then `node dist/demo/main.js`). These run the
// built demo as a user would and check what it claims: it unseals a 3-node cluster, a server that
// dies is restarted (as a kubelet would) and unsealed again by its sidecar, and every way out
// (Ctrl-C once or twice, SIGTERM, SIGHUP, a failure while starting) leaves nothing running and no
// share, root token or raft data on disk.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { leakedSecrets, secretForms } from '../../harness/leaks.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { findServerBinary } from '../../harness/server-binary.js';
import { vaultRequest } from '../../harness/vault-http.js';
import { serverProcesses, startDemo, type DemoRun } from './demo-process.js';

let demo: DemoRun | undefined;
let scratch: string | undefined;
afterEach(() => {
  demo?.dispose();
  demo = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** Asserts the demo exited on its own, with `code`, and left nothing behind. */
async function expectCleanExit(run: DemoRun, code: number): Promise<void> {
  const exit = await run.exited;
  await sleep(500);
  expect(run.leftoverProcesses(), 'processes the demo started, still running').toEqual([]);
  expect(run.leftoverFiles(), 'what the demo left in its TMPDIR').toEqual([]);
  // It handled the signal (or error) itself rather than being killed by it.
  expect(exit, run.output()).toEqual({ code, signal: null });
}

/** The shares and root token the demo wrote into its temporary directory (read while it runs). */
function secretsOnDisk(dir: string): string[] {
  const shares: string[] = [];
  let rootToken = '';
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('..')) walk(full);
      else if (/^unseal-key-\d+$/.test(entry.name)) shares.push(readFileSync(full, 'utf8').trim());
      else if (entry.name === 'root-token') rootToken = readFileSync(full, 'utf8').trim();
    }
  };
  walk(dir);
  return secretForms({
    keysBase64: shares,
    keysHex: shares.map((share) => Buffer.from(share, 'base64').toString('hex')),
    rootToken,
    rawJson: '',
  });
}

describe('npm run demo', () => {
  it('unseals a 3-node cluster, shows a restarted node unsealed again, and Ctrl-C leaves nothing running', async () => {
    demo = startDemo();
    await demo.waitForOutput(/Ctrl-C stops everything/);
    const out = demo.output();
    expect(out).toMatch(/All 3 nodes unsealed by their sidecars/);
    expect(out).toMatch(/node-\d unsealed again, no human involved/);
    expect(out).toMatch(
      /time-to-unseal measured by its sidecar \(first seen sealed → unsealed\): \d+\.\d+ s/,
    );
    expect(out).toMatch(/http:\/\/127\.0\.0\.1:\d+\/metrics/);
    // Servers and sidecars are running now, as the demo says.
    expect(demo.leftoverProcesses().length).toBeGreaterThanOrEqual(6);

    demo.child.kill('SIGINT');
    await expectCleanExit(demo, 0);
    expect(demo.output()).toMatch(
      /Everything the demo started has stopped, and \S+ \(shares, root token, raft data\) is deleted\./,
    );
  });

  it('restarts a bao process killed by PID from outside, and its sidecar unseals that node again', async () => {
    demo = startDemo();
    await demo.waitForOutput(/Ctrl-C stops everything/);
    const secrets = secretsOnDisk(demo.tmp);
    expect(secrets.length).toBeGreaterThan(5);
    const servers = serverProcesses(demo.run);
    expect(servers).toHaveLength(3);
    const victim = servers[0]!;
    const node = /(node-\d)/.exec(victim.config)?.[1] ?? '?';

    process.kill(victim.pid, 'SIGKILL');
    const restarted = await waitFor(
      `a new server process for ${node}`,
      () =>
        serverProcesses(demo!.run).find((s) => s.config === victim.config && s.pid !== victim.pid),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(restarted.addr).toBe(victim.addr);
    await waitFor(
      `${node} unsealed again`,
      async () => {
        const answer = await vaultRequest(victim.addr, 'GET', 'sys/seal-status');
        return answer.status === 200 && answer.body.initialized && answer.body.sealed === false
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    // The demo says so, in its own words.
    await demo.waitForOutput(new RegExp(`${node}: server \\(pid ${victim.pid}\\) exited`));
    await demo.waitForOutput(new RegExp(`${node}: server restarted as pid ${restarted.pid}`));
    await demo.waitForOutput(new RegExp(`${node}: unsealed again by its sidecar`), 120_000);

    demo.child.kill('SIGTERM');
    await expectCleanExit(demo, 0);
    expect(leakedSecrets(demo.output(), secrets)).toEqual([]);
  });

  describe('leaves no process and no file behind', () => {
    it.each([
      // Two presses at once (or npm forwarding the terminal's Ctrl-C): one clean stop.
      { path: 'two quick SIGINTs', at: /All 3 nodes unsealed/, signals: ['SIGINT', 'SIGINT'] },
      // Impatience: the second Ctrl-C may hurry the stop (SIGKILL) but not skip the deletion.
      {
        path: 'a second SIGINT while it cleans up',
        at: /All 3 nodes unsealed/,
        signals: ['SIGINT'],
        during: 'SIGINT',
      },
      // `kill <pid>`, systemd, a container runtime.
      { path: 'SIGTERM', at: /All 3 nodes unsealed/, signals: ['SIGTERM'], during: 'SIGTERM' },
      // The terminal closed.
      { path: 'SIGHUP', at: /All 3 nodes unsealed/, signals: ['SIGHUP'] },
      // Ctrl-C while the servers are still starting: nothing half-started survives.
      { path: 'SIGINT during start-up', at: /Starting a 3-node raft cluster/, signals: ['SIGINT'] },
    ] as Array<{ path: string; at: RegExp; signals: NodeJS.Signals[]; during?: NodeJS.Signals }>)(
      'on $path',
      async ({ at, signals, during }) => {
        demo = startDemo();
        await demo.waitForOutput(at);
        for (const signal of signals) demo.child.kill(signal);
        if (during) {
          await demo.waitForOutput(/Stopping/, 30_000);
          demo.child.kill(during);
        }
        await expectCleanExit(demo, 0);
      },
    );

    it('on SIGKILL of the demo itself (its guardian process cleans up)', async () => {
      demo = startDemo();
      await demo.waitForOutput(/All 3 nodes unsealed/);
      demo.child.kill('SIGKILL');
      await demo.exited;
      const run = demo;
      await waitFor(
        'the guardian to clean up',
        () =>
          run.leftoverProcesses().length === 0 && run.leftoverFiles().length === 0
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 200 },
      ).catch(() => undefined);
      expect(run.leftoverProcesses(), 'processes the demo started, still running').toEqual([]);
      expect(run.leftoverFiles(), 'what the demo left in its TMPDIR').toEqual([]);
    });

    it('on an error during start-up (a server that will not start)', async () => {
      scratch = mkdtempSync(join(tmpdir(), 'vau-demo-bin-'));
      const wrapper = join(scratch, 'bao');
      // The third node's server fails at once, as a port clash or a bad config would; the CLI and
      // the other servers are the real binary.
      writeFileSync(
        wrapper,
        `#!/bin/sh
for arg in "$@"; do
  case "$arg" in
    -config=*) if grep -q 'node-2' "\${arg#-config=}"; then echo 'injected start-up failure' >&2; exit 1; fi ;;
  esac
done
exec '${findServerBinary()}' "$@"
`,
      );
      chmodSync(wrapper, 0o755);
      demo = startDemo({ VAULT_BIN: wrapper });
      await expectCleanExit(demo, 1);
      expect(demo.output()).toMatch(/The demo failed/);
    });
  });
});
