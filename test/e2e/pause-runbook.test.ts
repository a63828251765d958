// The emergency-seal runbook's commands (docs/runbooks/emergency-seal.md), read from the page and run
// word for word with bash and kubectl against a real kube-apiserver, on pods the webhook injected
// through the chart's own MutatingWebhookConfiguration: one opted in by the namespace label, one by
// the pod label, one by the pod annotation, each with `paused: "false"` as the example values set it,
// and one opted-out pod beside them. The pause command must pause all three injected pods (the
// namespace-label one included) and nothing else; the resume command must undo it. The command the
// runbook gave before (select by the inject label, no --overwrite) is run too, to show what it missed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import {
  deploymentEnv,
  findObject,
  forLoopback,
  helmTemplate,
  ROOT,
  run,
  startWebhook,
  type Webhook,
} from './harness/deploy.js';
import { createNamespace, createPod, getPod, sidecars, vaultPod } from './harness/pods.js';

const RUNBOOK = readFileSync(join(ROOT, 'docs', 'runbooks', 'emergency-seal.md'), 'utf8');
const BLOCKS = [...RUNBOOK.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
const block = (pattern: RegExp): string => {
  const found = BLOCKS.filter((b) => pattern.test(b));
  if (found.length !== 1)
    throw new Error(`expected one sh block matching ${pattern}, found ${found.length}`);
  return found[0]!;
};
/** The `NS=…` block (the namespace the reader sets), and the two annotate commands. */
const SET_NAMESPACE = block(/^NS=/);
const PAUSE = block(/annotate pods .*paused=true/);
const RESUME = block(/annotate pods .*paused=false/);
const NS = /^NS=(\S+)/.exec(SET_NAMESPACE)![1]!;

const PAUSED = 'vault-autounseal.io/paused';

let cp: ControlPlane;
let webhook: Webhook;

/** Runs documented commands with bash against this apiserver, the namespace set as the page sets it. */
async function sh(script: string) {
  return run('bash', ['-euo', 'pipefail', '-c', `NS=${NS}\n${script}`], {
    env: { KUBECONFIG: cp.kubeconfig },
  });
}

async function pausedValues(): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const name of ['by-namespace', 'by-label', 'by-annotation', 'opted-out']) {
    out[name] = (await getPod(cp, NS, name)).metadata.annotations?.[PAUSED];
  }
  return out;
}

beforeAll(async () => {
  cp = await startControlPlane();
  const objects = await helmTemplate();
  webhook = await startWebhook(cp.ca, deploymentEnv(objects));
  await cp.kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify(
      forLoopback(findObject(objects, 'MutatingWebhookConfiguration'), webhook.port, cp.ca.certPem),
    ),
  );
  await createNamespace(cp, NS, { 'vault-autounseal.io/injection': 'enabled' });
  const annotations = { [PAUSED]: 'false' };
  const pods = [
    vaultPod('by-namespace', { optInLabel: false, annotations }),
    vaultPod('by-label', { annotations }),
    vaultPod('by-annotation', {
      optInLabel: false,
      annotations: { ...annotations, 'vault-autounseal.io/inject': 'true' },
    }),
    vaultPod('opted-out', { labels: { 'vault-autounseal.io/inject': 'false' }, annotations }),
  ];
  for (const pod of pods) {
    const created = await createPod(cp, NS, pod);
    expect(created.code, created.stderr).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await webhook?.stop();
  await cp?.stop();
});

describe('docs/runbooks/emergency-seal.md against a real apiserver', () => {
  it('the webhook injected three pods and labelled each vault-autounseal.io/injected=true, whatever the opt-in', async () => {
    for (const name of ['by-namespace', 'by-label', 'by-annotation']) {
      const pod = await getPod(cp, NS, name);
      expect(sidecars(pod), name).toHaveLength(1);
      expect(pod.metadata.labels?.['vault-autounseal.io/injected'], name).toBe('true');
    }
    const optedOut = await getPod(cp, NS, 'opted-out');
    expect(sidecars(optedOut)).toEqual([]);
    expect(optedOut.metadata.labels?.['vault-autounseal.io/injected']).toBeUndefined();
  });

  it('the command it gave before (the inject label, no --overwrite) misses the namespace-label pod and fails on paused "false"', async () => {
    const old = await sh(
      'kubectl -n "$NS" annotate pods -l vault-autounseal.io/inject=true vault-autounseal.io/paused=true',
    );
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain('already has a value');
    expect(await pausedValues()).toEqual({
      'by-namespace': 'false',
      'by-label': 'false',
      'by-annotation': 'false',
      'opted-out': 'false',
    });
  });

  it('its pause command, as written, pauses every injected pod and no other', async () => {
    const result = await sh(PAUSE);
    expect(result.code, result.stderr).toBe(0);
    expect(await pausedValues()).toEqual({
      'by-namespace': 'true',
      'by-label': 'true',
      'by-annotation': 'true',
      'opted-out': 'false',
    });
  });

  it('its resume command, as written, resumes them', async () => {
    const result = await sh(RESUME);
    expect(result.code, result.stderr).toBe(0);
    expect(await pausedValues()).toEqual({
      'by-namespace': 'false',
      'by-label': 'false',
      'by-annotation': 'false',
      'opted-out': 'false',
    });
  });
});
