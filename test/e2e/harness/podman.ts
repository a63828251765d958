// Runs a pod the apiserver stored with `podman kube play`, as a kubelet would: all containers in
// one network namespace (the test reaches the pod's 127.0.0.1 with nsenter), `restartPolicy:
// Always` restarting a container that exits while the others keep running.
//
// The pod is on podman's own bridge network, not `--network none`: podman 4.3's kube play turns
// every containerPort into a host port mapping (a kubelet publishes only hostPort), and refuses
// port mappings without a network. Removing the injected container's ports would change its spec,
// so the sidecar's port is published on the host while the pod runs; pods that run here declare
// no other ports.
//
// podman needs a containers.conf with ulimits (else runc fails with `error setting rlimit type 7`),
// runc and cgroupfs on these machines: writeContainersConf.
import { mkdir, rm, symlink, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Container, Pod } from './pods.js';
import { run, runOk, type RunResult } from './run.js';

export async function writeContainersConf(dir: string): Promise<string> {
  const path = join(dir, 'containers.conf');
  await writeFile(
    path,
    [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      '',
    ].join('\n'),
  );
  return path;
}

export interface Rewrites {
  /** image as stored → image podman can run (only for references podman cannot resolve). */
  readonly images?: Readonly<Record<string, string>>;
  /** volume name → host directory, for sources podman cannot resolve (secret, downwardAPI). */
  readonly hostPaths?: Readonly<Record<string, string>>;
}

/**
 * The stored pod, made runnable by podman, and nothing else: image references podman cannot
 * resolve are replaced by the local image, and volumes whose source podman cannot resolve (a
 * Secret of the apiserver, the downward API) become hostPath directories that the test fills
 * the way the kubelet fills those volumes. The server-set metadata (uid, managedFields, status)
 * is dropped. Containers' specs are otherwise untouched: same env, ports, mounts, securityContext,
 * resources, probes and restart policy.
 */
export function forPodman(stored: Pod, rewrites: Rewrites): Pod {
  const images = rewrites.images ?? {};
  const hostPaths = rewrites.hostPaths ?? {};
  const container = (c: Container): Container =>
    images[c.image] === undefined ? c : { ...c, image: images[c.image]! };
  const volumes = (stored.spec.volumes ?? []).map((v) => {
    const path = hostPaths[String(v['name'])];
    return path === undefined ? v : { name: v['name'], hostPath: { path, type: 'Directory' } };
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: stored.metadata.name,
      ...(stored.metadata.labels ? { labels: stored.metadata.labels } : {}),
      ...(stored.metadata.annotations ? { annotations: stored.metadata.annotations } : {}),
    },
    spec: {
      ...stored.spec,
      containers: stored.spec.containers.map(container),
      ...(stored.spec.initContainers
        ? { initContainers: stored.spec.initContainers.map(container) }
        : {}),
      volumes,
    },
  };
}

/**
 * Writes a Secret's data into `dir` the way the kubelet does: files in a timestamped directory,
 * published at once through the `..data` symlink, one symlink per key.
 */
export async function projectSecret(
  dir: string,
  data: Readonly<Record<string, string>>,
  mode: number,
): Promise<void> {
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}`;
  await mkdir(join(dir, stamp));
  for (const [key, base64] of Object.entries(data)) {
    await writeFile(join(dir, stamp, key), Buffer.from(base64, 'base64'), { mode });
  }
  await symlink(stamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const key of Object.keys(data)) await symlink(join('..data', key), join(dir, key));
}

/** The downward API's `annotations` file, in the kubelet's format (key="value", sorted). */
export async function projectAnnotations(
  dir: string,
  annotations: Readonly<Record<string, string>>,
): Promise<void> {
  const lines = Object.keys(annotations)
    .sort()
    .map((key) => `${key}=${JSON.stringify(annotations[key])}`);
  await writeFile(join(dir, 'annotations'), lines.join('\n'), { mode: 0o644 });
}

export class PodmanPod {
  private constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
  ) {}

  static async play(pod: Pod, dir: string, containersConf: string): Promise<PodmanPod> {
    const env = { CONTAINERS_CONF: containersConf };
    const file = join(dir, `${pod.metadata.name}.podman.yaml`);
    await writeFile(file, stringify(pod));
    await run('podman', ['pod', 'rm', '-f', pod.metadata.name], { env }); // a leftover of a crash
    await runOk('podman', ['kube', 'play', file], { env });
    return new PodmanPod(pod.metadata.name, env);
  }

  podman(args: readonly string[]): Promise<RunResult> {
    return run('podman', args, { env: this.env });
  }

  containerName(container: string): string {
    return `${this.name}-${container}`;
  }

  async inspect(container: string, format: string): Promise<string> {
    const out = await runOk(
      'podman',
      ['inspect', this.containerName(container), '--format', format],
      {
        env: this.env,
      },
    );
    return out.trim();
  }

  /** PID of the pod's infra container: its network namespace is the pod's. */
  async netnsPid(): Promise<number> {
    const infra = (
      await runOk('podman', ['pod', 'inspect', this.name, '--format', '{{.InfraContainerID}}'], {
        env: this.env,
      })
    ).trim();
    const pid = (
      await runOk('podman', ['inspect', infra, '--format', '{{.State.Pid}}'], { env: this.env })
    ).trim();
    return Number(pid);
  }

  /** An HTTP request to the pod's 127.0.0.1, from inside its network namespace (curl). */
  async http(
    url: string,
    options: { method?: string; body?: string; timeoutSeconds?: number } = {},
  ): Promise<{ status: number; body: string }> {
    const pid = await this.netnsPid();
    const args = ['-t', String(pid), '-n', 'curl', '-sS', '-m'];
    args.push(String(options.timeoutSeconds ?? 5), '-w', '\n%{http_code}');
    if (options.method) args.push('-X', options.method);
    if (options.body !== undefined) args.push('--data-binary', '@-');
    args.push(url);
    const result = await run('nsenter', args, { input: options.body ?? '' });
    if (result.code !== 0) return { status: 0, body: '' };
    const cut = result.stdout.lastIndexOf('\n');
    return { status: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, cut) };
  }

  async logs(container: string): Promise<string> {
    const result = await run('podman', ['logs', this.containerName(container)], { env: this.env });
    return result.stdout + result.stderr;
  }

  async remove(): Promise<void> {
    await run('podman', ['pod', 'rm', '-f', '-t', '5', this.name], { env: this.env });
  }
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
