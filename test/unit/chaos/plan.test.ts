import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, describePlan, planEpisode } from '../../../chaos/plan.js';
import { episodeSeed, seededRandom } from '../../../chaos/random.js';

describe('the plan of an episode', () => {
  it('is the same for the same seed and episode: a failed episode replays alone', () => {
    expect(planEpisode(42, 17, 3)).toEqual(planEpisode(42, 17, 3));
    expect(describePlan(planEpisode(42, 17, 3))).toBe(describePlan(planEpisode(42, 17, 3)));
  });

  it('differs between episodes and between seeds', () => {
    const plans = new Set<string>();
    for (let episode = 0; episode < 50; episode++)
      plans.add(JSON.stringify(planEpisode(1, episode, 3).faults));
    expect(plans.size).toBeGreaterThan(45);
    expect(planEpisode(1, 0, 3).faults).not.toEqual(planEpisode(2, 0, 3).faults);
  });

  it('draws every fault kind, and two or more faults at once, over a short profile of episodes', () => {
    const kinds = new Set<string>();
    let overlapping = 0;
    for (let episode = 0; episode < 60; episode++) {
      const plan = planEpisode(20261129, episode, 3);
      for (const fault of plan.faults) kinds.add(fault.kind);
      if (plan.faults.length > 1) overlapping += 1;
    }
    expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
    expect(overlapping).toBeGreaterThan(10);
  });

  it('keeps every fault on a node that exists, in time order, with the details its kind needs', () => {
    for (let episode = 0; episode < 200; episode++) {
      const plan = planEpisode(9, episode, 5);
      expect(plan.faults.length).toBeGreaterThanOrEqual(1);
      expect(plan.faults.length).toBeLessThanOrEqual(3);
      const starts = plan.faults.map((f) => f.atMs);
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
      for (const fault of plan.faults) {
        if (fault.target !== 'leader') {
          expect(fault.target).toBeGreaterThanOrEqual(0);
          expect(fault.target).toBeLessThan(5);
        }
        expect(fault.holdMs).toBeGreaterThanOrEqual(0);
        if (fault.kind === 'api-seal') expect(fault.target).toBe('leader');
        if (fault.kind.startsWith('stranger')) expect([1, 2]).toContain(fault.strangerShares);
        if (fault.kind === 'rekey') expect(['before', 'during', 'after']).toContain(fault.rotation);
        if (fault.kind === 'keys-corrupt') expect(fault.damage).toBeDefined();
      }
    }
  });
});

describe('the seeded random source', () => {
  it('repeats for a seed, and stays within the bounds asked', () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    for (let i = 0; i < 100; i++) {
      const x = a.int(3, 7);
      expect(x).toBe(b.int(3, 7));
      expect(x).toBeGreaterThanOrEqual(3);
      expect(x).toBeLessThanOrEqual(7);
    }
    expect(() => a.pick([])).toThrow(/empty/);
  });

  it('gives each episode its own seed', () => {
    const seeds = new Set(Array.from({ length: 1000 }, (_, k) => episodeSeed(123, k)));
    expect(seeds.size).toBe(1000);
  });
});
