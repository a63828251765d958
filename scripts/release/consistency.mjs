// Pure decisions of `npm run release` (scripts/release/release.mjs): is the version written the
// same everywhere, does the CHANGELOG have an entry for it, what do the release notes say, what
// SHA256SUMS holds. No I/O here: release.mjs reads the files and runs the programs, and
// test/release/consistency.test.ts tests these functions on strings.

/** X.Y.Z with an optional pre-release (-rc.1): what a tag `vX.Y.Z` and a chart version accept. */
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;

export function isReleaseVersion(version) {
  return typeof version === 'string' && SEMVER.test(version);
}

/**
 * The CHANGELOG section of one version: the lines after its `## [X.Y.Z]` or `## X.Y.Z` heading
 * (a date may follow) up to the next `## ` heading, trimmed. undefined when there is none or it
 * is empty.
 */
export function changelogEntry(changelog, version) {
  const lines = changelog.split('\n');
  const escaped = version.replace(/[.+]/g, (c) => `\\${c}`);
  const heading = new RegExp(`^## \\[?v?${escaped}\\]?(\\s|$)`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  const body = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  return body === '' ? undefined : body;
}

/** Every place the version is written in the source, before anything is built. */
export function sourceProblems({
  version,
  packageVersion,
  chartVersion,
  chartAppVersion,
  changelog,
}) {
  const problems = [];
  if (!isReleaseVersion(version)) {
    problems.push(`--version ${JSON.stringify(version)} is not a version X.Y.Z`);
    return problems;
  }
  const places = [
    ['package.json "version"', packageVersion],
    ['deploy/helm/vault-autounseal/Chart.yaml version', chartVersion],
    ['deploy/helm/vault-autounseal/Chart.yaml appVersion', chartAppVersion],
  ];
  for (const [where, found] of places) {
    if (String(found) !== version)
      problems.push(`${where} is ${JSON.stringify(found)}, not ${version}`);
  }
  if (changelog === undefined) problems.push('CHANGELOG.md is missing');
  else if (changelogEntry(changelog, version) === undefined)
    problems.push(`CHANGELOG.md has no entry "## [${version}]" (with text under it)`);
  return problems;
}

/** What the built image says about itself: its OCI version label and its program's --version. */
export function imageProblems({ image, version, labels, versionOutput, program }) {
  const problems = [];
  const label = labels?.['org.opencontainers.image.version'];
  if (label !== version)
    problems.push(
      `${image}: label org.opencontainers.image.version is ${JSON.stringify(label)}, not ${version}`,
    );
  const first =
    String(versionOutput ?? '')
      .trim()
      .split('\n')[0] ?? '';
  if (!first.startsWith(`vault-autounseal-${program} ${version} `))
    problems.push(
      `${image}: --version printed ${JSON.stringify(first)}, not "vault-autounseal-${program} ${version} (revision …)"`,
    );
  return problems;
}

/** sha256sum's format, sorted by name, so `sha256sum -c SHA256SUMS` verifies it. */
export function sha256sums(entries) {
  return (
    [...entries]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(({ name, sha256 }) => `${sha256}  ${name}`)
      .join('\n') + '\n'
  );
}

/** The release notes: the CHANGELOG entry, then what to pull and how to check it. */
export function releaseNotes({ version, entry, images, chart }) {
  const lines = [`# vault-autounseal ${version}`, '', entry, '', '## Artefacts', ''];
  for (const image of images) {
    lines.push(
      `- \`${image.repository}:${version}\` (linux/amd64, linux/arm64): \`${image.digest}\``,
    );
  }
  lines.push(
    `- Helm chart \`${chart.name}-${version}.tgz\` (\`oci://${chart.registry}\`), its default values pinned to the digests above`,
    '',
    'Every file of the release is listed with its SHA-256 in `SHA256SUMS` (`sha256sum -c SHA256SUMS`).',
    'Images and chart are signed keylessly with cosign; each image carries its SBOMs (CycloneDX,',
    'one per architecture) as attestations. docs/release.md says how to verify both.',
    '',
  );
  return lines.join('\n');
}
