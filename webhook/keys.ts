// Every Kubernetes key the webhook reads or writes. These are part of the user-facing contract
// (README.md, "The webhook"): users put them in manifests, so they change only deliberately.

export const PREFIX = 'vault-autounseal.io/';

/** Namespace label: `enabled` / `disabled`. */
export const NAMESPACE_INJECTION_LABEL = `${PREFIX}injection`;
/** Pod label or annotation: `"true"` / `"false"`. The label wins for selectors (Istio). */
export const INJECT_KEY = `${PREFIX}inject`;
/** Set on injected pods; its presence makes the webhook idempotent. */
export const STATUS_ANNOTATION = `${PREFIX}status`;
export const STATUS_INJECTED = 'injected';
/**
 * Pod label set on every injected pod, whatever the opt-in (pod label, pod annotation, namespace
 * label): one selector, `-l vault-autounseal.io/injected=true`, finds every pod a sidecar runs in
 * (the runbooks' pause-everything command). A label, not an annotation: selectors see labels only.
 */
export const INJECTED_LABEL = `${PREFIX}injected`;
export const INJECTED_VALUE = 'true';

export const KEYS_SECRET_ANNOTATION = `${PREFIX}keys-secret`;
export const VAULT_CONTAINER_ANNOTATION = `${PREFIX}vault-container`;
export const NATIVE_SIDECAR_ANNOTATION = `${PREFIX}native-sidecar`;
export const INTERVAL_ANNOTATION = `${PREFIX}interval`;
export const LOG_LEVEL_ANNOTATION = `${PREFIX}log-level`;
/**
 * `"true"`: the pod accepts that its other containers share a process namespace with the sidecar
 * (`shareProcessNamespace: true`), which the webhook otherwise refuses (webhook/sidecar-spec.ts).
 */
export const ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION = `${PREFIX}allow-share-process-namespace`;
/** Read live by the sidecar from the downward-API file; the webhook only passes it through. */
export const PAUSED_ANNOTATION = `${PREFIX}paused`;

export const SIDECAR_CONTAINER_NAME = 'vault-autounseal';
/** Every volume the webhook adds starts with this, so it cannot collide with the chart's own. */
export const VOLUME_PREFIX = 'vault-autounseal-';
