// The plain manifests (deploy/kustomize/): rendered from the Helm chart and current, built by the
// kustomize inside kubectl (offline), every object valid against its schema, and both certificate
// paths wired: cert-manager's CA injection, and make-certs.sh + the without-cert-manager overlay.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KUSTOMIZE,
  NAMESPACE,
  allSchemaProblems,
  at,
  find,
  parseObjects,
  requireHelm,
  run,
  runOk,
  type K8sObject,
} from './support.js';

const execFileAsync = promisify(execFile);
const SERVICE = 'vault-autounseal-webhook';

async function kustomize(dir: string): Promise<K8sObject[]> {
  return parseObjects(await runOk('kubectl', ['kustomize', dir]));
}

function tlsSecretName(objects: readonly K8sObject[]): string | undefined {
  const volumes = at(find(objects, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as {
    name: string;
    secret?: { secretName: string };
  }[];
  return volumes.find((v) => v.name === 'tls')?.secret?.secretName;
}

describe('kustomize manifests', () => {
  it('are current: render.mjs --check finds them equal to what the chart renders now', async () => {
    requireHelm();
    const result = await run('node', [join(KUSTOMIZE, 'render.mjs'), '--check']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  describe.each(['base', 'cert-manager', 'observability'])('%s', (overlay) => {
    it('builds with kubectl kustomize, every object valid against its schema', async () => {
      const objects = await kustomize(join(KUSTOMIZE, overlay));
      expect(objects.length).toBeGreaterThan(2);
      expect(await allSchemaProblems(objects)).toEqual([]);
      for (const object of objects) {
        if (!['Namespace', 'MutatingWebhookConfiguration'].includes(object.kind)) {
          expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe(
            NAMESPACE,
          );
        }
        // Helm's bookkeeping labels are stripped from the plain manifests.
        expect(object.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
      }
    });
  });

  it('base: the namespace enforces Pod Security "restricted" and is excluded from injection', async () => {
    const objects = await kustomize(join(KUSTOMIZE, 'base'));
    const namespace = find(objects, 'Namespace');
    expect(namespace.metadata.name).toBe(NAMESPACE);
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const webhook of find(objects, 'MutatingWebhookConfiguration').webhooks as unknown[]) {
      const names = (
        at(webhook, 'namespaceSelector', 'matchExpressions') as { key: string; values?: string[] }[]
      ).find((e) => e.key === 'kubernetes.io/metadata.name');
      expect(names?.values).toContain(NAMESPACE);
    }
  });

  it('cert-manager: the Certificate fills the Secret the pods mount and its CA is injected', async () => {
    const objects = await kustomize(join(KUSTOMIZE, 'cert-manager'));
    const certificate = find(objects, 'Certificate', SERVICE);
    expect(at(certificate, 'spec', 'secretName')).toBe(tlsSecretName(objects));
    expect(at(certificate, 'spec', 'dnsNames')).toContain(`${SERVICE}.${NAMESPACE}.svc`);
    const mwc = find(objects, 'MutatingWebhookConfiguration');
    expect(mwc.metadata.annotations).toEqual({
      'cert-manager.io/inject-ca-from': `${NAMESPACE}/${certificate.metadata.name}`,
    });
  });

  describe('without-cert-manager, after make-certs.sh', () => {
    let work: string;
    let overlay: string;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'vau-kustomize-'));
      cpSync(KUSTOMIZE, work, { recursive: true });
      overlay = join(work, 'without-cert-manager');
      await execFileAsync('bash', [join(overlay, 'make-certs.sh')]);
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('does not build before the certificates exist (no silent empty caBundle)', async () => {
      const bare = mkdtempSync(join(tmpdir(), 'vau-kustomize-bare-'));
      try {
        cpSync(KUSTOMIZE, bare, { recursive: true });
        rmSync(join(bare, 'without-cert-manager', 'tls-secret.yaml'), { force: true });
        const result = await run('kubectl', ['kustomize', join(bare, 'without-cert-manager')]);
        expect(result.code).not.toBe(0);
      } finally {
        rmSync(bare, { recursive: true, force: true });
      }
    });

    it('builds, every object valid against its schema, no cert-manager objects', async () => {
      const objects = await kustomize(overlay);
      expect(await allSchemaProblems(objects)).toEqual([]);
      expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
      expect(find(objects, 'MutatingWebhookConfiguration').metadata.annotations).toBeUndefined();
    });

    it('mounts a TLS Secret whose certificate names the Service and chains to the caBundle', async () => {
      const objects = await kustomize(overlay);
      const secret = find(objects, 'Secret');
      expect(secret.type).toBe('kubernetes.io/tls');
      expect(secret.metadata.name).toBe(tlsSecretName(objects));
      const data = secret.data as Record<string, string>;
      const leaf = new X509Certificate(Buffer.from(data['tls.crt']!, 'base64'));
      const ca = new X509Certificate(readFileSync(join(overlay, 'ca.crt')));
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkHost(`${SERVICE}.${NAMESPACE}.svc`)).toBe(`${SERVICE}.${NAMESPACE}.svc`);
      for (const webhook of find(objects, 'MutatingWebhookConfiguration').webhooks as unknown[]) {
        const caBundle = Buffer.from(String(at(webhook, 'clientConfig', 'caBundle')), 'base64');
        expect(new X509Certificate(caBundle).fingerprint256).toBe(ca.fingerprint256);
      }
    });

    it('renews: a second run issues a new serving certificate under the same CA', async () => {
      const caBefore = readFileSync(join(overlay, 'ca.crt'), 'utf8');
      const leafBefore = readFileSync(join(overlay, 'tls.crt'), 'utf8');
      await execFileAsync('bash', [join(overlay, 'make-certs.sh')]);
      expect(readFileSync(join(overlay, 'ca.crt'), 'utf8')).toBe(caBefore);
      const leafAfter = readFileSync(join(overlay, 'tls.crt'), 'utf8');
      expect(leafAfter).not.toBe(leafBefore);
      expect(new X509Certificate(leafAfter).checkIssued(new X509Certificate(caBefore))).toBe(true);
    });
  });
});
