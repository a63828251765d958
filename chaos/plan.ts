// The plan of one episode: which faults, on which node, when and for how long. Pure: the same seed
// and episode number always give the same plan, which is what makes a failed episode replayable.
import type { FaultKind } from './trace.js';
import { episodeSeed, seededRandom, type Random } from './random.js';

export const FAULT_KINDS: readonly FaultKind[] = [
  'server-kill',
  'server-freeze',
  'api-seal',
  'stranger-right',
  'stranger-wrong',
  'rekey',
  'keys-corrupt',
  'sidecar-kill',
  'pause-flip',
];

/** How a keys-corrupt fault breaks the files before it restores them. */
export type KeysDamage =
  | 'garbage-one' // one file's content replaced by text that is not a share
  | 'empty-one' // one file emptied
  | 'remove-one' // one file removed
  | 'stale-one' // one file replaced by a share of another cluster (search for a working subset)
  | 'remove-most' // all but t−1 files removed: fewer shares than the threshold
  | 'all-foreign'; // every file replaced by shares of another cluster: the key set is wrong

export const KEYS_DAMAGES: readonly KeysDamage[] = [
  'garbage-one',
  'empty-one',
  'remove-one',
  'stale-one',
  'remove-most',
  'all-foreign',
];

/** When a rekey's new shares reach the key files, relative to the unseal round it forces. */
export type RotationTiming = 'before' | 'during' | 'after';

export interface PlannedFault {
  readonly kind: FaultKind;
  /** Start, in ms after the episode began. */
  readonly atMs: number;
  /** The node, or 'leader': whichever node is active when the fault starts. */
  readonly target: number | 'leader';
  /** How long the disturbance lasts: downtime, freeze, pause, damage, the wait before rotation. */
  readonly holdMs: number;
  /** stranger-*: how many shares the stranger submits. */
  readonly strangerShares?: 1 | 2;
  readonly damage?: KeysDamage;
  readonly rotation?: RotationTiming;
}

export interface EpisodePlan {
  readonly seed: number;
  readonly episode: number;
  readonly nodes: number;
  readonly faults: readonly PlannedFault[];
}

export function planEpisode(seed: number, episode: number, nodes: number): EpisodePlan {
  const random = seededRandom(episodeSeed(seed, episode));
  const roll = random.next();
  const count = roll < 0.5 ? 1 : roll < 0.85 ? 2 : 3;
  const faults: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    // The first fault starts at once; the others land on top of it, often while it still holds.
    faults.push(
      planFault(
        random,
        random.pick(FAULT_KINDS),
        i === 0 ? random.int(0, 500) : random.int(0, 5_000),
        nodes,
      ),
    );
  }
  faults.sort((a, b) => a.atMs - b.atMs);
  return { seed, episode, nodes, faults };
}

export function planFault(
  random: Random,
  kind: FaultKind,
  atMs: number,
  nodes: number,
): PlannedFault {
  const target = random.chance(0.4) ? 'leader' : random.int(0, nodes - 1);
  switch (kind) {
    case 'server-kill':
      return { kind, atMs, target, holdMs: random.int(0, 2_000) };
    case 'server-freeze':
      return { kind, atMs, target, holdMs: random.int(1_000, 4_000) };
    case 'api-seal':
      return { kind, atMs, target: 'leader', holdMs: 0 };
    case 'stranger-right':
    case 'stranger-wrong':
      return {
        kind,
        atMs,
        target,
        holdMs: random.int(0, 300),
        strangerShares: random.pick([1, 2] as const),
      };
    case 'rekey':
      return {
        kind,
        atMs,
        target,
        holdMs: random.int(500, 3_000),
        rotation: random.pick(['before', 'during', 'after'] as const),
      };
    case 'keys-corrupt':
      return {
        kind,
        atMs,
        target,
        holdMs: random.int(1_500, 4_000),
        damage: random.pick(KEYS_DAMAGES),
      };
    case 'sidecar-kill':
      return { kind, atMs, target, holdMs: random.int(300, 2_000) };
    case 'pause-flip':
      return { kind, atMs, target, holdMs: random.int(1_500, 4_000) };
  }
}

/** One line per fault, for the log and the trace. */
export function describePlan(plan: EpisodePlan): string {
  return plan.faults
    .map((f) => {
      const extra = [
        f.strangerShares ? `${f.strangerShares} share(s)` : '',
        f.damage ?? '',
        f.rotation ? `rotation ${f.rotation}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      return `${f.kind} on ${f.target === 'leader' ? 'the leader' : `node ${f.target}`} at ${f.atMs} ms, holding ${f.holdMs} ms${extra ? ` (${extra})` : ''}`;
    })
    .join('; ');
}
