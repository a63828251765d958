// The publishing workflow (.github/workflows/release.yml) can only be run where a registry is
// reachable; here it is checked with actionlint (scripts/release/actionlint.sh builds it through the
// Go module proxy, cached per user) and held to the release command CI runs, so the two cannot drift:
// the workflow builds with `npm run release -- --version`, and publishes only what that made.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const WORKFLOW = join(ROOT, '.github', 'workflows', 'release.yml');
const RELEASE_COMMAND = /\bnpm run release -- --version "\$VERSION"/;
const run = promisify(execFile);

interface Step {
  name?: string;
  uses?: string;
  run?: string;
}
interface Workflow {
  on: { push: { tags: string[] } };
  jobs: Record<string, { steps: Step[]; permissions: Record<string, string> }>;
}

/** The steps of the workflow, with the index of the one that runs the release command. */
function releaseStep(workflow: Workflow) {
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  return { steps, at: steps.findIndex((s) => RELEASE_COMMAND.test(s.run ?? '')) };
}

describe('.github/workflows/release.yml', () => {
  const text = readFileSync(WORKFLOW, 'utf8');
  const workflow = parseYaml(text) as Workflow;

  it('passes actionlint', async () => {
    const { stdout: bin } = await run('bash', [join(ROOT, 'scripts', 'release', 'actionlint.sh')]);
    const result = await run(bin.trim(), ['-color=false', WORKFLOW]).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
  });

  it('runs on a version tag, with the permissions keyless signing and publishing need', () => {
    expect(workflow.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+*']);
    const job = Object.values(workflow.jobs)[0]!;
    expect(job.permissions).toEqual({ contents: 'write', packages: 'write', 'id-token': 'write' });
  });

  it('builds with the release command CI runs, before it pushes, signs or publishes anything', () => {
    const { steps, at } = releaseStep(workflow);
    expect(at, 'no step runs npm run release -- --version "$VERSION"').toBeGreaterThanOrEqual(0);
    const publishing = steps.findIndex((s) =>
      /skopeo copy|helm push|cosign|gh release/.test(s.run ?? ''),
    );
    expect(publishing).toBeGreaterThan(at);
    // CI runs the same command (.ci/run's release stage).
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toMatch(
      /npm run release -- --version "\$version"/,
    );
  });

  it('the check above fails on a workflow that builds some other way', () => {
    const edited = parseYaml(
      text.replace(/npm run release -- --version/g, 'make images VERSION='),
    ) as Workflow;
    expect(releaseStep(edited).at).toBe(-1);
  });

  it('pushes the archives as built, signs every image and the chart, attests each SBOM, publishes the checksums', () => {
    const script = Object.values(workflow.jobs)[0]!
      .steps.map((s) => s.run ?? '')
      .join('\n');
    expect(script).toContain('skopeo copy --all --preserve-digests');
    expect(script).toMatch(/cosign sign --yes "\$REGISTRY\/\$image@\$digest"/);
    expect(script).toMatch(/cosign sign --yes "\$REGISTRY\/charts\/vault-autounseal@\$digest"/);
    expect(script).toContain('cosign attest --yes --type cyclonedx');
    expect(script).toContain('--notes-file "$dir/RELEASE-NOTES.md"');
    expect(script).toContain('"$dir/SHA256SUMS"');
  });
});
