// The admission paths go into MutatingWebhookConfiguration entries (docs/adr/0002): the apiserver
// accepts a service path only if every segment is a DNS-1123 subdomain.
import { describe, expect, it } from 'vitest';
import { ADMISSION_PATHS } from '../../../webhook/server.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('ADMISSION_PATHS', () => {
  it.each(Object.keys(ADMISSION_PATHS))('%s is a valid webhook service path', (path) => {
    expect(path.startsWith('/')).toBe(true);
    for (const segment of path.slice(1).split('/')) {
      expect(segment).toMatch(DNS1123_SUBDOMAIN);
      expect(segment.length).toBeLessThanOrEqual(253);
    }
  });

  it('maps each entry of the ADR to what its namespace selector established', () => {
    expect(ADMISSION_PATHS).toEqual({
      '/mutate': 'absent',
      '/mutate/namespace-enabled': 'enabled',
      '/mutate/namespace-invalid': 'invalid',
    });
  });
});
