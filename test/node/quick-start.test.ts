// Issue 18 point 2 and issue 22's quick start: docs/quick-start.md is the test. Every ```bash block
// of the page runs, in order and word for word, in one bash on the real node, against HashiCorp
// Vault. Where the page and this test would differ, the page changes.
//
// The shim, defined before the page's commands and only for what cannot exist offline (the page
// lists it under "Is this page tested?"):
// - `docker build` tags the image the suite already built and loaded into the node's containerd
//   under the page's $REGISTRY name; `docker push` has nothing to do;
// - `helm repo add` does nothing; `hashicorp/vault` is the stand-in chart (or VAULT_HELM_CHART),
//   with the server image set to the local HashiCorp Vault image;
// - the three hostPath volumes the chart claims (no provisioner here) are made before the run.
// The root token is printed once by the page; this test checks that it was, and never prints it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELM } from '../e2e/harness/deploy.js';
import { containerdBin } from './harness/paths.js';
import { run } from '../e2e/harness/run.js';
import {
  IMAGES,
  PODS,
  ROOT,
  imageOf,
  node,
  provideVolumes,
  rollbackWebhook,
  sealStatus,
  sidecarStatus,
  vaultChart,
  type Node,
  type VaultCluster,
} from './scenario-support.js';

const PAGE = join(ROOT, 'docs', 'quick-start.md');
const NS = 'vault';

/** The page's ```bash blocks, in order (```text blocks are shown, not run). */
export function bashBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function shim(k: Node): string {
  const vault = imageOf('vault');
  const ctr = `${join(containerdBin(), 'ctr')} --address ${join(k.dir, 'run', 'containerd.sock')} -n k8s.io`;
  return `
docker() {
  local sub=$1 file= tag=; shift
  case $sub in
    build)
      while [ $# -gt 0 ]; do case $1 in -f) file=$2; shift 2;; -t) tag=$2; shift 2;; *) shift;; esac; done
      case $file in
        Dockerfile.sidecar) src=${IMAGES.sidecar};;
        Dockerfile.webhook) src=${IMAGES.webhook};;
        *) echo "shim: unknown Dockerfile $file" >&2; return 1;;
      esac
      ${ctr} images tag --force "$src" "$tag" >/dev/null && echo "shim: $tag is $src (preloaded)";;
    push) echo "shim: push $1 (nothing to do offline)";;
    *) echo "shim: docker $sub is not expected on this page" >&2; return 1;;
  esac
}
helm() {
  if [ "$1" = repo ] && [ "$2" = add ]; then echo "shim: helm repo add $3 (offline: skipped)"; return 0; fi
  local args=()
  for a in "$@"; do
    if [ "$a" = hashicorp/vault ]; then
      args+=("${vaultChart()}" --set server.image.repository=${vault.repository} --set server.image.tag=${vault.tag} --set server.image.pullPolicy=Never)
    else args+=("$a"); fi
  done
  command helm "\${args[@]}"
}
`;
}

/** Whatever the page printed, with the root token line cut (it must never reach a log). */
function redact(text: string): string {
  return text.replace(/(Root token[^:]*: )\S+/g, '$1<redacted>');
}

let k: Node;
let result: { stdout: string; stderr: string; code: number };
const c = (): VaultCluster => ({ k, ns: NS, options: { server: 'vault', native: true } });

beforeAll(async () => {
  k = node();
  await provideVolumes(k, NS);
  const blocks = bashBlocks(readFileSync(PAGE, 'utf8'));
  const script = ['set -euo pipefail', shim(k), ...blocks].join('\n');
  const started = Date.now();
  result = await run('bash', ['-c', script], {
    env: {
      KUBECONFIG: k.kubeconfig,
      PATH: `${dirname(HELM)}:${process.env['PATH']}`,
      HELM_CACHE_HOME: join(k.dir, 'helm', 'cache'),
      HELM_CONFIG_HOME: join(k.dir, 'helm', 'config'),
      HELM_DATA_HOME: join(k.dir, 'helm', 'data'),
    },
    timeoutMs: 900_000,
  });
  process.stderr.write(
    `[quick-start] the page ran in ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${result.code}\n` +
      `--- stdout\n${redact(result.stdout)}\n--- stderr\n${redact(result.stderr)}\n`,
  );
}, 960_000);

afterAll(async () => {
  // The page installed the webhook over the suite's release: give the later files theirs back.
  if (k) await rollbackWebhook(k);
  await k?.deleteNamespace(NS, 180_000);
}, 400_000);

describe('docs/quick-start.md, run word for word', () => {
  it('has the steps the issue asks for, as commands', () => {
    const all = bashBlocks(readFileSync(PAGE, 'utf8')).join('\n');
    expect(all).toContain('helm upgrade --install vault-autounseal deploy/helm/vault-autounseal');
    expect(all).toContain('rollout status deployment/vault-autounseal-webhook');
    expect(all).toContain('--dry-run=server');
    expect(all).toContain('-f deploy/examples/vault-helm-values.yaml');
    expect(all).toMatch(/vault operator init[^\n]*\n\s*\| tee/);
    expect(all).toContain(
      'kubectl -n vault create secret generic vault-unseal-keys --from-file=init.json=/dev/stdin',
    );
    expect(all).toMatch(/kubectl -n vault wait pod .*--for=condition=Ready/);
  });

  it('runs to the end', () => {
    expect(result.code, redact(result.stderr).slice(-2000)).toBe(0);
  });

  it('hands the root token to the operator once, and keeps it out of the keys Secret', async () => {
    const printed = [...result.stderr.matchAll(/Root token \(shown once, store it now\): (\S+)/g)];
    expect(printed.length).toBe(1);
    expect(printed[0]![1]).toMatch(/^(hvs\.|s\.)\S{20,}$/);
    const secret = await k.get(NS, 'secret', 'vault-unseal-keys');
    expect(Object.keys(secret.data)).toEqual(['init.json']);
    const stored = JSON.parse(Buffer.from(secret.data['init.json'], 'base64').toString('utf8'));
    expect(Object.keys(stored).sort()).toEqual(['unseal_keys_b64', 'unseal_threshold']);
    expect(stored.unseal_keys_b64).toHaveLength(5);
    expect(JSON.stringify(stored)).not.toContain(printed[0]![1]);
  });

  it('ends with three unsealed nodes of one cluster, each unsealed by its sidecar', async () => {
    for (const pod of PODS) {
      expect(await sealStatus(c(), pod), pod).toMatchObject({ initialized: true, sealed: false });
      const status = await sidecarStatus(c(), pod);
      expect(status.state, pod).toBe('unsealed');
      expect(status.lastUnseal, `${pod} unsealed by its sidecar`).not.toBeNull();
    }
    // The page's own verification printed each node's view.
    for (const pod of PODS) {
      expect(result.stdout).toContain(`{"pod":"${pod}","initialized":true,"sealed":false}`);
    }
  });

  it('used the images it built under the registry names', async () => {
    const p = await k.get(NS, 'pod', 'vault-0');
    const sidecar = (p.spec.initContainers ?? []).find((x: any) => x.name === 'vault-autounseal');
    expect(sidecar.image).toBe(
      `registry.example.com/platform/vault-autounseal-sidecar:${IMAGES.sidecar.split(':').at(-1)}`,
    );
  });
});
