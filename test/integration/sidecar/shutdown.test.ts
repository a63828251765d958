// Contract: "SIGTERM or SIGINT: stop checking, close the listener, exit 0 within 5 s". The built
// sidecar is stopped while its seal-status request hangs on a server that never answers, with the
// default 5 s request timeout: longer than the shutdown deadline, so only aborting the request lets
// it keep its word.
import { afterEach, describe, expect, it } from 'vitest';
import { startRecordingServer, type FakeServer } from '../../harness/fake-servers.js';
import { waitFor } from '../../harness/ports.js';
import type { SidecarProcess } from '../../harness/sidecar-process.js';
import { sidecarFor, tempDir } from './context.js';

let server: FakeServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A sidecar whose first seal-status request has reached a server that will never answer it. */
async function sidecarStuckInARequest(): Promise<SidecarProcess> {
  const hanging = await startRecordingServer(() => undefined);
  server = hanging;
  const sidecar = await sidecarFor(hanging.url, tempDir('keys'));
  await waitFor('the seal-status request to hang', () =>
    hanging.requests.some((r) => r.target === '/v1/sys/seal-status') ? true : undefined,
  );
  return sidecar;
}

/** Resolves once the sidecar has logged `msg`, or has exited. */
async function loggedOrExited(sidecar: SidecarProcess, msg: string): Promise<void> {
  await waitFor(`"${msg}" or the exit`, () =>
    sidecar.child.exitCode !== null || sidecar.logs().some((l) => l.msg === msg) ? true : undefined,
  );
}

describe('stopping the sidecar while a request to the server hangs', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: aborts the request, says "stopped" and exits 0',
    async (signal) => {
      const sidecar = await sidecarStuckInARequest();

      sidecar.child.kill(signal);
      const { code, signal: killedBy } = await sidecar.exited;
      expect({ code, killedBy }).toEqual({ code: 0, killedBy: null });
      expect(sidecar.logs().map((l) => l.msg)).toEqual(
        expect.arrayContaining(['shutting down', 'stopped']),
      );
      expect(sidecar.logs().some((l) => l.msg === 'shutdown timed out')).toBe(false);
    },
  );

  it('SIGTERM twice in quick succession: the second is ignored, and it still exits 0', async () => {
    const sidecar = await sidecarStuckInARequest();

    sidecar.child.kill('SIGTERM');
    await loggedOrExited(sidecar, 'shutting down');
    if (sidecar.child.exitCode === null) sidecar.child.kill('SIGTERM');
    const { code, signal } = await sidecar.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(sidecar.logs().some((l) => l.msg === 'stopped')).toBe(true);
  });
});
