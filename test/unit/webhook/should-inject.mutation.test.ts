// Rules of the injection decision that the mutation run (docs/mutation.md) showed no test held:
// each test here failed against at least one surviving mutant of webhook/should-inject.ts.
import { describe, expect, it } from 'vitest';
import type { ContainerView, PodView } from '../../../webhook/pod.js';
import { hasStaleStatus, shouldInject } from '../../../webhook/should-inject.js';

type PodFacts = Pick<
  PodView,
  'namespace' | 'labels' | 'annotations' | 'containers' | 'initContainers'
>;

const container = (name: string): ContainerView => ({
  name,
  env: [],
  envFrom: [],
  volumeMounts: [],
  ports: [],
});

const pod = (overrides: Partial<PodFacts> = {}): PodFacts => ({
  namespace: 'vault',
  labels: {},
  annotations: {},
  containers: [container('vault')],
  initContainers: [],
  ...overrides,
});

const POLICY = { ownNamespace: 'vault-autounseal-system', namespaceInjection: 'absent' } as const;
const INJECT = 'vault-autounseal.io/inject';
const STATUS = 'vault-autounseal.io/status';

describe('the denial of an invalid opt-in value', () => {
  it('clips a long value, so the message stays short', () => {
    const decision = shouldInject(pod({ labels: { [INJECT]: 'x'.repeat(100) } }), POLICY);
    expect(decision).toEqual({
      kind: 'deny',
      reason: 'invalid-opt-in',
      message: `pod label ${INJECT} is "${'x'.repeat(60)}..."; accepted values: "true" or "false"`,
    });
  });

  it('shows a value of 63 characters (a label value at most) whole', () => {
    const value = 'y'.repeat(63);
    const decision = shouldInject(pod({ annotations: { [INJECT]: value } }), POLICY);
    expect(decision).toMatchObject({ kind: 'deny' });
    expect(decision.kind === 'deny' && decision.message).toContain(`"${value}"`);
  });

  it('names every invalid value, separated by "; "', () => {
    const decision = shouldInject(
      pod({ labels: { [INJECT]: 'yes' }, annotations: { [INJECT]: 'True' } }),
      { ...POLICY, namespaceInjection: 'invalid' },
    );
    expect(decision.kind === 'deny' && decision.message).toBe(
      [
        'namespace vault label vault-autounseal.io/injection must be "enabled" or "disabled"',
        `pod label ${INJECT} is "yes"; accepted values: "true" or "false"`,
        `pod annotation ${INJECT} is "True"; accepted values: "true" or "false"`,
      ].join('; '),
    );
  });
});

describe('hasStaleStatus: the status annotation says injected, yet our container is missing', () => {
  it.each([
    // Exported from an injected pod, the sidecar then removed: stale (the caller warns).
    ['the annotation without the container', { [STATUS]: 'injected' }, [], [], true],
    // Both marks: a real injection, not stale.
    ['both, as a container', { [STATUS]: 'injected' }, ['vault-autounseal'], [], false],
    ['both, as a native sidecar', { [STATUS]: 'injected' }, [], ['vault-autounseal'], false],
    // No annotation at all: nothing to be stale.
    ['neither', {}, [], [], false],
    // Some other value is not our mark.
    ['another value', { [STATUS]: 'pending' }, [], [], false],
  ])('%s → %s', (_name, annotations, containers, initContainers, stale) => {
    const facts = pod({
      annotations,
      containers: ['vault', ...containers].map(container),
      initContainers: initContainers.map(container),
    });
    expect(hasStaleStatus(facts)).toBe(stale);
  });
});
