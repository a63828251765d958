// The precedence rules of the contract ("When to inject": Istio's precedence), row by row.
import { describe, expect, it } from 'vitest';
import {
  shouldInject,
  type InjectionDecision,
  type NamespaceInjection,
} from '../../../webhook/should-inject.js';
import type { ContainerView, PodView } from '../../../webhook/pod.js';

const OWN = 'vault-autounseal-system';

function container(name: string): ContainerView {
  return { name, env: [], envFrom: [], volumeMounts: [], ports: [] };
}

function pod(
  options: {
    namespace?: string;
    label?: string;
    annotation?: string;
    annotations?: Record<string, string>;
    containers?: string[];
    initContainers?: string[];
  } = {},
): Pick<PodView, 'namespace' | 'labels' | 'annotations' | 'containers' | 'initContainers'> {
  return {
    namespace: options.namespace ?? 'vault',
    labels: options.label === undefined ? {} : { 'vault-autounseal.io/inject': options.label },
    annotations: {
      ...(options.annotation === undefined
        ? {}
        : { 'vault-autounseal.io/inject': options.annotation }),
      ...options.annotations,
    },
    containers: (options.containers ?? ['vault']).map(container),
    initContainers: (options.initContainers ?? []).map(container),
  };
}

function decide(
  namespaceInjection: NamespaceInjection,
  options: Parameters<typeof pod>[0] = {},
): InjectionDecision {
  return shouldInject(pod(options), { ownNamespace: OWN, namespaceInjection });
}

describe('shouldInject', () => {
  describe('the precedence table', () => {
    it.each<{
      rule: string;
      ns: NamespaceInjection;
      pod: Parameters<typeof pod>[0];
      expected: InjectionDecision;
    }>([
      // Rule 1: kube-system, kube-public and the webhook's own namespace never get a sidecar,
      // whatever the pod or the namespace say.
      {
        rule: '1 kube-system',
        ns: 'enabled',
        pod: { namespace: 'kube-system', label: 'true' },
        expected: { kind: 'skip', reason: 'protected-namespace' },
      },
      {
        rule: '1 kube-public',
        ns: 'enabled',
        pod: { namespace: 'kube-public', annotation: 'true' },
        expected: { kind: 'skip', reason: 'protected-namespace' },
      },
      {
        rule: '1 own namespace',
        ns: 'enabled',
        pod: { namespace: OWN, label: 'true' },
        expected: { kind: 'skip', reason: 'protected-namespace' },
      },
      // Rule 1 comes before validation: a typo in kube-system is not our business.
      {
        rule: '1 before invalid values',
        ns: 'absent',
        pod: { namespace: 'kube-system', label: 'yes' },
        expected: { kind: 'skip', reason: 'protected-namespace' },
      },
      // Rule 2: the namespace label `disabled` wins over a pod that opts in.
      {
        rule: '2 namespace disabled beats pod label true',
        ns: 'disabled',
        pod: { label: 'true' },
        expected: { kind: 'skip', reason: 'namespace-disabled' },
      },
      {
        rule: '2 namespace disabled beats pod annotation true',
        ns: 'disabled',
        pod: { annotation: 'true' },
        expected: { kind: 'skip', reason: 'namespace-disabled' },
      },
      // Rule 2: the pod label or annotation `false` wins over an enabled namespace.
      {
        rule: '2 pod label false beats namespace enabled',
        ns: 'enabled',
        pod: { label: 'false' },
        expected: { kind: 'skip', reason: 'pod-opt-out' },
      },
      {
        rule: '2 pod annotation false beats namespace enabled',
        ns: 'enabled',
        pod: { annotation: 'false' },
        expected: { kind: 'skip', reason: 'pod-opt-out' },
      },
      // Rule 2 before rule 3: `false` on either pod key beats `true` on the other.
      {
        rule: '2 label true, annotation false',
        ns: 'absent',
        pod: { label: 'true', annotation: 'false' },
        expected: { kind: 'skip', reason: 'pod-opt-out' },
      },
      {
        rule: '2 label false, annotation true',
        ns: 'absent',
        pod: { label: 'false', annotation: 'true' },
        expected: { kind: 'skip', reason: 'pod-opt-out' },
      },
      // Rule 3: the pod opts in, by label or by annotation, in a namespace without the label.
      {
        rule: '3 pod label true',
        ns: 'absent',
        pod: { label: 'true' },
        expected: { kind: 'inject', reason: 'pod-label' },
      },
      {
        rule: '3 pod annotation true',
        ns: 'absent',
        pod: { annotation: 'true' },
        expected: { kind: 'inject', reason: 'pod-annotation' },
      },
      {
        rule: '3 both true: the label is the reason',
        ns: 'absent',
        pod: { label: 'true', annotation: 'true' },
        expected: { kind: 'inject', reason: 'pod-label' },
      },
      // Rule 3 is checked before rule 4: the reason says the pod asked.
      {
        rule: '3 pod label true in an enabled namespace',
        ns: 'enabled',
        pod: { label: 'true' },
        expected: { kind: 'inject', reason: 'pod-label' },
      },
      // Rule 4: the namespace opts in and the pod says nothing.
      {
        rule: '4 namespace enabled',
        ns: 'enabled',
        pod: {},
        expected: { kind: 'inject', reason: 'namespace-label' },
      },
      // Rule 5: nobody asked.
      {
        rule: '5 nothing set',
        ns: 'absent',
        pod: {},
        expected: { kind: 'skip', reason: 'not-opted-in' },
      },
      {
        rule: '5 other annotations only',
        ns: 'absent',
        pod: { annotations: { 'prometheus.io/scrape': 'true' } },
        expected: { kind: 'skip', reason: 'not-opted-in' },
      },
    ])('rule $rule', ({ ns, pod: options, expected }) => {
      expect(decide(ns, options)).toEqual(expected);
    });
  });

  it("agrees with Istio's rule on every combination of valid values", () => {
    const nsValues: NamespaceInjection[] = ['absent', 'enabled', 'disabled'];
    const podValues = [undefined, 'true', 'false'];
    for (const ns of nsValues) {
      for (const label of podValues) {
        for (const annotation of podValues) {
          const options = {
            ...(label === undefined ? {} : { label }),
            ...(annotation === undefined ? {} : { annotation }),
          };
          const disabled = ns === 'disabled' || label === 'false' || annotation === 'false';
          const enabled = ns === 'enabled' || label === 'true' || annotation === 'true';
          const expected = !disabled && enabled;
          expect(decide(ns, options).kind, JSON.stringify({ ns, label, annotation })).toBe(
            expected ? 'inject' : 'skip',
          );
        }
      }
    }
  });

  describe('an invalid opt-in value', () => {
    it.each([
      // Values people actually write; only "true" and "false" match the label selectors.
      ['label', 'yes'],
      ['label', 'True'],
      ['label', 'enabled'],
      ['annotation', 'enable'],
      ['annotation', '1'],
      ['annotation', ''],
    ])(
      'is denied when the pod %s is %j, naming the key and the accepted values',
      (where, value) => {
        const decision = decide(
          'absent',
          where === 'label' ? { label: value } : { annotation: value },
        );
        expect(decision).toMatchObject({ kind: 'deny', reason: 'invalid-opt-in' });
        const message = decision.kind === 'deny' ? decision.message : '';
        expect(message).toContain(`pod ${where} vault-autounseal.io/inject`);
        expect(message).toContain(JSON.stringify(value));
        expect(message).toContain('accepted values: "true" or "false"');
      },
    );

    it('is denied even when the other key opts out: the typo must be fixed', () => {
      expect(decide('absent', { label: 'false', annotation: 'yes' })).toMatchObject({
        kind: 'deny',
      });
    });

    it('is denied for a namespace whose label is neither enabled nor disabled', () => {
      const decision = decide('invalid', {});
      expect(decision).toMatchObject({ kind: 'deny', reason: 'invalid-opt-in' });
      expect(decision.kind === 'deny' && decision.message).toContain(
        'namespace vault label vault-autounseal.io/injection must be "enabled" or "disabled"',
      );
    });

    it('names every bad key at once', () => {
      const decision = decide('invalid', { label: 'on', annotation: 'off' });
      const message = decision.kind === 'deny' ? decision.message : '';
      expect(message).toContain('namespace vault label');
      expect(message).toContain('pod label');
      expect(message).toContain('pod annotation');
    });
  });

  describe('a pod that already has the sidecar', () => {
    const injected = { 'vault-autounseal.io/status': 'injected' };
    it.each([
      [
        'the container as a native sidecar',
        { label: 'true', annotations: injected, initContainers: ['vault-autounseal'] },
      ],
      [
        'the container as a regular container',
        { label: 'true', annotations: injected, containers: ['vault', 'vault-autounseal'] },
      ],
    ])('is skipped when it has the status annotation and %s', (_what, options) => {
      expect(decide('enabled', options)).toEqual({ kind: 'skip', reason: 'already-injected' });
    });
  });

  describe('a pod with only one of the two marks of an injection', () => {
    it('is injected when the status annotation says injected but the container is missing', () => {
      const options = { label: 'true', annotations: { 'vault-autounseal.io/status': 'injected' } };
      expect(decide('absent', options)).toEqual({ kind: 'inject', reason: 'pod-label' });
    });

    it.each<[string, NamespaceInjection, Parameters<typeof pod>[0]]>([
      // A container of that name, and no status annotation: not ours, never replaced.
      ['opted in by label', 'absent', { label: 'true', containers: ['vault', 'vault-autounseal'] }],
      ['opted in by namespace', 'enabled', { initContainers: ['vault-autounseal'] }],
    ])('is skipped as container-exists when %s', (_what, ns, options) => {
      expect(decide(ns, options)).toEqual({ kind: 'skip', reason: 'container-exists' });
    });

    it('is not opted in, whatever its container is called, when nothing opts it in', () => {
      expect(decide('absent', { containers: ['vault-autounseal'] })).toEqual({
        kind: 'skip',
        reason: 'not-opted-in',
      });
    });
  });
});
