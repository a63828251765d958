// README.md's "Running the webhook locally" runs as written: the three shell blocks under
// `## The webhook`, with only the temporary directory and the ports swapped for free ones so the
// test can run next to anything else on the machine. Needs openssl and curl, as the README does.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../harness/ports.js';
import { repoRoot } from '../../harness/repo-root.js';
import { until } from './support.js';

const ROOT = repoRoot();

/** The ```sh blocks of the README's local-run instructions, in order. */
function documentedBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The webhook\n'));
  const local = section.slice(section.indexOf('### Running the webhook locally'));
  const end = local.indexOf('\n## ');
  const text = end === -1 ? local : local.slice(0, end);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

function bash(script: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

describe('README: running the webhook locally', () => {
  const blocks = documentedBlocks();
  let dir: string;
  let port: number;
  let metricsPort: number;
  /** The documented text, with our directory and ports. */
  const local = (block: string): string =>
    block
      .replaceAll('/tmp/webhook-tls', dir)
      .replaceAll('127.0.0.1:8443', `127.0.0.1:${port}`)
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${metricsPort}`);

  beforeAll(async () => {
    expect(existsSync(join(ROOT, 'dist/webhook/main.js')), 'run npm run build first').toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'webhook-readme-'));
    const ports = await freePorts(2);
    port = ports[0]!;
    metricsPort = ports[1]!;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('documents three steps: a certificate, the start, a review', () => {
    expect(blocks).toHaveLength(3);
    expect(blocks[1]).toContain('WEBHOOK_HOST=127.0.0.1');
    expect(blocks[1]).toContain('node dist/webhook/main.js');
    expect(blocks[2]).toContain('https://127.0.0.1:8443/mutate');
  });

  it('makes a certificate, starts the webhook on 127.0.0.1 and gets a patch back', async () => {
    const made = bash(local(blocks[0]!));
    expect(made.status, made.stderr).toBe(0);

    // The start block, as typed; only the ports come from the environment it inherits.
    const webhook = spawn('bash', ['-euo', 'pipefail', '-c', local(blocks[1]!)], {
      cwd: ROOT,
      detached: true,
      env: {
        PATH: process.env['PATH'] ?? '',
        WEBHOOK_PORT: String(port),
        WEBHOOK_METRICS_PORT: String(metricsPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    webhook.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    webhook.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => webhook.on('exit', resolve));
    try {
      await until(async () => {
        if (webhook.exitCode !== null) throw new Error(`the webhook exited:\n${output}`);
        return (await status(`http://127.0.0.1:${metricsPort}/readyz`)) === 200;
      }, 100);
      expect(output).toContain('"host":"127.0.0.1"');

      const sent = bash(local(blocks[2]!));
      expect(sent.status, sent.stderr).toBe(0);
      expect(sent.stdout).toMatch(/^allowed: true/);
      const patch = JSON.parse(sent.stdout.slice(sent.stdout.indexOf('\n') + 1)) as {
        path: string;
      }[];
      expect(patch.map((op) => op.path)).toContain('/spec/initContainers');
    } finally {
      // Only the process group this test started.
      if (webhook.pid !== undefined && webhook.exitCode === null)
        process.kill(-webhook.pid, 'SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
