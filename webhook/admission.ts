// AdmissionReview v1 in, response out. Pure: the HTTP server (server.ts) only parses JSON, calls
// `reviewAdmission` and writes what it returns.
//
// The response contract: echo `request.uid`; send `patch` and `patchType: JSONPatch` together or
// not at all; deny with `status.message` (not `result`); keep each warning ≤ 120 characters
// (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response).
// Only pods on CREATE are mutated. `dryRun` gets the very same answer: nothing here has side
// effects.
import { buildPatch } from './patch.js';
import { podDisplayName, readPod, isObject, type JsonObject, type PodView } from './pod.js';
import { buildSidecarSpec, type SidecarDefaults } from './sidecar-spec.js';
import { boundWarnings, clip } from './bounded-text.js';
import {
  INJECT_KEY,
  NAMESPACE_INJECTION_LABEL,
  SIDECAR_CONTAINER_NAME,
  STATUS_ANNOTATION,
} from './keys.js';
import {
  hasStaleStatus,
  shouldInject,
  type NamespaceInjection,
  type SkipReason,
} from './should-inject.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type AdmissionResultLabel = 'injected' | 'skipped' | 'denied' | 'error';

export interface AdmissionOutcome {
  readonly result: AdmissionResultLabel;
  /** Low-cardinality reason, used as a metric label. */
  readonly reason: string;
}

export interface AdmissionResponseBody {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly patchType?: 'JSONPatch';
    readonly patch?: string;
    readonly warnings?: readonly string[];
    readonly status?: { readonly code: number; readonly message: string };
  };
}

export interface AdmissionContext {
  readonly ownNamespace: string;
  readonly namespaceInjection: NamespaceInjection;
  readonly sidecar: SidecarDefaults;
}

/** Fields for the one log line per admission: no secrets, no pod spec. */
export interface AdmissionLogFields {
  readonly uid: string;
  readonly namespace: string;
  readonly pod: string;
  readonly operation: string;
  readonly dryRun: boolean;
}

export type AdmissionResult =
  | { readonly kind: 'invalid'; readonly httpStatus: 400; readonly message: string }
  | {
      readonly kind: 'answer';
      readonly body: AdmissionResponseBody;
      readonly outcome: AdmissionOutcome;
      readonly log: AdmissionLogFields;
      /** The denial message or the warnings, for the log line. */
      readonly detail: string | undefined;
    };

interface ValidRequest {
  readonly uid: string;
  readonly request: JsonObject;
}

function validate(body: unknown): ValidRequest | string {
  if (!isObject(body)) return 'the body must be a JSON object (an AdmissionReview)';
  if (body['apiVersion'] !== ADMISSION_API_VERSION || body['kind'] !== 'AdmissionReview') {
    return `the body must be an AdmissionReview of apiVersion ${ADMISSION_API_VERSION}`;
  }
  const request = body['request'];
  if (!isObject(request)) return 'request must be an object';
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid.length === 0) return 'request.uid must be a non-empty string';
  return { uid, request };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function isPodCreate(request: JsonObject): { pod: boolean; create: boolean } {
  const kind = isObject(request['kind']) ? request['kind'] : {};
  const pod =
    kind['kind'] === 'Pod' && text(kind['group']) === '' && text(request['subResource']) === '';
  return { pod, create: request['operation'] === 'CREATE' };
}

function allow(
  uid: string,
  extra: Partial<AdmissionResponseBody['response']> = {},
): AdmissionResponseBody {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    response: { uid, allowed: true, ...extra },
  };
}

function denyBody(uid: string, code: number, message: string): AdmissionResponseBody {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    response: { uid, allowed: false, status: { code, message: `vault-autounseal: ${message}` } },
  };
}

/**
 * A skip the pod's owner would not expect gets a warning saying why (kubectl prints it): the pod
 * asked for the sidecar but sits in a namespace that never gets one, e.g. the webhook's own.
 * Pods that never asked get none: behind the catch-all entry that would be every pod.
 */
function skipWarning(
  pod: PodView,
  reason: SkipReason,
  context: AdmissionContext,
): string | undefined {
  // Only decided for pods that would otherwise be injected: always worth saying.
  if (reason === 'container-exists') {
    return `vault-autounseal: sidecar not injected: the pod already has a container named ${SIDECAR_CONTAINER_NAME}`;
  }
  const asked = pod.labels[INJECT_KEY] === 'true' || pod.annotations[INJECT_KEY] === 'true';
  if (!asked || reason === 'already-injected') return undefined;
  const why: Partial<Record<SkipReason, string>> = {
    'protected-namespace':
      pod.namespace === context.ownNamespace
        ? "it is the webhook's own namespace"
        : `namespace ${pod.namespace} is never injected`,
    'namespace-disabled': `its namespace has ${NAMESPACE_INJECTION_LABEL}=disabled`,
    'pod-opt-out': `${INJECT_KEY} is "false" on the pod`,
  };
  const text = why[reason];
  return text === undefined
    ? undefined
    : `vault-autounseal: sidecar not injected: ${text}`.slice(0, 120);
}

type Decided = Omit<Extract<AdmissionResult, { kind: 'answer' }>, 'kind' | 'log'>;

function decidePod(uid: string, request: JsonObject, context: AdmissionContext): Decided | string {
  const pod = readPod(request['object'], text(request['namespace']));
  if (!pod) return 'request.object must be a Pod with a spec';
  const decision = shouldInject(pod, {
    ownNamespace: context.ownNamespace,
    namespaceInjection: context.namespaceInjection,
  });
  if (decision.kind === 'skip') {
    const warning = skipWarning(pod, decision.reason, context);
    return {
      body: allow(uid, warning === undefined ? {} : { warnings: [warning] }),
      outcome: { result: 'skipped', reason: decision.reason },
      detail: warning,
    };
  }
  if (decision.kind === 'deny') {
    return {
      body: denyBody(uid, 400, decision.message),
      outcome: { result: 'denied', reason: decision.reason },
      detail: decision.message,
    };
  }
  const built = buildSidecarSpec(pod, context.sidecar);
  if (!built.ok) {
    return {
      body: denyBody(uid, 400, built.message),
      outcome: { result: 'denied', reason: built.reason },
      detail: built.message,
    };
  }
  const patch = Buffer.from(JSON.stringify(buildPatch(pod, built.spec))).toString('base64');
  const stale = hasStaleStatus(pod)
    ? [`${STATUS_ANNOTATION} was "injected" without the sidecar container: injected now`]
    : [];
  // kubectl prints each as "Warning: ...": say whose it is, as the skip warnings and denials do.
  const warnings = boundWarnings(
    [...stale, ...built.spec.warnings].map((w) => `vault-autounseal: ${w}`),
  );
  return {
    body: allow(uid, {
      patchType: 'JSONPatch',
      patch,
      ...(warnings.length > 0 ? { warnings } : {}),
    }),
    outcome: { result: 'injected', reason: decision.reason },
    detail: warnings.length > 0 ? warnings.join('; ') : undefined,
  };
}

function logFields(uid: string, request: JsonObject): AdmissionLogFields {
  const object = isObject(request['object']) ? request['object'] : {};
  const metadata = isObject(object['metadata']) ? object['metadata'] : {};
  return {
    uid,
    namespace: text(request['namespace']),
    pod: podDisplayName({
      name: text(request['name']) || text(metadata['name']),
      generateName: text(metadata['generateName']),
    }),
    operation: text(request['operation']),
    dryRun: request['dryRun'] === true,
  };
}

/**
 * Turns a parsed request body into the answer. A body that is not an AdmissionReview v1 with a
 * uid is `invalid` (HTTP 400). Anything that throws while deciding is a bug, and becomes a denial
 * that says so: the StatefulSet controller retries, and no pod is quietly created without its
 * sidecar.
 */
export function reviewAdmission(body: unknown, context: AdmissionContext): AdmissionResult {
  const valid = validate(body);
  if (typeof valid === 'string') return { kind: 'invalid', httpStatus: 400, message: valid };
  const { uid, request } = valid;
  const log = logFields(uid, request);
  const target = isPodCreate(request);
  if (!target.pod || !target.create) {
    const reason = target.pod ? 'not-create' : 'not-a-pod';
    return {
      kind: 'answer',
      body: allow(uid),
      outcome: { result: 'skipped', reason },
      log,
      detail: undefined,
    };
  }
  let decided: Decided | string;
  try {
    decided = decidePod(uid, request, context);
  } catch (error: unknown) {
    const why = clip(error instanceof Error ? error.message : String(error), 200);
    const message = `internal error while building the patch (${why}); retry or report it`;
    return {
      kind: 'answer',
      body: denyBody(uid, 500, message),
      outcome: { result: 'error', reason: 'internal-error' },
      log,
      detail: message,
    };
  }
  if (typeof decided === 'string') return { kind: 'invalid', httpStatus: 400, message: decided };
  return { kind: 'answer', log, ...decided };
}
