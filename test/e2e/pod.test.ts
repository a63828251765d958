// The injected pod, run for real: the pod exactly as the apiserver stored it after the webhook
// (rendered from deploy/, chart defaults) injected the sidecar, run with `podman kube play` beside
// a real OpenBao container. The test initialises OpenBao through its API, stores the shares in the
// Secret the webhook named, and fills that Secret volume the way the kubelet does; the sidecar must
// unseal OpenBao, and unseal it again after OpenBao's container alone is restarted.
import { chmod, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../harness/ports.js';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import {
  deploymentEnv,
  findObject,
  forLoopback,
  helmTemplate,
  startWebhook,
  type Webhook,
} from './harness/deploy.js';
import {
  createNamespace,
  getPod,
  RESTRICTED_CONTAINER,
  SIDECAR,
  sidecars,
  type Pod,
} from './harness/pods.js';
import {
  forPodman,
  PodmanPod,
  projectAnnotations,
  projectSecret,
  removeDir,
  writeContainersConf,
} from './harness/podman.js';

/** Built by scripts/e2e-tools.sh from the PyPI wheel's bao. */
const OPENBAO_IMAGE = 'localhost/vault-autounseal-e2e-openbao:2.7.2';
const NAMESPACE = 'vault';
/** Also the podman pod's name: unique per run, so two runs on one machine never meet. */
const POD_NAME = `openbao-e2e-${process.pid}`;

/** An OpenBao pod of the shape OpenBao's chart writes, opted in by label, regular-sidecar mode. */
function openbaoPod(name: string, native: boolean): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/name': 'openbao', 'vault-autounseal.io/inject': 'true' },
      annotations: { 'vault-autounseal.io/native-sidecar': String(native) },
    },
    spec: {
      automountServiceAccountToken: false,
      restartPolicy: 'Always',
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        fsGroup: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [
        {
          name: 'openbao',
          image: OPENBAO_IMAGE,
          imagePullPolicy: 'Never',
          args: ['server', '-config=/etc/openbao/config.hcl'],
          env: [{ name: 'BAO_ADDR', value: 'http://127.0.0.1:8200' }],
          volumeMounts: [{ name: 'data', mountPath: '/openbao/data' }],
          securityContext: { ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true },
        },
      ],
    },
  };
}

interface InitResponse {
  keys: string[];
  keys_base64: string[];
  root_token: string;
}

let cp: ControlPlane;
let webhook: Webhook;
let work: string;
let containersConf: string;

beforeAll(async () => {
  cp = await startControlPlane();
  work = await mkdtemp(join(tmpdir(), 'vau-e2e-pod-'));
  containersConf = await writeContainersConf(work);
  // The chart's default repository is the published one (ghcr.io), unreachable here: the sidecar
  // image podman runs is the one scripts/images.sh built, under its local name.
  const objects = await helmTemplate([
    '--set',
    'sidecar.image.repository=localhost/vault-autounseal-sidecar',
  ]);
  webhook = await startWebhook(cp.ca, deploymentEnv(objects));
  const mwc = findObject(objects, 'MutatingWebhookConfiguration');
  await cp.kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify(forLoopback(mwc, webhook.port, cp.ca.certPem)),
  );
  await createNamespace(cp, NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
});

afterAll(async () => {
  await webhook?.stop();
  await cp?.stop();
  if (work) await removeDir(work);
});

describe('the injected pod, run with podman kube play', () => {
  let pod: PodmanPod | undefined;
  let stored: Pod;
  let init: InitResponse | undefined;
  const keysDir = (): string => join(work, 'keys');
  const podinfoDir = (): string => join(work, 'podinfo');

  afterAll(async () => {
    await pod?.remove();
  });

  it('the apiserver stores the pod with the sidecar (regular-sidecar mode), and podman runs it as stored', async () => {
    await cp.kubectlOk(
      ['create', '-n', NAMESPACE, '-f', '-'],
      JSON.stringify(openbaoPod(POD_NAME, false)),
    );
    stored = await getPod(cp, NAMESPACE, POD_NAME);
    const [sidecar] = sidecars(stored);
    expect(sidecar).toBeDefined();
    expect(stored.spec.containers.map((c) => c.name)).toEqual(['openbao', SIDECAR]);
    const volumes = (stored.spec.volumes ?? []) as {
      name: string;
      secret?: { secretName: string };
    }[];
    const keysVolume = volumes.find(
      (v) => v.secret !== undefined && v.name.startsWith('vault-autounseal-'),
    );
    const podinfo = volumes.find((v) => v.name === 'vault-autounseal-podinfo');
    expect(keysVolume?.secret?.secretName).toBe('vault-unseal-keys');
    expect(podinfo).toBeDefined();

    for (const dir of [keysDir(), podinfoDir()]) {
      await mkdir(dir);
      await chmod(dir, 0o755);
    }
    await projectAnnotations(podinfoDir(), stored.metadata.annotations ?? {});
    const runnable = forPodman(stored, {
      hostPaths: { [keysVolume!.name]: keysDir(), [String(podinfo!['name'])]: podinfoDir() },
    });
    // The injected container is exactly what the apiserver stored.
    expect(runnable.spec.containers.find((c) => c.name === SIDECAR)).toEqual(sidecar);
    pod = await PodmanPod.play(runnable, work, containersConf);
    const states = await pod.podman([
      'pod',
      'inspect',
      POD_NAME,
      '--format',
      '{{range .Containers}}{{.Name}}={{.State}} {{end}}',
    ]);
    expect(states.stdout).toContain(`${POD_NAME}-${SIDECAR}=running`);
    expect(states.stdout).toContain(`${POD_NAME}-openbao=running`);
  });

  it('the sidecar answers on the injected port while OpenBao is not initialised, and submits nothing', async () => {
    const port = sidecars(stored)[0]?.ports?.[0]?.containerPort;
    expect(port).toBe(8210);
    const status = await until('the sidecar to report not-initialized', async () => {
      const res = await pod!.http(`http://127.0.0.1:${port}/status`);
      if (res.status !== 200) return undefined;
      const body = JSON.parse(res.body) as { state: string };
      return body.state === 'not-initialized' ? body : undefined;
    });
    expect(status.state).toBe('not-initialized');
  });

  it('OpenBao initialised through its API, the shares stored in the Secret: the sidecar unseals it', async () => {
    const res = await pod!.http('http://127.0.0.1:8200/v1/sys/init', {
      method: 'PUT',
      body: JSON.stringify({ secret_shares: 5, secret_threshold: 3 }),
      timeoutSeconds: 60,
    });
    expect(res.status).toBe(200);
    init = JSON.parse(res.body) as InitResponse;
    expect(init.keys).toHaveLength(5);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'vault-unseal-keys', namespace: NAMESPACE },
      data: Object.fromEntries(
        init.keys
          .slice(0, 3)
          .map((key, i) => [`unseal-key-${i}`, Buffer.from(key).toString('base64')]),
      ),
    };
    await cp.kubectlOk(['create', '-f', '-', '-o', 'name'], JSON.stringify(secret));
    // The kubelet's part: what the apiserver holds, projected into the volume. Key files are
    // world-readable here: podman does not apply the pod's fsGroup to a hostPath.
    const fromApi = JSON.parse(
      await cp.kubectlOk(['get', 'secret', '-n', NAMESPACE, 'vault-unseal-keys', '-o', 'json']),
    ) as { data: Record<string, string> };
    await projectSecret(keysDir(), fromApi.data, 0o444);

    await until(
      'OpenBao unsealed',
      async () => ((await sealed(pod!)) === false ? true : undefined),
      60_000,
    );
    const status = JSON.parse((await pod!.http('http://127.0.0.1:8210/status')).body) as {
      state: string;
      keys: { loaded: number };
    };
    expect(status.state).toBe('unsealed');
    expect(status.keys.loaded).toBe(3);
  });

  it('/healthz and /metrics answer on the injected port', async () => {
    const health = await pod!.http('http://127.0.0.1:8210/healthz');
    expect(health.status).toBe(200);
    const metrics = await pod!.http('http://127.0.0.1:8210/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^vault_autounseal_vault_sealed 0$/m);
    expect(metrics.body).toMatch(/^vault_autounseal_keys_loaded 3$/m);
  });

  it('OpenBao’s process killed: podman restarts that container only, and the sidecar unseals it again', async () => {
    const sidecarStarted = await pod!.inspect(SIDECAR, '{{.State.StartedAt}}');
    const pid = Number(await pod!.inspect('openbao', '{{.State.Pid}}'));
    expect(pid).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await until(
      'OpenBao’s container restarted',
      async () =>
        Number(await pod!.inspect('openbao', '{{.RestartCount}}')) >= 1 ? true : undefined,
      60_000,
    );
    await until(
      'OpenBao unsealed again',
      async () => ((await sealed(pod!)) === false ? true : undefined),
      60_000,
    );
    const seconds = (Date.now() - killedAt) / 1000;
    console.log(
      `[e2e] OpenBao container killed → restarted by podman → unsealed by the sidecar in ${seconds.toFixed(1)} s`,
    );
    expect(Number(await pod!.inspect('openbao', '{{.RestartCount}}'))).toBe(1);
    expect(await pod!.inspect(SIDECAR, '{{.RestartCount}}')).toBe('0');
    expect(await pod!.inspect(SIDECAR, '{{.State.StartedAt}}')).toBe(sidecarStarted);
    const metrics = (await pod!.http('http://127.0.0.1:8210/metrics')).body;
    expect(metrics).toMatch(/^vault_autounseal_vault_sealed 0$/m);
    // The sidecar did it: its last unseal is after the kill.
    const status = JSON.parse((await pod!.http('http://127.0.0.1:8210/status')).body) as {
      lastUnseal: { at: string } | null;
    };
    expect(Date.parse(status.lastUnseal?.at ?? '')).toBeGreaterThan(killedAt);
  });

  it('no share and no root token in any container’s logs', async () => {
    expect(init).toBeDefined();
    const secrets = [...init!.keys, ...init!.keys_base64, init!.root_token];
    for (const container of ['openbao', SIDECAR]) {
      const logs = await pod!.logs(container);
      expect(logs.length, `${container} logged something`).toBeGreaterThan(0);
      const leaked = secrets.filter((s) => logs.includes(s)).length;
      expect(leaked, `${container}'s log holds ${leaked} secret(s)`).toBe(0);
    }
  });
});

describe('native-sidecar mode', () => {
  it('the apiserver stores the sidecar as an init container with restartPolicy Always', async () => {
    await cp.kubectlOk(
      ['create', '-n', NAMESPACE, '-f', '-'],
      JSON.stringify(openbaoPod('openbao-native', true)),
    );
    const stored = await getPod(cp, NAMESPACE, 'openbao-native');
    expect(stored.spec.containers.map((c) => c.name)).toEqual(['openbao']);
    expect(stored.spec.initContainers?.map((c) => [c.name, c.restartPolicy])).toEqual([
      [SIDECAR, 'Always'],
    ]);
  });
});

async function sealed(pod: PodmanPod): Promise<boolean | undefined> {
  const res = await pod.http('http://127.0.0.1:8200/v1/sys/seal-status');
  if (res.status !== 200) return undefined;
  return (JSON.parse(res.body) as { sealed: boolean }).sealed;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
