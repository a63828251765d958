// One episode: the plan's faults run at their moments, concurrently, while every node's seal status
// is sampled straight from its server; then the cluster settles, each sidecar's last word is taken,
// and the invariants judge the trace.
import { sleep } from '../test/harness/ports.js';
import { checkAll, noSecrets, type Limits, type Violation } from './checks.js';
import type { ChaosCluster } from './cluster.js';
import { runFault } from './faults.js';
import type { EpisodePlan } from './plan.js';
import type { Trace, TraceEvent } from './trace.js';

export interface EpisodeResult {
  readonly plan: EpisodePlan;
  readonly trace: Trace;
  readonly violations: readonly Violation[];
  /** Each node's sidecar output during the episode, shares redacted: for the trace file. */
  readonly sidecarOutput: readonly string[];
  readonly wallMs: number;
}

const SAMPLE_EVERY_MS = 100;
/** After the faults, how long the cluster gets to come back before the invariants look. */
const SETTLE_MS = 45_000;

export async function runEpisode(
  cluster: ChaosCluster,
  plan: EpisodePlan,
  limits: Limits,
): Promise<EpisodeResult> {
  const started = Date.now();
  const { recorder } = cluster;
  recorder.begin(started);
  const sampler = startSampling(cluster);
  try {
    await Promise.all(
      plan.faults.map(async (fault) => {
        await sleep(fault.atMs);
        await runFault(cluster, fault);
      }),
    );
    await settle(cluster);
    // Let every sidecar finish one more check at its unsealed interval, so /status is current.
    await sleep(1_500);
  } finally {
    await sampler.stop();
  }
  const served = await finals(cluster);
  const events = recorder.end();
  events.push(...logEvents(cluster, started, Date.now()));
  events.sort((a, b) => a.t - b.t);
  const trace: Trace = { seed: plan.seed, episode: plan.episode, nodes: cluster.size, events };
  const secrets = cluster.secrets();
  const outputs = [
    ...served,
    ...cluster.sidecars.flatMap((sidecar, node) =>
      sidecar
        ? [
            { node, source: 'stdout' as const, text: unchecked(sidecar, 'stdout') },
            { node, source: 'stderr' as const, text: unchecked(sidecar, 'stderr') },
          ]
        : [],
    ),
    ...cluster.retiredOutput
      .splice(0)
      .map((text) => ({ node: -1, source: 'stdout' as const, text })),
    { node: -1, source: 'trace' as const, text: JSON.stringify(trace) },
  ];
  const violations = [...checkAll(trace, limits), ...noSecrets(outputs, secrets)];
  const sidecarOutput = cluster.sidecars.map((sidecar) =>
    redact(episodeLines(sidecar?.stdout() ?? '', started), secrets),
  );
  return { plan, trace, violations, sidecarOutput, wallMs: Date.now() - started };
}

const checkedUpTo = new WeakMap<object, { stdout: number; stderr: number }>();

/**
 * What a sidecar printed since the last leak check (with a little overlap, so a share split across
 * the boundary is still seen whole): the check stays cheap over hundreds of episodes.
 */
function unchecked(
  sidecar: { stdout(): string; stderr(): string },
  stream: 'stdout' | 'stderr',
): string {
  const text = sidecar[stream]();
  const seen = checkedUpTo.get(sidecar) ?? { stdout: 0, stderr: 0 };
  const from = Math.max(0, seen[stream] - 256);
  checkedUpTo.set(sidecar, { ...seen, [stream]: text.length });
  return text.slice(from);
}

/** Polls every node's seal status straight from its server, one request per node at a time. */
function startSampling(cluster: ChaosCluster): { stop(): Promise<void> } {
  let running = true;
  const loops = cluster.raft.nodes.map(async (server, node) => {
    while (running) {
      const at = Date.now();
      const answer = cluster.isServerUp(node)
        ? await server.request('GET', 'sys/seal-status', { timeoutMs: 500 }).catch(() => undefined)
        : undefined;
      const body = answer?.status === 200 ? (answer.body as Record<string, unknown>) : undefined;
      cluster.recorder.emit(
        body
          ? {
              kind: 'seal-status',
              node,
              reachable: true,
              ...(typeof body.sealed === 'boolean' ? { sealed: body.sealed } : {}),
              ...(typeof body.progress === 'number' ? { progress: body.progress } : {}),
              ...(typeof body.nonce === 'string' ? { nonce: body.nonce } : {}),
            }
          : { kind: 'seal-status', node, reachable: false },
        at,
      );
      await sleep(Math.max(0, SAMPLE_EVERY_MS - (Date.now() - at)));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Waits until every node is unsealed (or SETTLE_MS passes: the invariants then say which not). */
async function settle(cluster: ChaosCluster): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline) {
    const states = await Promise.all(
      cluster.raft.nodes.map((server) =>
        server
          .request('GET', 'sys/seal-status', { timeoutMs: 500 })
          .then((a) => (a.body as { sealed?: boolean } | undefined)?.sealed)
          .catch(() => undefined),
      ),
    );
    if (states.every((sealed) => sealed === false)) return;
    await sleep(250);
  }
}

/** Each node's server state, and what its sidecar says in /status and /metrics. */
async function finals(
  cluster: ChaosCluster,
): Promise<{ node: number; source: 'status' | 'metrics'; text: string }[]> {
  const served: { node: number; source: 'status' | 'metrics'; text: string }[] = [];
  for (let node = 0; node < cluster.size; node++) {
    const answer = await cluster
      .server(node)
      .request('GET', 'sys/seal-status', { timeoutMs: 2_000 })
      .catch(() => undefined);
    const sealed = (answer?.body as { sealed?: boolean } | undefined)?.sealed;
    const sidecar = cluster.sidecars[node];
    const statusText = sidecar
      ? await sidecar
          .get('/status')
          .then((r) => r.text)
          .catch(() => '')
      : '';
    const metricsText = sidecar
      ? await sidecar
          .get('/metrics')
          .then((r) => r.text)
          .catch(() => '')
      : '';
    served.push(
      { node, source: 'status', text: statusText },
      { node, source: 'metrics', text: metricsText },
    );
    const status = parseJson(statusText) as
      { state?: string; vault?: { sealed?: boolean | null } } | undefined;
    const metric = /^vault_autounseal_vault_sealed (\d+)/m.exec(metricsText)?.[1];
    cluster.recorder.emit({
      kind: 'final',
      node,
      server:
        answer?.status === 200
          ? { reachable: true, ...(sealed !== undefined ? { sealed } : {}) }
          : { reachable: false },
      ...(status
        ? {
            status: {
              ...(status.state ? { state: status.state } : {}),
              ...(status.vault ? { vault: { sealed: status.vault.sealed ?? null } } : {}),
            },
          }
        : {}),
      ...(metric !== undefined ? { sealedMetric: Number(metric) } : {}),
    });
  }
  return served;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The sidecars' JSON log lines printed during the episode, as trace events. */
function logEvents(cluster: ChaosCluster, from: number, to: number): TraceEvent[] {
  const events: TraceEvent[] = [];
  const outputs = cluster.sidecars.map((sidecar) => sidecar?.stdout() ?? '');
  outputs.forEach((text, node) => {
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      const parsed = parseJson(line) as { time?: number; level?: number; msg?: string } | undefined;
      if (!parsed || typeof parsed.time !== 'number' || parsed.time < from || parsed.time > to)
        continue;
      events.push({
        kind: 'log',
        t: parsed.time - from,
        node,
        level: parsed.level ?? 0,
        msg: String(parsed.msg ?? ''),
      });
    }
  });
  return events;
}

function episodeLines(text: string, from: number): string {
  return text
    .split('\n')
    .filter((line) => {
      const time = (parseJson(line) as { time?: number } | undefined)?.time;
      return typeof time === 'number' && time >= from;
    })
    .join('\n');
}

/** Replaces every form of every secret with a marker, for what is written to disk. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret) out = out.split(secret).join('[redacted]');
  }
  return out;
}
