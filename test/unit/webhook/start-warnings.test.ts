// The webhook warns at start when it runs in a namespace it is told holds Vault pods: every
// webhook entry excludes the webhook's own namespace, so injection would silently be off there.
// And the sidecar's default memory request covers its measured resident set.
import { describe, expect, it } from 'vitest';
import {
  SETTINGS,
  parseQuantity,
  parseWebhookConfig,
  startWarnings,
} from '../../../webhook/config.js';

const REQUIRED = { SIDECAR_IMAGE: 'registry.example/sidecar:1', WEBHOOK_NAMESPACE: 'vault' };

describe('WEBHOOK_VAULT_NAMESPACES', () => {
  it('is empty by default: nothing to compare, no warning', () => {
    const parsed = parseWebhookConfig(REQUIRED, []);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.value.vaultNamespaces).toEqual([]);
    expect(startWarnings(parsed.value)).toEqual([]);
  });

  it('is a comma-separated list of namespace names, spaces trimmed', () => {
    const parsed = parseWebhookConfig(
      { ...REQUIRED, WEBHOOK_VAULT_NAMESPACES: 'vault, openbao' },
      [],
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.value.vaultNamespaces).toEqual(['vault', 'openbao']);
  });

  it('names every entry that is not a namespace name (exit 2 with the others)', () => {
    const parsed = parseWebhookConfig(
      { ...REQUIRED, WEBHOOK_VAULT_NAMESPACES: 'vault,Vault_Prod,,a.b', LOG_LEVEL: 'loud' },
      [],
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toContainEqual({
      setting: 'WEBHOOK_VAULT_NAMESPACES',
      message: 'has "Vault_Prod", "", "a.b"; accepted: namespace names, comma-separated',
    });
    expect(parsed.problems.map((p) => p.setting)).toContain('LOG_LEVEL');
  });

  it('a namespace name is at most 63 characters; a longer one is named by its first 63', () => {
    const longest = `v${'a'.repeat(62)}`;
    const accepted = parseWebhookConfig({ ...REQUIRED, WEBHOOK_VAULT_NAMESPACES: longest }, []);
    expect(accepted.ok && accepted.value.vaultNamespaces).toEqual([longest]);
    const refused = parseWebhookConfig(
      { ...REQUIRED, WEBHOOK_VAULT_NAMESPACES: `${longest}b` },
      [],
    );
    expect(refused.ok ? [] : refused.problems).toEqual([
      {
        setting: 'WEBHOOK_VAULT_NAMESPACES',
        message: `has ${JSON.stringify(longest)}; accepted: namespace names, comma-separated`,
      },
    ]);
  });

  it('a flag wins over the variable', () => {
    const parsed = parseWebhookConfig({ ...REQUIRED, WEBHOOK_VAULT_NAMESPACES: 'x' }, [
      '--webhook-vault-namespaces=vault',
    ]);
    expect(parsed.ok && parsed.value.vaultNamespaces).toEqual(['vault']);
  });
});

describe('startWarnings', () => {
  it('warns when its own namespace is a Vault namespace, naming it and what to do', () => {
    expect(startWarnings({ namespace: 'vault', vaultNamespaces: ['openbao', 'vault'] })).toEqual([
      "the webhook runs in namespace vault, which WEBHOOK_VAULT_NAMESPACES names as a Vault namespace: every webhook entry excludes the webhook's own namespace, so no pod there is injected; install the webhook in a namespace of its own",
    ]);
  });

  it('says nothing when the namespaces differ (exact names, no prefix match)', () => {
    expect(startWarnings({ namespace: 'vault-autounseal', vaultNamespaces: ['vault'] })).toEqual(
      [],
    );
    expect(startWarnings({ namespace: 'vault', vaultNamespaces: ['vault-prod'] })).toEqual([]);
  });
});

describe("the sidecar's default memory request", () => {
  // docs/footprint.md (third pass): the image's bundle on Node 24 reads 63 to 65 MiB idle, and
  // 65.3 MiB at most over a 10-minute idle under the injected limits (200m, 128Mi; RSS sampled
  // every 5 s). A request below what it uses lets the scheduler pack nodes past their memory.
  const MEASURED_RSS_BYTES = 66 * 2 ** 20;

  it('is at least the measured RSS, and at most the limit', () => {
    const request = parseQuantity(SETTINGS.SIDECAR_MEMORY_REQUEST)!;
    expect(request).toBeGreaterThanOrEqual(MEASURED_RSS_BYTES);
    expect(request).toBeLessThanOrEqual(parseQuantity(SETTINGS.SIDECAR_MEMORY_LIMIT)!);
  });
});
