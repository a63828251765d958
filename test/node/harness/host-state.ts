// What a real node changes on the machine, as lists of comparable lines: taken before the cluster
// starts and after it is torn down, the difference is what teardown left behind (or removed that
// was not its own). The test node runs as root on a machine that other suites share: podman
// (netavark) adds and removes its own bridges, veths, iptables rules and mounts at any time, so
// those are left out of the comparison by name; everything else counts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../e2e/harness/run.js';

export interface HostState {
  readonly iptables: readonly string[];
  readonly ip6tables: readonly string[];
  readonly links: readonly string[];
  readonly mounts: readonly string[];
  readonly cgroups: readonly string[];
  readonly processes: readonly string[];
  readonly paths: readonly string[];
}

/** Paths the kubelet and containerd write regardless of their root directories (see cluster.ts). */
export const FIXED_PATHS = [
  '/var/lib/kubelet',
  '/var/log/containers',
  '/var/log/pods',
  '/run/containerd',
] as const;

/** Prefix of the cluster's scratch directories in /tmp. */
export const SCRATCH_PREFIX = 'vau-node-';

/**
 * iptables-save output as one line per chain and rule, `table: line`, without counters and
 * comments. A table that holds only built-in chains with policy ACCEPT and no rule is left out:
 * iptables-save lists such tables once anything has touched them, which changes nothing.
 */
export function iptablesLines(save: string): string[] {
  const lines: string[] = [];
  let table = '';
  let pending: string[] = [];
  let meaningful = false;
  for (const raw of save.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = line.slice(1);
      pending = [];
      meaningful = false;
    } else if (line === 'COMMIT') {
      if (meaningful) lines.push(...pending);
    } else if (line.startsWith(':')) {
      const [chain, policy] = line.slice(1).split(' ');
      pending.push(`${table}: chain ${chain} ${policy}`);
      if (policy !== 'ACCEPT') meaningful = true;
    } else if (line.startsWith('-A ')) {
      pending.push(`${table}: ${line}`);
      meaningful = true;
    }
  }
  return lines.sort();
}

/** `ip -o link show` as `name master=bridge`, without the index (it changes when re-created). */
export function linkLines(ipOutput: string): string[] {
  const lines: string[] = [];
  for (const line of ipOutput.split('\n')) {
    const match = /^\d+: ([^:@]+)(?:@[^:]+)?: .*?(?: master (\S+))?(?: state |$)/.exec(line);
    if (match) lines.push(`${match[1]} master=${match[2] ?? '-'}`);
  }
  return lines.sort();
}

/** /proc/mounts as `target (fstype)`. */
export function mountLines(procMounts: string): string[] {
  return procMounts
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [, target, fstype] = line.split(' ');
      return `${target} (${fstype})`;
    })
    .sort();
}

/** Podman's own footprint (netavark bridges and chains, container storage and netns mounts). */
export function isPodmans(line: string): boolean {
  return (
    /NETAVARK/.test(line) ||
    /^(podman\d*|cni-podman\d*) /.test(line) ||
    / master=(podman\d*|cni-podman\d*)$/.test(line) ||
    /^\/(var\/lib\/containers|run\/containers|run\/netns|run\/user)\//.test(line)
  );
}

/** Lines in one list and not the other, podman's left out: `+ x` appeared, `- x` vanished. */
export function difference(before: readonly string[], after: readonly string[]): string[] {
  const was = new Set(before);
  const is = new Set(after);
  return [
    ...after.filter((line) => !was.has(line)).map((line) => `+ ${line}`),
    ...before.filter((line) => !is.has(line)).map((line) => `- ${line}`),
  ].filter((line) => !isPodmans(line.slice(2)));
}

/** Every difference between two snapshots, each line prefixed with what it is. */
export function hostDifferences(before: HostState, after: HostState): string[] {
  const kinds = Object.keys(before) as (keyof HostState)[];
  return kinds.flatMap((kind) =>
    difference(before[kind], after[kind]).map((line) => `${kind} ${line}`),
  );
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The node's processes: everything started with a scratch directory in its arguments (every
 * component and containerd's shims are), and every process in a kubepods cgroup (what the pods
 * ran). Not "binaries from the cache": the e2e suite runs the same etcd and kube-apiserver, and
 * other suites on the machine come and go.
 */
export function nodeProcesses(): string[] {
  const lines: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = read(`/proc/${entry}/cmdline`).split('\0').join(' ').trim();
    const stat = read(`/proc/${entry}/stat`);
    if (cmdline === '' || /\) Z /.test(stat)) continue; // kernel thread, gone, or a zombie
    if (
      cmdline.includes(`/tmp/${SCRATCH_PREFIX}`) ||
      read(`/proc/${entry}/cgroup`).includes('kubepods')
    ) {
      lines.push(`${entry} ${cmdline.slice(0, 240)}`);
    }
  }
  return lines.sort();
}

/** The kubepods cgroup of each v1 controller (and the unified hierarchy), where one exists. */
export function kubepodsCgroups(): string[] {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return [];
  const found: string[] = [];
  for (const controller of readdirSync(root)) {
    for (const name of ['kubepods', 'kubepods.slice']) {
      if (existsSync(join(root, controller, name))) found.push(join(root, controller, name));
    }
  }
  return found.sort();
}

async function save(tool: string): Promise<string> {
  const result = await run(tool, []);
  if (result.code !== 0) throw new Error(`${tool} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

export async function snapshotHost(): Promise<HostState> {
  const links = await run('ip', ['-o', 'link', 'show']);
  const scratch = readdirSync('/tmp').filter((name) => name.startsWith(SCRATCH_PREFIX));
  return {
    iptables: iptablesLines(await save('iptables-save')),
    ip6tables: iptablesLines(await save('ip6tables-save')),
    links: linkLines(links.stdout),
    mounts: mountLines(read('/proc/mounts')),
    cgroups: kubepodsCgroups(),
    processes: nodeProcesses(),
    paths: [...FIXED_PATHS.filter((path) => existsSync(path)), ...scratch.map((n) => `/tmp/${n}`)],
  };
}
