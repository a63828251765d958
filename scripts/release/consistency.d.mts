// Types of scripts/release/consistency.mjs, for the unit test that imports it.
export declare function isReleaseVersion(version: unknown): boolean;
export declare function changelogEntry(changelog: string, version: string): string | undefined;
export declare function sourceProblems(input: {
  version: string;
  packageVersion: unknown;
  chartVersion: unknown;
  chartAppVersion: unknown;
  changelog: string | undefined;
}): string[];
export declare function imageProblems(input: {
  image: string;
  version: string;
  labels: Record<string, string> | undefined;
  versionOutput: string | undefined;
  program: string;
}): string[];
export declare function sha256sums(entries: readonly { name: string; sha256: string }[]): string;
export declare function releaseNotes(input: {
  version: string;
  entry: string;
  images: readonly { repository: string; digest: string }[];
  chart: { name: string; registry: string };
}): string;
