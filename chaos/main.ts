#!/usr/bin/env node
// `npm run chaos -- --seed N --episodes N [--nodes 3]`: fault episodes against a real OpenBao raft
// cluster kept unsealed by real sidecars, each checked against the invariants in checks.ts.
// `npm run chaos -- --seed N --only K[,K...]`: replays those episodes of that seed alone.
// `npm run chaos -- --soak 10m`: one sidecar against a flapping server, its footprint sampled once a
// second into a CSV and a PNG plot.
import { PLANTED_DEFECTS } from './planted.js';
import { runChaos } from './run.js';
import { runSoak } from './soak.js';

const USAGE = [
  'usage: npm run chaos -- [--seed N] [--episodes N] [--nodes N]',
  '       npm run chaos -- --seed N --only K[,K...] [--nodes N]   (replay episodes)',
  `       npm run chaos -- ... --planted ${PLANTED_DEFECTS.join('|')}`,
  '       npm run chaos -- --soak 10m',
].join('\n');

function integer(
  argv: readonly string[],
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const at = argv.indexOf(flag);
  if (at < 0) return fallback;
  const text = argv[at + 1] ?? '';
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag} wants a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

class UsageError extends Error {}

/** `17`, or `16,17`: an episode can depend on the ones before it (a rekey changes the shares). */
function episodeList(text: string): number[] {
  if (!/^\d+(,\d+)*$/.test(text)) {
    throw new UsageError(`--only wants episode numbers such as 17 or 16,17, got "${text}"`);
  }
  return text.split(',').map(Number);
}

async function main(argv: readonly string[]): Promise<number> {
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const soakAt = argv.indexOf('--soak');
  if (soakAt >= 0) {
    const text = argv[soakAt + 1] ?? '';
    const match = /^(\d+)(s|m)$/.exec(text);
    if (!match) throw new UsageError(`--soak wants a duration such as 90s or 10m, got "${text}"`);
    const durationMs = Number(match[1]) * (match[2] === 'm' ? 60_000 : 1_000);
    return runSoak({ durationMs, say });
  }
  const seed = integer(argv, '--seed', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  const count = integer(argv, '--episodes', 10, 1, 100_000);
  const nodes = integer(argv, '--nodes', 3, 3, 5);
  const only = argv.includes('--only')
    ? episodeList(argv[argv.indexOf('--only') + 1] ?? '')
    : undefined;
  const plantedAt = argv.indexOf('--planted');
  const planted = plantedAt >= 0 ? argv[plantedAt + 1] : undefined;
  if (planted !== undefined && !(PLANTED_DEFECTS as readonly string[]).includes(planted)) {
    throw new UsageError(`--planted wants one of ${PLANTED_DEFECTS.join(', ')}, got "${planted}"`);
  }
  const episodes = only ?? Array.from({ length: count }, (_, k) => k);
  const summary = await runChaos({ seed, episodes, nodes, say, ...(planted ? { planted } : {}) });
  process.stdout.write(`chaos: ${summary.passed} passed, ${summary.failed} failed\n`);
  return summary.failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`chaos failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
