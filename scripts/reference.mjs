// docs/reference.md, generated from the code's own definitions: `npm run docs:reference`.
//
//   sidecar settings   sidecar/config.ts (SETTINGS, through sidecarHelp) and common/sidecar-durations.ts
//   webhook settings   webhook/config.ts (SETTING_DOCS, WEBHOOK_DURATION_RANGES)
//   metrics            the registries that sidecar/metrics.ts and webhook/metrics.ts build
//   annotations        webhook/keys.ts; accepted values from the same modules the code validates with
//   injection rules    the precedence comment at the top of webhook/should-inject.ts
//   Helm values        deploy/helm/vault-autounseal/values.yaml and its comments
//   /status fields     STATUS_FIELDS below; test/unit/docs/reference.test.ts compares them with a
//                      real /status answer, and the committed file with this script's output.
//
// The CLI reads the compiled modules from dist/ (`npm run build` first); the unit test passes the
// TypeScript modules themselves, so a changed default fails the test before any build.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { format } from 'prettier';
import { isMap, isScalar, parseDocument } from 'yaml';

export const REFERENCE_PATH = 'docs/reference.md';

/** Every field of the sidecar's `GET /status`, in answer order. Checked against a real answer. */
export const STATUS_FIELDS = [
  ['address', 'string', 'the server the sidecar keeps unsealed (`VAULT_ADDR`)'],
  ['state', 'string', 'one of the states below'],
  ['vault', 'object', "the server's last seen seal status"],
  ['vault.reachable', 'boolean', 'the last seal-status check got an answer'],
  ['vault.initialized', 'boolean or null', 'null until the first answer'],
  ['vault.sealed', 'boolean or null', ''],
  ['vault.threshold', 'number or null', 'shares needed to unseal (t)'],
  ['vault.shares', 'number or null', 'shares made at init (n)'],
  ['vault.progress', 'number or null', 'shares submitted in the current round, by anyone'],
  ['vault.version', 'string or null', "the server's version"],
  ['vault.sealType', 'string or null', '`shamir`, or the auto-unseal seal type'],
  ['vault.recoverySeal', 'boolean or null', 'true: the server auto-unseals; nothing to do'],
  ['vault.checkedAt', 'string or null', 'ISO time of the last check'],
  ['keys', 'object', 'what the key directories hold'],
  ['keys.loaded', 'number', 'distinct valid shares loaded'],
  ['keys.insufficient', 'boolean', 'initialised, and fewer distinct shares than t'],
  ['keys.sources', 'array', 'files that gave shares (the first few per directory)'],
  ['keys.sources[].path', 'string', 'file path (scrubbed: a share used as a name is masked)'],
  ['keys.sources[].shares', 'number', 'shares that file gave'],
  ['keys.invalidFiles', 'array', 'unusable files and directory problems, by name, never content'],
  ['keys.invalidFiles[].path', 'string', 'file or directory'],
  ['keys.invalidFiles[].reason', 'string', 'why it could not be used'],
  ['keys.suspectFiles', 'array of strings', 'files whose share a working set showed to be bad'],
  [
    'keys.rejected',
    'boolean',
    'the server rejected this key set, and no round of the sidecar has unsealed it since (an unseal by someone else does not clear it; new key files do)',
  ],
  [
    'keys.rootTokenFiles',
    'array of strings',
    'key files that hold a Vault token (the root token of `operator init`), by name, never the token; their shares are still used',
  ],
  ['paused', 'boolean', 'the pause switch is on (or unreadable and never read)'],
  ['pauseAnnotationUnrecognised', 'string or null', 'a pause value that is neither true nor false'],
  ['pauseSwitch', 'object', 'whether the pause switch could be read'],
  ['pauseSwitch.source', 'string', '`ok`, `absent` (no downward-API volume) or `unreadable`'],
  ['pauseSwitch.problem', 'string or null', 'why it could not be read'],
  ['backoffUntil', 'string or null', 'ISO time the current back-off ends'],
  ['backoffReason', 'string or null', '`wrong-keys` or `errors` while a back-off runs'],
  ['lastUnseal', 'object or null', 'the last unseal this sidecar saw finish'],
  ['lastUnseal.at', 'string', 'ISO time'],
  [
    'lastUnseal.durationSeconds',
    'number',
    'from first seen sealed to seen unsealed, less the time paused',
  ],
  [
    'lastError',
    'object or null',
    'the last failure, while it holds: null again once the server answers (a failed check), a request of an unseal round is answered or the server is unsealed (a failed unseal request), or the key set is no longer rejected',
  ],
  [
    'lastError.code',
    'string',
    'stable code (`unreachable`, `timeout`, `http`, `rate-limited`, `tls`, `wrong-keys`, …)',
  ],
  ['lastError.message', 'string', 'scrubbed message'],
  ['lastError.at', 'string', 'ISO time'],
];

/** The sidecar's endpoints (sidecar/server.ts, common/ops-routes.ts); the test asks the server. */
export const SIDECAR_ENDPOINTS = [
  [
    'GET',
    '/healthz',
    '200 while the check loop is alive (last progress, or the next check it scheduled, within 3 × the longest interval), else 503. Never tied to the seal state: the startup and liveness probes.',
  ],
  [
    'GET',
    '/readyz',
    '200 once the listener and the check loop run. Never gated on seal state or keys, so Vault stays in its Service.',
  ],
  ['GET', '/status', 'JSON, fields below. Names files, never their content; no share, no token.'],
  ['GET', '/metrics', 'Prometheus text format.'],
];

export const WEBHOOK_ENDPOINTS = [
  [
    'POST',
    '/mutate',
    'HTTPS on `WEBHOOK_PORT`: AdmissionReview `admission.k8s.io/v1`; 400 for a malformed body, 413 past `WEBHOOK_MAX_BODY_BYTES`.',
  ],
  ['GET', '/healthz', 'plain HTTP on `WEBHOOK_METRICS_PORT`: liveness.'],
  ['GET', '/readyz', 'plain HTTP on `WEBHOOK_METRICS_PORT`: readiness.'],
  ['GET', '/metrics', 'plain HTTP on `WEBHOOK_METRICS_PORT`: Prometheus text format.'],
];

/** The states of `/status` `state` (sidecar/unsealer.ts UnsealerState); each has a runbook. */
export const STATES = [
  ['starting', 'no check has finished yet'],
  ['unreachable', 'the last seal-status check got no answer'],
  [
    'not-initialized',
    'not initialised, or a raft follower that has not joined: waits, submits nothing',
  ],
  ['recovery-seal', 'the server auto-unseals (KMS, transit, HSM): nothing to do'],
  ['unsealed', 'nothing to do until the next check'],
  [
    'paused',
    '`vault-autounseal.io/paused` is on (or unreadable and never read): submits nothing; shown whatever the server is (sealed, unsealed, not initialised), unless it is unreachable',
  ],
  ['insufficient-keys', 'sealed, fewer distinct shares than t: submits nothing'],
  [
    'wrong-keys',
    'every share set tried was rejected at the threshold: backing off while sealed; shown while unsealed too when someone else unsealed the server and the key set still has not',
  ],
  [
    'backing-off',
    'the server failed unseal requests (5xx, timeout, redirect) or answered 429: backing off',
  ],
  ['unsealing', 'submitting shares'],
  ['awaiting-unseal', 'the last share was accepted; waiting up to 30 s for the node (raft join)'],
];

/** What each annotation or label means; the keys and accepted values come from the code. */
const KEY_DOCS = {
  NAMESPACE_INJECTION_LABEL: {
    on: 'namespace label',
    meaning: 'opt every pod of the namespace in, or out',
  },
  INJECT_KEY: {
    on: 'pod label or annotation',
    meaning:
      'opt this pod in or out; the label is the path that survives a webhook outage (see the injection rules)',
  },
  STATUS_ANNOTATION: {
    on: 'pod annotation, set by the webhook',
    meaning: 'marks an injected pod; with the container present the webhook leaves the pod alone',
  },
  INJECTED_LABEL: {
    on: 'pod label, set by the webhook',
    meaning:
      'on every injected pod, whatever the opt-in: `kubectl get pods -A -l vault-autounseal.io/injected=true` lists every pod a sidecar runs in',
  },
  KEYS_SECRET_ANNOTATION: {
    on: 'pod annotation',
    meaning:
      'Secret(s) holding the shares, comma-separated: one read-only volume each (split custody)',
  },
  VAULT_CONTAINER_ANNOTATION: {
    on: 'pod annotation',
    meaning:
      'the server container whose `VAULT_*`/`BAO_*` settings are copied; default `vault` or `openbao`, else the first',
  },
  NATIVE_SIDECAR_ANNOTATION: {
    on: 'pod annotation',
    meaning: 'native sidecar (init container with `restartPolicy: Always`) or a regular container',
  },
  INTERVAL_ANNOTATION: {
    on: 'pod annotation',
    meaning: "the sidecar's `UNSEAL_INTERVAL`; outside the range the pod is denied",
  },
  LOG_LEVEL_ANNOTATION: { on: 'pod annotation', meaning: "the sidecar's `LOG_LEVEL`" },
  ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION: {
    on: 'pod annotation',
    meaning:
      "admit a pod with `shareProcessNamespace: true` (denied without it: containers running as the sidecar's uid could read its memory, shares included), with a warning",
  },
  PAUSED_ANNOTATION: {
    on: 'pod annotation, read live by the sidecar',
    meaning:
      'while `"true"`, the sidecar submits nothing; any value other than true/false also pauses, with a warning',
  },
};

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (text) => (text === '' ? '' : `\`${text}\``);
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');

function formatMs(ms) {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1_000}s`;
  if (ms < 3_600_000) return `${ms / 60_000}m`;
  return `${ms / 3_600_000}h`;
}

/** The sidecar's settings, read back from `--help`, which prints SETTINGS (sidecar/config.ts). */
export function parseSidecarHelp(help) {
  const settings = [];
  const pattern =
    /^ {2}(\S+)(?: \(or (\S+), which wins\))?\n {2}(--\S+)=VALUE\n {6}(.*) \(default: ([^,)]*)(?:, [^)]*)?\)$/gm;
  for (const m of help.matchAll(pattern)) {
    settings.push({ env: m[1], twin: m[2], flag: m[3], doc: m[4], fallback: m[5] });
  }
  if (settings.length === 0) throw new Error('sidecarHelp printed no setting this script can read');
  return settings;
}

function sidecarSettings(src) {
  const rows = parseSidecarHelp(src.sidecarHelp).map((s) => {
    const range = src.sidecarRanges[s.env];
    return [
      s.twin ? `${code(s.env)} / ${code(s.twin)}` : code(s.env),
      code(s.flag),
      s.fallback === 'unset' ? '' : code(s.fallback),
      range ? `${formatMs(range.minMs)} to ${formatMs(range.maxMs)}` : '',
      s.doc,
    ];
  });
  return table(['variable', 'flag', 'default', 'range', 'meaning'], rows);
}

function webhookSettings(src) {
  const rows = Object.entries(src.webhookSettings).map(([name, doc]) => {
    const range = src.webhookRanges[name];
    return [
      code(name),
      code(`--${name.toLowerCase().replace(/_/g, '-')}`),
      code(doc.default),
      range ? `${formatMs(range.minMs)} to ${formatMs(range.maxMs)}` : '',
      doc.meaning,
    ];
  });
  return table(['variable', 'flag', 'default', 'range', 'meaning'], rows);
}

/** Builds a registry with the given factory and reads back each metric's name, type, help, labels. */
export function metricsOf(createMetrics) {
  const registry = new Registry();
  createMetrics(registry);
  return registry.getMetricsAsArray().map((m) => ({
    name: m.name,
    type: m.type,
    help: m.help,
    labels: [...(m.labelNames ?? [])],
  }));
}

function metricsTable(metrics) {
  return table(
    ['metric', 'type', 'labels', 'meaning'],
    metrics.map((m) => [code(m.name), m.type, m.labels.map(code).join(', '), m.help]),
  );
}

function acceptedValues(name, src) {
  const interval = src.sidecarRanges.UNSEAL_INTERVAL;
  switch (name) {
    case 'NAMESPACE_INJECTION_LABEL':
      return src.namespaceValues.map((v) => code(v)).join(', ');
    case 'INJECT_KEY':
    case 'NATIVE_SIDECAR_ANNOTATION':
    case 'PAUSED_ANNOTATION':
    case 'ALLOW_SHARE_PROCESS_NAMESPACE_ANNOTATION':
      return '`"true"`, `"false"`';
    case 'STATUS_ANNOTATION':
      return code(src.keys.STATUS_INJECTED);
    case 'INJECTED_LABEL':
      return code(`"${src.keys.INJECTED_VALUE}"`);
    case 'INTERVAL_ANNOTATION':
      return `a duration from ${formatMs(interval.minMs)} to ${formatMs(interval.maxMs)}`;
    case 'LOG_LEVEL_ANNOTATION':
      return src.logLevels.map(code).join(', ');
    default:
      return 'a name (Kubernetes syntax)';
  }
}

function annotationsTable(src) {
  const names = Object.keys(src.keys)
    .filter(
      (k) =>
        typeof src.keys[k] === 'string' &&
        src.keys[k].startsWith(src.keys.PREFIX) &&
        k !== 'PREFIX',
    )
    .sort((a, b) => src.keys[a].localeCompare(src.keys[b]));
  const missing = names.filter((n) => !(n in KEY_DOCS));
  if (missing.length > 0)
    throw new Error(`webhook/keys.ts: no reference text for ${missing.join(', ')}`);
  return table(
    ['key', 'on', 'accepted values', 'meaning'],
    names.map((n) => [
      code(src.keys[n]),
      KEY_DOCS[n].on,
      acceptedValues(n, src),
      KEY_DOCS[n].meaning,
    ]),
  );
}

/** The numbered precedence from the header comment of webhook/should-inject.ts. */
export function injectionRules(shouldInjectSource) {
  const rules = [...shouldInjectSource.matchAll(/^\/\/ {3}(\d)\. (.*)$/gm)].map(
    (m) => `${m[1]}. ${m[2]}`,
  );
  if (rules.length === 0)
    throw new Error('webhook/should-inject.ts: its precedence comment is gone');
  return rules.join('\n');
}

/** Every leaf of values.yaml with its default and the nearest comment above it. */
export function helmValues(valuesYaml) {
  const doc = parseDocument(valuesYaml);
  const rows = [];
  const clean = (c) =>
    (c ?? '')
      .split('\n')
      .map((l) => l.replace(/^\s*-- /, '').trim())
      .join(' ')
      .trim();
  // The yaml library hangs a comment above a map's first key on the map itself.
  const walk = (node, path, inherited) => {
    node.items.forEach((pair, index) => {
      const key = `${path}${path ? '.' : ''}${pair.key.value}`;
      const own = clean(pair.key.commentBefore) || (index === 0 ? clean(node.commentBefore) : '');
      const value = pair.value;
      if (isMap(value) && value.items.length > 0) {
        walk(value, key, own || inherited);
        return;
      }
      const shown = isScalar(value)
        ? JSON.stringify(value.value)
        : JSON.stringify(value?.toJSON() ?? null);
      const note = isScalar(value) && value.comment ? clean(value.comment) : '';
      const meaning = own || (inherited ? `(${path}) ${inherited}` : '');
      rows.push([code(key), code(shown), [meaning, note].filter(Boolean).join(' ')]);
    });
  };
  if (!isMap(doc.contents)) throw new Error('values.yaml is not a map');
  walk(doc.contents, '', '');
  return table(['value', 'default', 'meaning'], rows);
}

/** The whole reference, before formatting. `src` holds the code's own definitions. */
export function renderReference(src) {
  return `<!-- Generated by scripts/reference.mjs (npm run docs:reference) from the code's own definitions. Do not edit: test/unit/docs/reference.test.ts fails when this file and the code disagree. -->

# Reference

Everything an operator writes into a manifest, a dashboard or an alert, as the code defines it.
Runbooks: [docs/runbooks/](runbooks/README.md). Threat model: [SECURITY.md](../SECURITY.md).

## The sidecar

### Settings

Environment variables, each also a \`--kebab-case\` flag (flags win; \`BAO_*\` wins over \`VAULT_*\`).
Defined in \`sidecar/config.ts\`; ranges in \`common/sidecar-durations.ts\`. Durations are written
\`500ms\`, \`5s\`, \`2m\`, \`1h\`; outside its range a setting is refused. Bad configuration exits
with status 2 and one message naming every bad setting. \`--help\` prints this table.

${sidecarSettings(src)}

### Endpoints

On \`UNSEAL_HTTP_ADDR\`, plain HTTP.

${table(
  ['method', 'path', 'answers'],
  SIDECAR_ENDPOINTS.map(([m, p, a]) => [m, code(p), a]),
)}

### \`/status\` fields

${table(
  ['field', 'type', 'meaning'],
  STATUS_FIELDS.map(([f, t, m]) => [code(f), t, m]),
)}

### \`/status\` states

Each state has a runbook under [docs/runbooks/](runbooks/README.md).

${table(
  ['state', 'meaning', 'runbook'],
  STATES.map(([s, m]) => [code(s), m, `[${s}](runbooks/state-${s}.md)`]),
)}

### Metrics

Registered by \`sidecar/metrics.ts\`, plus prom-client's default process metrics. Every labelled
series exists from the start at 0.

${metricsTable(src.sidecarMetrics)}

## The webhook

### Settings

Environment variables, each also a \`--kebab-case\` flag (flags win). Defined in
\`webhook/config.ts\`; \`--help\` prints this table.

${webhookSettings(src)}

### Endpoints

${table(
  ['method', 'path', 'answers'],
  WEBHOOK_ENDPOINTS.map(([m, p, a]) => [m, code(p), a]),
)}

### Metrics

Registered by \`webhook/metrics.ts\`, plus prom-client's default process metrics.

${metricsTable(src.webhookMetrics)}

### Annotations and labels

Defined in \`webhook/keys.ts\`. The injected container is named \`${src.keys.SIDECAR_CONTAINER_NAME}\`;
every volume the webhook adds starts with \`${src.keys.VOLUME_PREFIX}\`.

${annotationsTable(src)}

### When a pod is injected

Pods on CREATE only. The first rule that applies decides (\`webhook/should-inject.ts\`):

${injectionRules(src.shouldInjectSource)}

Protected namespaces: ${src.protectedNamespaces.map(code).join(', ')} and the webhook's own. A value
of \`${src.keys.INJECT_KEY}\` or \`${src.keys.NAMESPACE_INJECTION_LABEL}\` that is not one of those
above is denied, naming the key and what it accepts. A pod that already has both the status
annotation and the container is left alone.

## Helm values

\`deploy/helm/vault-autounseal/values.yaml\` (checked by \`values.schema.json\`):

${helmValues(src.valuesYaml)}
`;
}

/** Gathers what renderReference needs from the modules (TypeScript in tests, dist/ in the CLI). */
export function collectSources(mods, root) {
  return {
    sidecarHelp: mods.sidecarConfig.sidecarHelp('vault-autounseal-sidecar'),
    sidecarRanges: mods.sidecarDurations.SIDECAR_DURATION_RANGES,
    webhookSettings: mods.webhookConfig.SETTING_DOCS,
    webhookRanges: mods.webhookConfig.WEBHOOK_DURATION_RANGES,
    logLevels: mods.logLevels.LOG_LEVELS,
    sidecarMetrics: metricsOf(mods.sidecarMetrics.createSidecarMetrics),
    webhookMetrics: metricsOf(mods.webhookMetrics.createWebhookMetrics),
    keys: mods.keys,
    namespaceValues: mods.shouldInject.ACCEPTED_NAMESPACE_VALUES,
    protectedNamespaces: mods.shouldInject.PROTECTED_NAMESPACES,
    shouldInjectSource: readFileSync(join(root, 'webhook', 'should-inject.ts'), 'utf8'),
    valuesYaml: readFileSync(
      join(root, 'deploy', 'helm', 'vault-autounseal', 'values.yaml'),
      'utf8',
    ),
  };
}

/** The reference as committed: rendered, then formatted with the repository's prettier settings. */
export async function buildReference(mods, root) {
  const options = JSON.parse(readFileSync(join(root, '.prettierrc.json'), 'utf8'));
  return format(renderReference(collectSources(mods, root)), { ...options, parser: 'markdown' });
}

async function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const load = (path) => import(pathToFileURL(join(root, 'dist', path)).href);
  const mods = {
    sidecarConfig: await load('sidecar/config.js'),
    sidecarDurations: await load('common/sidecar-durations.js'),
    webhookConfig: await load('webhook/config.js'),
    logLevels: await load('common/log-levels.js'),
    sidecarMetrics: await load('sidecar/metrics.js'),
    webhookMetrics: await load('webhook/metrics.js'),
    keys: await load('webhook/keys.js'),
    shouldInject: await load('webhook/should-inject.js'),
  };
  writeFileSync(join(root, REFERENCE_PATH), await buildReference(mods, root));
  console.log(`wrote ${REFERENCE_PATH}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
