// The unknown-field check the contract checks rely on must itself be able to fail.
import { describe, expect, it } from 'vitest';
import { unknownFields } from '../../fixtures/webhook/contract-checks.js';

describe('unknownFields', () => {
  it('accepts a container made only of Kubernetes fields', () => {
    const container = {
      name: 'x',
      image: 'y',
      securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      livenessProbe: { httpGet: { path: '/healthz', port: 'p' } },
    };
    expect(unknownFields(container, 'Container')).toEqual([]);
  });

  it('finds typos at any depth', () => {
    const container = {
      name: 'x',
      imagePolicy: 'Always',
      securityContext: { readOnlyRootFileSystem: true, seccompProfile: { kind: 'RuntimeDefault' } },
      livenessProbe: { httpGet: { url: '/healthz' } },
      ports: [{ containerPort: 1 }, { port: 2 }],
    };
    expect(unknownFields(container, 'Container')).toEqual([
      '.imagePolicy',
      '.securityContext.readOnlyRootFileSystem',
      '.securityContext.seccompProfile.kind',
      '.livenessProbe.httpGet.url',
      '.ports[1].port',
    ]);
  });

  it('checks volumes and their sources', () => {
    expect(unknownFields([{ name: 'v', secret: { secretName: 's', mode: 1 } }], 'Volume')).toEqual([
      '[0].secret.mode',
    ]);
  });
});
