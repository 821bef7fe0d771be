// Shared helpers for the deployment checks: where the tools are, rendering Kustomize
// directories, and parsing multi-document YAML. The tools come from scripts/install-tools.sh;
// a missing tool fails the suite, it is never skipped.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parseDocument } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = path.join(ROOT, 'deploy');
export const TOOLS = path.join(ROOT, '.tools');

/** The Kustomize entry points that are deployed; each is rendered and checked. */
export const OVERLAYS = ['overlays/dev', 'overlays/prod'] as const;
export const KUSTOMIZATIONS = [...OVERLAYS, 'cluster', 'data', 'monitoring', 'observability'] as const;

/** Kubernetes versions the manifests must be valid for (schemas installed by install-tools). */
export const K8S_VERSIONS = ['1.32.0', '1.37.0'] as const;

export function tool(name: string): string {
  const p = path.join(TOOLS, 'bin', name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run scripts/install-tools.sh`);
  return p;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { cwd: opts.cwd ?? ROOT, encoding: 'utf8', input: opts.input, maxBuffer: 64 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`.trim());
  }
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

export function parseYamlStream(text: string, source: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) out.push(value);
  }
  return out;
}

export function readYaml<T = unknown>(file: string): T {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS() as T;
}

const renderCache = new Map<string, string>();

/** `kustomize build` of a directory under deploy/k8s (or an absolute path), cached per run. */
export function renderText(dir: string): string {
  const abs = path.isAbsolute(dir) ? dir : path.join(DEPLOY, 'k8s', dir);
  let text = renderCache.get(abs);
  if (text === undefined) {
    // Scratch kustomizations outside the repository refer back into deploy/k8s.
    const restrictor = abs.startsWith(DEPLOY) ? 'LoadRestrictionsRootOnly' : 'LoadRestrictionsNone';
    text = run(tool('kustomize'), ['build', '--load-restrictor', restrictor, abs]);
    renderCache.set(abs, text);
  }
  return text;
}

export function render(dir: string): K8sObject[] {
  return parseYamlStream(renderText(dir), dir);
}

/** A throw-away kustomization (outside the repository) built on top of deploy/k8s paths. */
/** Absolute paths in `resources` and `components` are made relative (kustomize refuses absolute roots). */
export function scratchKustomization(content: { resources?: string[]; components?: string[]; [key: string]: unknown }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-kustomize-'));
  const rel = (list?: string[]) => list?.map((p) => (path.isAbsolute(p) ? path.relative(dir, p) : p));
  const body = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...content, resources: rel(content.resources), components: rel(content.components) };
  writeFileSync(path.join(dir, 'kustomization.yaml'), JSON.stringify(body, null, 2));
  return dir;
}

let prodWithWorker: string | undefined;

/**
 * The prod overlay with the worker component enabled exactly as docs/deploy.md says to enable
 * it (a `components:` entry in the overlay), rendered from a copy of deploy/k8s.
 */
export function renderProdWithWorkerText(): string {
  if (prodWithWorker === undefined) {
    const copy = path.join(mkdtempSync(path.join(os.tmpdir(), 'plinth-k8s-')), 'k8s');
    cpSync(path.join(DEPLOY, 'k8s'), copy, { recursive: true });
    const file = path.join(copy, 'overlays/prod/kustomization.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\ncomponents:\n  - ../../components/worker\n`);
    prodWithWorker = run(tool('kustomize'), ['build', path.join(copy, 'overlays/prod')]);
  }
  return prodWithWorker;
}

export function renderProdWithWorker(): K8sObject[] {
  return parseYamlStream(renderProdWithWorkerText(), 'prod+worker');
}

export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job']);

export interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: PodSpec;
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
export interface Probe {
  httpGet?: { path: string; port: string | number; scheme?: string };
  periodSeconds?: number;
  failureThreshold?: number;
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: Array<Record<string, unknown>>;
  volumes?: Array<Record<string, unknown> & { name: string }>;
}

export function podTemplate(obj: K8sObject): PodTemplate {
  const spec = obj.spec as Record<string, unknown>;
  if (obj.kind === 'CronJob') {
    const job = (spec.jobTemplate as { spec: { template: PodTemplate } }).spec;
    return job.template;
  }
  return spec.template as PodTemplate;
}

/** matchLabels-only selector semantics plus In/Exists expressions, enough for these manifests. */
export function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const val = labels[e.key];
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
    if (e.operator === 'In' && (val === undefined || !(e.values ?? []).includes(val))) return false;
    if (e.operator === 'NotIn' && val !== undefined && (e.values ?? []).includes(val)) return false;
  }
  return true;
}

/** Bytes from a Kubernetes/nginx size string: 24m, 1Gi, 512Mi, 20971520. */
export function bytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?$/.exec(size.trim());
  if (!m) throw new Error(`not a size: ${size}`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const factor: Record<string, number> = { '': 1, k: 1024, ki: 1024, m: 1024 ** 2, mi: 1024 ** 2, g: 1024 ** 3, gi: 1024 ** 3 };
  return n * factor[unit]!;
}
