// What each fault does to the cluster, step by step. Every step goes through ChaosCluster, which
// records it; the plan (plan.ts) already fixed every random choice, so a replay does the same.
import { sleep } from '../test/harness/ports.js';
import type { ChaosCluster } from './cluster.js';
import { THRESHOLD } from './cluster.js';
import type { PlannedFault } from './plan.js';

/**
 * How long a fault waits after flipping the pause switch or damaging the key files before it seals
 * the node: longer than the grace the invariants allow a sidecar to notice (limits.ts), so any
 * submission after the seal is judged against the new state.
 */
const SETTLED_SWITCH_MS = 1_000;

export async function runFault(cluster: ChaosCluster, fault: PlannedFault): Promise<void> {
  const { recorder } = cluster;
  let node = fault.target === 'leader' ? await cluster.leader() : fault.target;
  let detail = fault.target === 'leader' ? 'the leader' : '';
  if (node === undefined) {
    // No active node right now (another fault took quorum): pick the first node instead.
    node = 0;
    detail = 'no leader, so node 0';
  }
  const scope = fault.kind === 'rekey' ? -1 : node;
  recorder.emit({
    kind: 'fault',
    fault: fault.kind,
    phase: 'start',
    node: scope,
    ...(detail ? { detail } : {}),
  });
  const outcome = await steps(cluster, fault, node).catch(
    (error: Error) => `failed: ${error.message}`,
  );
  recorder.emit({
    kind: 'fault',
    fault: fault.kind,
    phase: 'end',
    node: scope,
    ...(outcome ? { detail: outcome } : {}),
  });
}

async function steps(cluster: ChaosCluster, fault: PlannedFault, node: number): Promise<string> {
  switch (fault.kind) {
    case 'server-kill':
      await cluster.killServer(node);
      await sleep(fault.holdMs);
      await cluster.startServer(node);
      return '';
    case 'server-freeze': {
      if (!(await cluster.freezeServer(node))) return 'the server was down';
      await sleep(fault.holdMs);
      await cluster.thawServer(node);
      return '';
    }
    case 'api-seal':
      return cluster.sealNode(node);
    case 'stranger-right':
    case 'stranger-wrong': {
      const how = await cluster.sealNode(node);
      await sleep(fault.holdMs);
      const pool =
        fault.kind === 'stranger-right' ? cluster.current.keysHex : cluster.foreignShares;
      // Shares from the far end of the list: the sidecar starts from the near end.
      const shares = pool.slice(-(fault.strangerShares ?? 1));
      const answers: number[] = [];
      for (const share of shares) {
        const answer = await cluster
          .server(node)
          .submitShare(share)
          .catch(() => ({ status: 0 }));
        answers.push(answer.status);
      }
      return `${how}; a stranger sent ${shares.length} share(s), answered ${answers.join(', ')}`;
    }
    case 'rekey':
      return rekey(cluster, fault, node);
    case 'keys-corrupt': {
      const damage = damaged(cluster, fault);
      cluster.writeKeys(node, damage.files, damage.previous);
      await sleep(SETTLED_SWITCH_MS);
      const how = await cluster.sealNode(node);
      await sleep(fault.holdMs);
      cluster.writeKeys(node, cluster.current.keysHex);
      return how;
    }
    case 'sidecar-kill': {
      const how = await cluster.sealNode(node);
      await sleep(Math.min(150, fault.holdMs / 4));
      await cluster.killSidecar(node);
      await sleep(fault.holdMs);
      await cluster.startSidecar(node);
      return how;
    }
    case 'pause-flip': {
      cluster.writePause(node, true);
      // Past the invariant's grace for a switch just flipped (limits.ts), then a reason to act.
      await sleep(SETTLED_SWITCH_MS);
      const how = await cluster.sealNode(node);
      await sleep(fault.holdMs);
      cluster.writePause(node, false);
      return how;
    }
  }
}

/** The damaged key files: the current directory's, and the previous directory's. */
function damaged(
  cluster: ChaosCluster,
  fault: PlannedFault,
): { files: string[]; previous: readonly string[] } {
  const files = [...cluster.current.keysHex];
  const previous = cluster.previousShares();
  switch (fault.damage ?? 'garbage-one') {
    case 'garbage-one':
      files[0] = 'this is not an unseal key\n';
      return { files, previous };
    case 'empty-one':
      files[0] = '';
      return { files, previous };
    case 'remove-one':
      return { files: files.slice(1), previous };
    case 'stale-one':
      files[0] = cluster.foreignShares[0] ?? '';
      return { files, previous };
    case 'remove-most':
      // Fewer shares than the threshold in all: the sidecar must not submit at all.
      return { files: files.slice(0, THRESHOLD - 1), previous: [] };
    case 'all-foreign':
      return { files: [...cluster.foreignShares], previous: [] };
  }
}

/**
 * Rekeys the cluster to a new share set, then rotates every node's key files before, during or
 * after the unseal round that sealing the target node forces. The rekey itself runs alone: a
 * crash that swallowed its answer would lose the new shares, and the cluster with them.
 */
async function rekey(cluster: ChaosCluster, fault: PlannedFault, node: number): Promise<string> {
  let release: () => void = () => undefined;
  const previous = cluster.rekeying;
  cluster.rekeying = new Promise<void>((resolve) => (release = resolve));
  await previous;
  try {
    const leader = await cluster.leader();
    if (leader === undefined) return 'no active node: not rekeyed';
    const old = cluster.current;
    const next = await cluster
      .server(leader)
      .rekey(old.rootToken, old.keysHex.slice(0, THRESHOLD), 5, THRESHOLD);
    cluster.generations.push({ ...next, rootToken: old.rootToken });
  } finally {
    release();
  }
  const rotateAll = (): void => {
    for (let n = 0; n < cluster.size; n++) cluster.writeKeys(n, cluster.current.keysHex);
  };
  // Until the rotation the files are as they were; what they hold is now one generation behind.
  for (let n = 0; n < cluster.size; n++) cluster.recordKeys(n);

  if (fault.rotation === 'before') {
    rotateAll();
    return `rotated before; ${await cluster.sealNode(node)}`;
  }
  const how = await cluster.sealNode(node);
  await sleep(fault.rotation === 'during' ? Math.min(200, fault.holdMs / 10) : fault.holdMs);
  rotateAll();
  return `rotated ${fault.rotation ?? 'after'}; ${how}`;
}
