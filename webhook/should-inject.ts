// Decision 1 of 3: inject or not, and why. Pure: plain data in, a plain value out.
//
// The precedence is Istio's (docs/adr/0002-namespace-opt-in.md says how namespaces reach it):
//   1. kube-system, kube-public and the webhook's own namespace: never;
//   2. namespace label `disabled`, or pod label/annotation `inject: "false"`: never;
//   3. pod label/annotation `inject: "true"`: inject;
//   4. namespace label `enabled`: inject;
//   5. otherwise: never.
// A value that is none of these is denied, naming the key and what it accepts: a typo must not
// silently leave Vault sealed.
import {
  INJECT_KEY,
  NAMESPACE_INJECTION_LABEL,
  SIDECAR_CONTAINER_NAME,
  STATUS_ANNOTATION,
  STATUS_INJECTED,
} from './keys.js';
import type { PodView } from './pod.js';

/**
 * What the webhook knows about the namespace label. AdmissionReviews carry no namespace labels:
 * the webhook entry the request arrived through tells (docs/adr/0002-namespace-opt-in.md).
 * `invalid` means the label exists with a value other than `enabled` / `disabled`.
 */
export type NamespaceInjection = 'enabled' | 'disabled' | 'invalid' | 'absent';

export const PROTECTED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public'];

export interface InjectionPolicy {
  /** The webhook's own namespace: injecting there could deadlock its own pods (vault-helm#609). */
  readonly ownNamespace: string;
  readonly namespaceInjection: NamespaceInjection;
}

export type InjectReason = 'pod-label' | 'pod-annotation' | 'namespace-label';
export type SkipReason =
  | 'protected-namespace'
  | 'already-injected'
  | 'container-exists'
  | 'namespace-disabled'
  | 'pod-opt-out'
  | 'not-opted-in';

export type InjectionDecision =
  | { readonly kind: 'inject'; readonly reason: InjectReason }
  | { readonly kind: 'skip'; readonly reason: SkipReason }
  | { readonly kind: 'deny'; readonly reason: 'invalid-opt-in'; readonly message: string };

type PodFacts = Pick<
  PodView,
  'namespace' | 'labels' | 'annotations' | 'containers' | 'initContainers'
>;

// Exactly these strings: label selectors match exactly, so accepting `True` here would make a pod
// that the `In [true]` selector never sends us behave differently from one it does.
const POD_VALUES = ['true', 'false'] as const;
const NAMESPACE_VALUES = ['enabled', 'disabled'] as const;

function quoted(value: string): string {
  return JSON.stringify(value.length > 63 ? `${value.slice(0, 60)}...` : value);
}

function invalidValues(pod: PodFacts, policy: InjectionPolicy): string[] {
  const problems: string[] = [];
  if (policy.namespaceInjection === 'invalid') {
    problems.push(
      `namespace ${pod.namespace.slice(0, 63)} label ${NAMESPACE_INJECTION_LABEL} must be "enabled" or "disabled"`,
    );
  }
  const label = pod.labels[INJECT_KEY];
  if (label !== undefined && !(POD_VALUES as readonly string[]).includes(label)) {
    problems.push(
      `pod label ${INJECT_KEY} is ${quoted(label)}; accepted values: "true" or "false"`,
    );
  }
  const annotation = pod.annotations[INJECT_KEY];
  if (annotation !== undefined && !(POD_VALUES as readonly string[]).includes(annotation)) {
    problems.push(
      `pod annotation ${INJECT_KEY} is ${quoted(annotation)}; accepted values: "true" or "false"`,
    );
  }
  return problems;
}

export function hasSidecarContainer(pod: Pick<PodFacts, 'containers' | 'initContainers'>): boolean {
  return [...pod.containers, ...pod.initContainers].some((c) => c.name === SIDECAR_CONTAINER_NAME);
}

/** The status annotation says injected, yet the container is missing. */
export function hasStaleStatus(
  pod: Pick<PodFacts, 'annotations' | 'containers' | 'initContainers'>,
): boolean {
  return pod.annotations[STATUS_ANNOTATION] === STATUS_INJECTED && !hasSidecarContainer(pod);
}

/**
 * Idempotency rests on both marks together, as our patch sets them together. Either one alone is
 * not our doing, and is decided after the opt-in, so an opted-in pod is never skipped silently:
 * - the status annotation without the container (a manifest exported from an injected pod, the
 *   container then removed): the pod asked for the sidecar and has none, so it is injected; the
 *   caller warns that the annotation was stale;
 * - a container named like ours without the annotation (the sidecar added by hand, or a container
 *   that happens to have the name): never touched, since `add` cannot append a second container
 *   of that name and replacing the user's would lose it; skipped with a warning that says so.
 */
export function shouldInject(pod: PodFacts, policy: InjectionPolicy): InjectionDecision {
  if (PROTECTED_NAMESPACES.includes(pod.namespace) || pod.namespace === policy.ownNamespace) {
    return { kind: 'skip', reason: 'protected-namespace' };
  }
  const container = hasSidecarContainer(pod);
  if (container && pod.annotations[STATUS_ANNOTATION] === STATUS_INJECTED) {
    return { kind: 'skip', reason: 'already-injected' };
  }
  const problems = invalidValues(pod, policy);
  if (problems.length > 0) {
    return { kind: 'deny', reason: 'invalid-opt-in', message: problems.join('; ') };
  }
  const decision = precedence(pod, policy.namespaceInjection);
  if (decision.kind === 'inject' && container) return { kind: 'skip', reason: 'container-exists' };
  return decision;
}

/** Rules 2 to 5, once every value is known to be valid. */
function precedence(pod: PodFacts, namespace: NamespaceInjection): InjectionDecision {
  const label = pod.labels[INJECT_KEY];
  const annotation = pod.annotations[INJECT_KEY];
  if (namespace === 'disabled') return { kind: 'skip', reason: 'namespace-disabled' };
  if (label === 'false' || annotation === 'false') return { kind: 'skip', reason: 'pod-opt-out' };
  if (label === 'true') return { kind: 'inject', reason: 'pod-label' };
  if (annotation === 'true') return { kind: 'inject', reason: 'pod-annotation' };
  if (namespace === 'enabled') return { kind: 'inject', reason: 'namespace-label' };
  return { kind: 'skip', reason: 'not-opted-in' };
}

/** The values accepted for the namespace label, for docs and messages. */
export const ACCEPTED_NAMESPACE_VALUES: readonly string[] = NAMESPACE_VALUES;
