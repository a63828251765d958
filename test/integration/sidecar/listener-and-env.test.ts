// The real built sidecar's listener and start-time checks (issue 21, items 9 and 15): the address
// the webhook injects answers on IPv6 and IPv4 loopback alike, a bracketed IPv6 address works,
// typo'd UNSEAL_* variables are named at start, and an empty UNSEAL_KEYS_DIR is refused.
import { describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../harness/ports.js';
import {
  runSidecarToExit,
  startSidecar,
  type SidecarProcess,
} from '../../harness/sidecar-process.js';
import { SIDECAR_HTTP_ADDR, SIDECAR_PORT } from '../../../webhook/sidecar-spec.js';
import { sidecarFor, tempDir, track } from './context.js';

// No server needed: the probes answer whatever the server does. Port 1 refuses at once.
const NOWHERE = 'http://127.0.0.1:1';

async function status(url: string): Promise<number | string> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(error);
  }
}

describe('the listener (item 9)', () => {
  it('the address the webhook injects answers on [::1] and on 127.0.0.1', async () => {
    const port = await freePort();
    // The injected value, on a free port instead of 8210.
    const addr = SIDECAR_HTTP_ADDR.replace(`:${SIDECAR_PORT}`, `:${port}`);
    expect(addr).toBe(`[::]:${port}`);
    const sidecar = await listeningOn(addr, `http://[::1]:${port}`);
    expect(await status(`http://[::1]:${port}/healthz`)).toBe(200);
    expect(await status(`http://127.0.0.1:${port}/healthz`)).toBe(200);
    const started = sidecar.logs().find((line) => line['msg'] === 'started');
    expect(started?.['http']).toBe(`[::]:${port}`);
  });

  it('a bracketed IPv6 loopback address ([::1]:port) listens there', async () => {
    const port = await freePort();
    const sidecar = await listeningOn(`[::1]:${port}`, `http://[::1]:${port}`);
    expect(await status(`http://[::1]:${port}/healthz`)).toBe(200);
    expect(sidecar.child.exitCode).toBeNull();
  });
});

/** The real sidecar listening on `httpAddr`, once `/readyz` answers at `base`. */
async function listeningOn(httpAddr: string, base: string): Promise<SidecarProcess> {
  const sidecar = track(
    await startSidecar(
      {
        VAULT_ADDR: NOWHERE,
        UNSEAL_KEYS_DIR: tempDir('keys'),
        UNSEAL_PODINFO_DIR: tempDir('podinfo'),
        UNSEAL_HTTP_ADDR: httpAddr,
      },
      { waitReady: false },
    ),
  );
  await waitFor(
    `/readyz on ${base}`,
    async () => ((await status(`${base}/readyz`)) === 200 ? true : undefined),
    { timeoutMs: 20_000 },
  );
  return sidecar;
}

describe('environment typos (item 15)', () => {
  it('names each unknown UNSEAL_* variable in one warning at start, with a guess', async () => {
    const sidecar = await sidecarFor(NOWHERE, tempDir('keys'), {
      UNSEAL_KEYS_DIRS: '/somewhere',
      UNSEAL_INTERVALL: '1s',
    });
    const warnings = sidecar.logs().filter((line) => String(line['msg']).startsWith('unknown'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      variables: ['UNSEAL_INTERVALL', 'UNSEAL_KEYS_DIRS'],
      msg:
        'unknown UNSEAL_* variables, ignored: UNSEAL_INTERVALL (did you mean UNSEAL_INTERVAL?), ' +
        'UNSEAL_KEYS_DIRS (did you mean UNSEAL_KEYS_DIR?)',
    });
    // Names only: the values are not in the line.
    expect(JSON.stringify(warnings[0])).not.toContain('/somewhere');
  });

  it.each([[''], [' , ']])('UNSEAL_KEYS_DIR=%j exits 2, naming it', async (value) => {
    const run = await runSidecarToExit({ VAULT_ADDR: NOWHERE, UNSEAL_KEYS_DIR: value });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('UNSEAL_KEYS_DIR: is set but names no directory');
  });
});
