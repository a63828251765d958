// Shared by the deploy/ tests: run the real tools (helm, kubectl kustomize, promtool), parse what
// they print, and validate every rendered object against a real schema.
//
// Built-in kinds are checked with kubernetes-models (the Kubernetes OpenAPI schema: types and
// required fields); cert-manager and Prometheus Operator kinds with the same project's CRD models.
// A kind neither knows fails the check, so nothing slips through unvalidated.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../harness/repo-root.js';

const execFileAsync = promisify(execFile);

export const ROOT = repoRoot();
export const DEPLOY = join(ROOT, 'deploy');
export const CHART = join(DEPLOY, 'helm', 'vault-autounseal');
export const KUSTOMIZE = join(DEPLOY, 'kustomize');
export const HELM = join(ROOT, '.cache', 'tools', 'bin', 'helm');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs a tool and returns its output and exit code; never throws for a non-zero exit. */
export async function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      cwd: options.cwd ?? ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, HELM_CACHE_HOME: join(ROOT, '.cache', 'helm') },
    });
    return { stdout, stderr, code: 0 };
  } catch (error: unknown) {
    const e = error as { stdout?: string; stderr?: string; code?: number | string };
    if (typeof e.code === 'string') throw error; // ENOENT and friends: the tool is missing
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? 1 };
  }
}

/** Like run, but a non-zero exit is an error that carries the tool's own message. */
export async function runOk(
  file: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

export function requireHelm(): string {
  if (!existsSync(HELM)) {
    throw new Error(
      `${HELM} is missing: run \`bash scripts/deploy-tools.sh\` (npm run test:deploy does)`,
    );
  }
  return HELM;
}

/** Every document of a multi-document YAML stream, parse errors included as failures. */
export function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  // YAML 1.1, as Kubernetes reads manifests (0440 is octal there, not 440).
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

export const RELEASE = 'vault-autounseal';
export const NAMESPACE = 'vault-autounseal';

/** `helm template` of the chart with the given --set / -f arguments. */
const templateArgs = (args: readonly string[]): string[] => [
  'template',
  RELEASE,
  CHART,
  '--namespace',
  NAMESPACE,
  ...args,
];

export async function helmTemplate(args: readonly string[] = []): Promise<K8sObject[]> {
  return parseObjects(await runOk(requireHelm(), templateArgs(args)));
}

/** `helm template` whatever its exit status: for values the chart must refuse. */
export async function helmTemplateResult(args: readonly string[] = []): Promise<RunResult> {
  return run(requireHelm(), templateArgs(args));
}

export function find(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  }
  return found[0]!;
}

export function kinds(objects: readonly K8sObject[]): string[] {
  return objects.map((o) => o.kind).sort();
}

type ModelModule = Record<string, new (data: unknown) => { validate(): void }>;

/** Where the schema of each apiVersion lives. */
function modelModule(apiVersion: string): string | undefined {
  if (apiVersion.startsWith('cert-manager.io/'))
    return `@kubernetes-models/cert-manager/${apiVersion}`;
  if (apiVersion.startsWith('monitoring.coreos.com/')) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  }
  if (/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion)) return `kubernetes-models/${apiVersion}`;
  return undefined;
}

/**
 * Validates an object against its kind's schema. Returns the problems (empty when valid): an
 * unknown apiVersion or kind is a problem too.
 */
export async function schemaProblems(object: K8sObject): Promise<string[]> {
  const where = `${object.kind}/${object.metadata?.name ?? '?'}`;
  const modulePath = modelModule(String(object.apiVersion));
  if (!modulePath) return [`${where}: no schema for apiVersion ${object.apiVersion}`];
  let mod: ModelModule;
  try {
    mod = (await import(modulePath)) as ModelModule;
  } catch {
    return [`${where}: no schema module for apiVersion ${object.apiVersion}`];
  }
  const Model = mod[object.kind];
  if (!Model) return [`${where}: ${object.apiVersion} has no kind ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error: unknown) {
    return [`${where}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

export async function allSchemaProblems(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) problems.push(...(await schemaProblems(object)));
  return problems;
}

/** A path into plain data, for readable assertions on rendered objects. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
