#!/usr/bin/env node
// `npm run chaos -- --seed N --episodes N [--nodes 3]`: fault episodes against a real OpenBao raft
// cluster kept unsealed by real sidecars, each checked against the invariants in checks.ts.
// `npm run chaos -- --soak 10m`: one sidecar against a flapping server, its footprint sampled once a
// second into a CSV and a PNG plot.
import { runSoak } from './soak.js';

function usage(): string {
  return [
    'usage: npm run chaos -- [--seed N] [--episodes N] [--nodes N]',
    '       npm run chaos -- --replay chaos/results/<trace>.json',
    '       npm run chaos -- --soak 10m',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const soakAt = argv.indexOf('--soak');
  if (soakAt >= 0) {
    const text = argv[soakAt + 1] ?? '';
    const match = /^(\d+)(s|m)$/.exec(text);
    if (!match) {
      process.stderr.write(
        `--soak wants a duration such as 90s or 10m, got "${text}"\n${usage()}\n`,
      );
      return 2;
    }
    const durationMs = Number(match[1]) * (match[2] === 'm' ? 60_000 : 1_000);
    return runSoak({ durationMs, say: (line) => process.stderr.write(`${line}\n`) });
  }
  process.stderr.write(`episodes: not written yet\n${usage()}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
