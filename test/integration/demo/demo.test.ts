// The README's first command: `npm run demo` (prepare, then `node dist/demo/main.js`). This runs the
// built demo as a user would, interrupts it with Ctrl-C (SIGINT) once it has told its story, and
// checks that it exits cleanly and leaves nothing running.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markedProcesses, RUN_ENV } from '../../harness/orphans.js';
import { sleep, waitFor } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';

describe('npm run demo', () => {
  it('unseals a 3-node cluster, shows a restarted node unsealed again, and Ctrl-C leaves nothing running', async () => {
    const run = randomUUID();
    const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'demo', 'main.js')], {
      env: { ...process.env, [RUN_ENV]: run },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      await waitFor(
        'the demo to finish its story',
        () => (out.includes('Ctrl-C stops everything') ? true : undefined),
        {
          timeoutMs: 150_000,
          intervalMs: 250,
        },
      );
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${out}`);
    }
    expect(out).toMatch(/All 3 nodes unsealed by their sidecars/);
    expect(out).toMatch(/node-\d unsealed again, no human involved/);
    expect(out).toMatch(
      /time-to-unseal measured by its sidecar \(first seen sealed → unsealed\): \d+\.\d+ s/,
    );
    expect(out).toMatch(/http:\/\/127\.0\.0\.1:\d+\/metrics/);
    // Servers and sidecars are running now, as the demo says.
    expect(markedProcesses(run).length).toBeGreaterThanOrEqual(6);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('Everything the demo started has stopped.');
    await sleep(500);
    expect(markedProcesses(run)).toEqual([]);
  });
});
