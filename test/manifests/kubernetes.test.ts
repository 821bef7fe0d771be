// Kubernetes manifests: every kustomization renders, every object is valid against the
// Kubernetes OpenAPI schemas (kubeconform, offline) or, for custom resources, against their
// CRD schemas where a copy exists offline, and the rendered objects follow the policies
// docs/deploy.md promises.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Application, AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import { Certificate, ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { ExternalSecret, SecretStore } from '@kubernetes-models/external-secrets/external-secrets.io/v1';
import { PodMonitor, PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ENV_VARS, META_ENV_VARS } from '../../src/config/schema.js';
import {
  DEPLOY, K8S_VERSIONS, KUSTOMIZATIONS, OVERLAYS, ROOT, TOOLS, WORKLOAD_KINDS,
  bytes, parseYamlStream, podTemplate, render, renderProdWithWorker, renderProdWithWorkerText, renderText, run, scratchKustomization, selects, tool,
  type Container, type K8sObject,
} from './helpers.js';

// Custom resources: validated with the CRD schemas shipped in @kubernetes-models/* packages.
// CloudNativePG (Cluster, Pooler, ScheduledBackup, Database) and the Barman Cloud plugin
// (ObjectStore) have no schema source reachable offline; they get the structural checks in
// the data suite below, and kubeconform skips them explicitly (never silently).
type Validator = { validate(): void };
const CRD_VALIDATORS: Record<string, (o: K8sObject) => Validator> = {
  'cert-manager.io/v1/Certificate': (o) => new Certificate(o as never),
  'cert-manager.io/v1/ClusterIssuer': (o) => new ClusterIssuer(o as never),
  'external-secrets.io/v1/ExternalSecret': (o) => new ExternalSecret(o),
  'external-secrets.io/v1/SecretStore': (o) => new SecretStore(o as never),
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => new ServiceMonitor(o as never),
  'monitoring.coreos.com/v1/PodMonitor': (o) => new PodMonitor(o as never),
  'monitoring.coreos.com/v1/PrometheusRule': (o) => new PrometheusRule(o as never),
  'argoproj.io/v1alpha1/Application': (o) => new Application(o as never),
  'argoproj.io/v1alpha1/AppProject': (o) => new AppProject(o as never),
};
const NO_SCHEMA_OFFLINE = new Set([
  'postgresql.cnpg.io/v1/Cluster',
  'postgresql.cnpg.io/v1/Pooler',
  'postgresql.cnpg.io/v1/ScheduledBackup',
  'postgresql.cnpg.io/v1/Database',
  'barmancloud.cnpg.io/v1/ObjectStore',
]);
const gvk = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;
const customKinds = [...Object.keys(CRD_VALIDATORS), ...NO_SCHEMA_OFFLINE].map((k) => k.split('/').pop()!);

const ALL_RENDERS: Array<{ name: string; objects: () => K8sObject[]; text: () => string }> = [
  ...KUSTOMIZATIONS.map((k) => ({ name: k, objects: () => render(k), text: () => renderText(k) })),
  { name: 'argocd', objects: () => render(path.join(DEPLOY, 'argocd')), text: () => renderText(path.join(DEPLOY, 'argocd')) },
];

/** Environment variables a container may use besides Plinth's settings. */
const RUNTIME_ENV = new Set(['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS']);
const SETTINGS = new Map(ENV_VARS.map((v) => [v.name, v]));

function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
}
function containersOf(o: K8sObject): Container[] {
  const spec = podTemplate(o).spec;
  return [...(spec.initContainers ?? []), ...spec.containers];
}
function envOf(c: Container, objects: K8sObject[]): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const from of c.envFrom ?? []) {
    const name = from.configMapRef?.name;
    assert.ok(name, `${c.name}: envFrom must reference ConfigMaps only (secrets are files)`);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    assert.ok(cm, `${c.name}: ConfigMap ${name} is not in the render`);
    for (const [k, v] of Object.entries(cm.data ?? {})) env.set(k, v);
  }
  for (const e of c.env ?? []) env.set(e.name, e.value);
  return env;
}
function cliCommands(): Set<string> {
  // Commands are registered in src/cli/main.ts and in the modules it loads (backup, workflows, …).
  const dir = path.join(ROOT, 'src/cli');
  const src = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  return new Set([...src.matchAll(/\.command\('([a-z-]+)/g)].map((m) => m[1]!));
}

describe('kustomize renders', () => {
  for (const r of ALL_RENDERS) {
    it(`${r.name} renders`, () => {
      assert.ok(r.objects().length > 0);
    });
  }
  it('prod with the worker component renders', () => {
    assert.ok(renderProdWithWorker().some((o) => o.kind === 'Deployment' && o.metadata.name === 'plinth-worker'));
  });
});

const SCHEMA_LOCATION = path.join(TOOLS, 'k8s-schemas', '{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json');
interface KubeconformResult { filename: string; kind: string; name: string; status: string; msg: string }
const kubeconformRuns = new Map<string, KubeconformResult[]>();

/** One kubeconform run per Kubernetes version over every render (schemas compile once). */
function kubeconform(version: string): KubeconformResult[] {
  let results = kubeconformRuns.get(version);
  if (!results) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-kubeconform-'));
    for (const r of SCHEMA_RENDERS) writeFileSync(path.join(dir, `${r.name.replaceAll('/', '_')}.yaml`), r.text());
    const out = run(tool('kubeconform'), ['-strict', '-summary', '-verbose', '-output', 'json', '-kubernetes-version', version, '-schema-location', SCHEMA_LOCATION, '-skip', customKinds.join(','), dir]);
    results = (JSON.parse(out) as { resources: KubeconformResult[] }).resources;
    kubeconformRuns.set(version, results);
  }
  return results;
}
const SCHEMA_RENDERS = [...ALL_RENDERS, { name: 'prod+worker', text: renderProdWithWorkerText }];

describe('schemas', () => {
  for (const version of K8S_VERSIONS) {
    for (const r of SCHEMA_RENDERS) {
      it(`${r.name} is valid for Kubernetes ${version} (kubeconform, strict)`, () => {
        const mine = kubeconform(version).filter((x) => path.basename(x.filename) === `${r.name.replaceAll('/', '_')}.yaml`);
        const bad = mine.filter((x) => x.status !== 'statusValid' && x.status !== 'statusSkipped');
        assert.deepEqual(bad, []);
        const expected = parseYamlStream(r.text(), r.name);
        assert.equal(mine.length, expected.length, 'every object was looked at');
        for (const x of mine.filter((y) => y.status === 'statusSkipped')) assert.ok(customKinds.includes(x.kind), `${x.kind} skipped`);
      });
    }
  }

  it('kubeconform rejects an invalid object (the schemas are really used)', () => {
    const bad = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: "x:1", imagePullPolcy: Always}]\n';
    assert.throws(() => run(tool('kubeconform'), ['-strict', '-kubernetes-version', K8S_VERSIONS[0], '-schema-location', SCHEMA_LOCATION, '-'], { input: bad }), /imagePullPolcy/);
  });

  for (const r of [...ALL_RENDERS, { name: 'prod+worker', objects: renderProdWithWorker }]) {
    it(`${r.name}: custom resources match their CRD schemas, or are known to have none offline`, () => {
      for (const o of r.objects()) {
        if (!o.apiVersion.includes('.') || o.apiVersion.endsWith('.k8s.io/v1') || /^(apps|batch|policy|autoscaling)\//.test(o.apiVersion)) continue;
        const v = CRD_VALIDATORS[gvk(o)];
        if (v) {
          assert.doesNotThrow(() => v(o).validate(), `${gvk(o)} ${o.metadata.name}`);
        } else {
          assert.ok(NO_SCHEMA_OFFLINE.has(gvk(o)), `${gvk(o)} ${o.metadata.name}: unknown custom resource kind; add its schema or list it`);
        }
      }
    });
  }

  it('kubeconform rejects an invalid object (the schemas are really used)', () => {
    const bad = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: "x:1", imagePullPolcy: Always}]\n';
    assert.throws(() =>
      run(tool('kubeconform'), ['-strict', '-kubernetes-version', K8S_VERSIONS[0], '-schema-location', path.join(TOOLS, 'k8s-schemas', '{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'), '-'], { input: bad }),
    /imagePullPolcy/);
  });
});

for (const [name, objects] of [
  ...OVERLAYS.map((o) => [o, () => render(o)] as const),
  ['prod+worker', renderProdWithWorker] as const,
]) {
  describe(`policy: ${name}`, () => {
    const objs = objects();
    const ws = workloads(objs);

    it('has workloads', () => assert.ok(ws.length >= 3));

    it('refuses Secret objects: secrets come only from ExternalSecrets (Vault) or cert-manager', () => {
      for (const o of objs) assert.notEqual(o.kind, 'Secret', `Secret ${o.metadata.name} in the manifests`);
    });

    it('needs no RBAC: no Role, ClusterRole or bindings; service accounts mount no token', () => {
      for (const o of objs) assert.ok(!/^(Cluster)?Role(Binding)?$/.test(o.kind), `${o.kind} ${o.metadata.name}`);
      for (const sa of objs.filter((o) => o.kind === 'ServiceAccount')) assert.equal(sa.automountServiceAccountToken, false, sa.metadata.name);
      for (const w of ws) {
        const spec = podTemplate(w).spec;
        assert.equal(spec.automountServiceAccountToken, false, w.metadata.name);
        assert.ok(objs.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === spec.serviceAccountName), `${w.metadata.name}: service account`);
      }
    });

    it('enforces the restricted Pod Security Standard on the namespace', () => {
      const ns = objs.find((o) => o.kind === 'Namespace');
      assert.equal(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
      for (const o of objs) if (o.kind !== 'Namespace' && o.metadata.namespace) assert.equal(o.metadata.namespace, ns.metadata.name, `${o.kind} ${o.metadata.name}`);
    });

    for (const w of ws) {
      const label = `${w.kind} ${w.metadata.name}`;
      const tpl = podTemplate(w);
      const spec = tpl.spec;
      const long = w.kind !== 'CronJob' && w.kind !== 'Job';

      it(`${label}: restricted security context`, () => {
        const psc = spec.securityContext ?? {};
        assert.equal(psc.runAsNonRoot, true);
        assert.equal((psc.seccompProfile as { type?: string } | undefined)?.type, 'RuntimeDefault');
        assert.ok(typeof psc.runAsUser === 'number' && psc.runAsUser > 0);
        for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) assert.ok(!(spec as unknown as Record<string, unknown>)[key], key);
        for (const v of spec.volumes ?? []) assert.ok(!('hostPath' in v), `hostPath volume ${v.name}`);
        for (const c of containersOf(w)) {
          const sc = c.securityContext ?? {};
          assert.equal(sc.allowPrivilegeEscalation, false, c.name);
          assert.equal(sc.readOnlyRootFilesystem, true, c.name);
          assert.equal(sc.privileged ?? false, false, c.name);
          assert.deepEqual((sc.capabilities as { drop?: string[] } | undefined)?.drop, ['ALL'], c.name);
          assert.ok(!(sc.capabilities as { add?: string[] } | undefined)?.add?.length, `${c.name} adds capabilities`);
          assert.notEqual(sc.runAsUser, 0, c.name);
        }
      });

      it(`${label}: resources (CPU and memory requests, memory and ephemeral-storage limits)`, () => {
        for (const c of containersOf(w)) {
          assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${c.name}: requests`);
          assert.ok(c.resources.limits?.memory, `${c.name}: memory limit`);
          assert.ok(c.resources.limits['ephemeral-storage'], `${c.name}: ephemeral-storage limit`);
          assert.ok(bytes(c.resources.limits.memory) >= bytes(c.resources.requests.memory), `${c.name}: limit below request`);
        }
      });

      it(`${label}: writable paths are volumes (read-only root filesystem)`, () => {
        const c = spec.containers[0]!;
        const mounts = new Set((c.volumeMounts ?? []).map((m) => m.mountPath));
        assert.ok(mounts.has('/tmp'), '/tmp');
        assert.ok(mounts.has('/var/lib/plinth'), 'PLINTH_DATA_DIR');
      });

      if (long) {
        it(`${label}: startup, liveness and readiness probes with distinct meanings`, () => {
          const c = spec.containers[0]!;
          assert.ok(c.startupProbe && c.livenessProbe && c.readinessProbe, 'all three probes');
          assert.equal(c.livenessProbe.httpGet?.path, '/livez', 'liveness must not depend on the database');
          assert.equal(c.startupProbe.httpGet?.path, '/livez');
          assert.equal(c.readinessProbe.httpGet?.path, '/readyz');
          const startupBudget = (c.startupProbe.periodSeconds ?? 10) * (c.startupProbe.failureThreshold ?? 3);
          assert.ok(startupBudget >= 120, `startup budget ${startupBudget}s is too short for migrations at start`);
          const env = envOf(c, objs);
          const tls = env.has('TLS_CERT_FILE');
          for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) assert.equal(p.httpGet?.scheme ?? 'HTTP', tls ? 'HTTPS' : 'HTTP');
        });

        it(`${label}: a PodDisruptionBudget selects it`, () => {
          const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget' && selects((o.spec as { selector: never }).selector, tpl.metadata?.labels ?? {}));
          assert.equal(pdbs.length, 1);
        });

        it(`${label}: terminationGracePeriodSeconds covers the shutdown delay and drain`, () => {
          const c = spec.containers[0]!;
          const env = envOf(c, objs);
          const delay = Number(env.get('PLINTH_SHUTDOWN_DELAY_MS') ?? 0);
          const drain = Number(env.get('PLINTH_SHUTDOWN_TIMEOUT_MS') ?? 10_000);
          const preStop = (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
          const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
          assert.ok(grace >= preStop + delay + drain + 5000, `grace ${grace} ms < preStop ${preStop} + delay ${delay} + drain ${drain} + 5000 ms`);
        });

        it(`${label}: spread across zones and nodes`, () => {
          const keys = (spec.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
          assert.ok(keys.includes('topology.kubernetes.io/zone') && keys.includes('kubernetes.io/hostname'));
          if (name !== 'overlays/dev' && w.metadata.name === 'plinth-serve') {
            const zone = spec.topologySpreadConstraints!.find((t) => t.topologyKey === 'topology.kubernetes.io/zone')!;
            assert.equal(zone.whenUnsatisfiable, 'DoNotSchedule', 'production spreads replicas across zones strictly');
          }
        });
      }

      it(`${label}: a NetworkPolicy of its own selects it, under a default deny`, () => {
        const labels = tpl.metadata?.labels ?? {};
        const pols = objs.filter((o) => o.kind === 'NetworkPolicy');
        const deny = pols.find((p) => Object.keys((p.spec as { podSelector: object }).podSelector).length === 0 && !(p.spec as { ingress?: unknown }).ingress && !(p.spec as { egress?: unknown }).egress);
        assert.deepEqual((deny?.spec as { policyTypes?: string[] } | undefined)?.policyTypes?.sort(), ['Egress', 'Ingress']);
        const own = pols.filter((p) => Object.keys((p.spec as { podSelector: object }).podSelector).length > 0 && selects((p.spec as { podSelector: never }).podSelector, labels));
        assert.ok(own.length >= 1);
      });

      it(`${label}: environment is Plinth settings, secrets only as *_FILE, every file mounted`, () => {
        for (const c of spec.containers) {
          const env = envOf(c, objs);
          const mounts = (c.volumeMounts ?? []).map((m) => m.mountPath);
          for (const [k, v] of env) {
            const base = k.endsWith('_FILE') && SETTINGS.get(k.slice(0, -5))?.secret ? k.slice(0, -5) : k;
            assert.ok(SETTINGS.has(base) || META_ENV_VARS.has(k) || RUNTIME_ENV.has(k), `${c.name}: ${k} is not a Plinth setting`);
            assert.ok(!SETTINGS.get(k)?.secret, `${c.name}: secret ${k} given as a value; use ${k}_FILE`);
            assert.ok(!/:\/\/[^/\s:@]+:[^/\s@]+@/.test(v ?? ''), `${c.name}: ${k} carries credentials`);
            if ((k.endsWith('_FILE') || k === 'NODE_EXTRA_CA_CERTS') && v) assert.ok(mounts.some((m) => v.startsWith(`${m}/`)), `${c.name}: ${k}=${v} is not on a mounted volume`);
          }
        }
      });

      it(`${label}: image is the release image, by version, never latest`, () => {
        for (const c of containersOf(w)) {
          assert.match(c.image, /^ghcr\.io\/plinth\/plinth:\d+\.\d+\.\d+(-[\w.]+)?(@sha256:[0-9a-f]{64})?$/, c.image);
        }
      });
    }

    it('secrets and certificates that pods mount are produced by ExternalSecrets or cert-manager', () => {
      const produced = new Set([
        ...objs.filter((o) => o.kind === 'ExternalSecret').map((o) => (o.spec as { target: { name: string } }).target.name),
        ...objs.filter((o) => o.kind === 'Certificate').map((o) => (o.spec as { secretName: string }).secretName),
      ]);
      for (const w of ws) for (const v of podTemplate(w).spec.volumes ?? []) {
        const s = (v as { secret?: { secretName: string } }).secret;
        if (s) assert.ok(produced.has(s.secretName), `${w.metadata.name}: Secret ${s.secretName} has no producer`);
      }
      for (const o of objs.filter((x) => x.kind === 'ServiceMonitor' || x.kind === 'PodMonitor')) {
        const eps = ((o.spec as { endpoints?: unknown[]; podMetricsEndpoints?: unknown[] }).endpoints ?? (o.spec as { podMetricsEndpoints: unknown[] }).podMetricsEndpoints) as Array<{ authorization?: { credentials: { name: string } } }>;
        for (const ep of eps) assert.ok(ep.authorization && produced.has(ep.authorization.credentials.name), `${o.metadata.name}: metrics token`);
      }
    });

    it('commands that do not exist yet are not run: CronJobs suspended, no worker Deployment', () => {
      const commands = cliCommands();
      for (const cj of objs.filter((o) => o.kind === 'CronJob')) {
        const cmd = podTemplate(cj).spec.containers[0]!.args![0]!;
        if (!commands.has(cmd)) assert.equal((cj.spec as { suspend?: boolean }).suspend, true, `${cj.metadata.name}: \`plinth ${cmd}\` does not exist yet`);
      }
      if (name !== 'prod+worker' && !commands.has('worker')) assert.ok(!objs.some((o) => o.metadata.name === 'plinth-worker'));
    });
  });
}

describe('serve wiring', () => {
  for (const overlay of OVERLAYS) {
    const objs = render(overlay);
    const deploy = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'plinth-serve')!;
    const c = podTemplate(deploy).spec.containers[0]!;
    const env = envOf(c, objs);

    it(`${overlay}: TLS everywhere: HTTPS listener, verify-full to PostgreSQL, CA for Redis`, () => {
      assert.ok(env.get('TLS_CERT_FILE') && env.get('TLS_KEY_FILE'));
      assert.equal(env.get('DATABASE_SSL_MODE'), 'verify-full');
      assert.ok(env.get('DATABASE_CA_FILE'));
      assert.ok(env.get('NODE_EXTRA_CA_CERTS'));
      for (const k of ['DATABASE_URL_FILE', 'REDIS_URL_FILE', 'METRICS_TOKEN_FILE']) assert.ok(env.get(k), k);
      assert.ok(env.get('METRICS_PORT'));
    });

    it(`${overlay}: Service, Ingress and ServiceMonitor line up with the pod's ports`, () => {
      const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'plinth')!;
      const podLabels = podTemplate(deploy).metadata!.labels!;
      assert.ok(selects({ matchLabels: (svc.spec as { selector: Record<string, string> }).selector }, podLabels));
      const portNames = new Set((c.ports ?? []).map((p) => p.name));
      for (const p of (svc.spec as { ports: Array<{ name: string; targetPort: string }> }).ports) assert.ok(portNames.has(p.targetPort), p.targetPort);
      const metricsPort = c.ports!.find((p) => p.name === 'metrics')!.containerPort;
      assert.equal(String(metricsPort), env.get('METRICS_PORT'));
      const httpsPort = c.ports!.find((p) => p.name === 'https')!.containerPort;
      assert.equal(String(httpsPort), env.get('PLINTH_PORT'));
      const ing = objs.find((o) => o.kind === 'Ingress')!;
      const backend = (ing.spec as { rules: Array<{ http: { paths: Array<{ backend: { service: { name: string; port: { name: string } } } }> } }> }).rules[0]!.http.paths[0]!.backend.service;
      assert.equal(backend.name, 'plinth');
      assert.ok((svc.spec as { ports: Array<{ name: string }> }).ports.some((p) => p.name === backend.port.name));
      const sm = objs.find((o) => o.kind === 'ServiceMonitor')!;
      assert.ok(selects((sm.spec as { selector: never }).selector, svc.metadata.labels ?? {}));
      assert.equal(svc.metadata.name, 'plinth', 'job="plinth" is what deploy/observability rules select');
    });

    it(`${overlay}: NetworkPolicy admits HTTPS only from the ingress controller and metrics only from Prometheus`, () => {
      const pol = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'plinth-serve')!;
      const ingress = (pol.spec as { ingress: Array<{ from: Array<{ namespaceSelector: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }> }).ingress;
      const byPort = new Map(ingress.map((r) => [r.ports[0]!.port, r.from.map((f) => f.namespaceSelector.matchLabels['kubernetes.io/metadata.name'])]));
      assert.deepEqual(byPort.get(Number(env.get('PLINTH_PORT'))), ['ingress-nginx']);
      assert.deepEqual(byPort.get(Number(env.get('METRICS_PORT'))), ['monitoring']);
      assert.equal(byPort.size, 2);
      const egressPorts = (pol.spec as { egress: Array<{ ports: Array<{ port: number }> }> }).egress.flatMap((r) => r.ports.map((p) => p.port));
      for (const p of [5432, 6379, 11434, 5000, 4318]) assert.ok(egressPorts.includes(p), `egress ${p}`);
      const dns = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-dns')!;
      assert.ok(JSON.stringify(dns.spec).includes('"port":53'));
    });

    it(`${overlay}: Ingress: TLS from a defined ClusterIssuer, body size fits Plinth's limits, streaming-friendly`, () => {
      const ing = objs.find((o) => o.kind === 'Ingress')!;
      const a = ing.metadata.annotations!;
      const issuers = render('cluster').filter((o) => o.kind === 'ClusterIssuer').map((o) => o.metadata.name);
      assert.ok(issuers.includes(a['cert-manager.io/cluster-issuer']!), a['cert-manager.io/cluster-issuer']);
      if (overlay === 'overlays/prod') assert.equal(a['cert-manager.io/cluster-issuer'], 'letsencrypt-prod');
      assert.ok((ing.spec as { tls?: unknown[] }).tls?.length);
      assert.equal(a['nginx.ingress.kubernetes.io/backend-protocol'], 'HTTPS');
      assert.equal(a['nginx.ingress.kubernetes.io/proxy-ssl-verify'], 'on');
      const bodyLimit = Number(env.get('PLINTH_BODY_LIMIT') ?? 1024 * 1024);
      const documentMax = Number(env.get('PLINTH_DOCUMENT_MAX_BYTES') ?? 20 * 1024 * 1024);
      assert.ok(bytes(a['nginx.ingress.kubernetes.io/proxy-body-size']!) >= Math.max(bodyLimit, documentMax), 'nginx must not refuse bodies Plinth accepts');
      assert.ok(Number(a['nginx.ingress.kubernetes.io/limit-rps']) > 0);
      assert.equal(a['nginx.ingress.kubernetes.io/proxy-buffering'], 'off');
      assert.equal(env.get('PLINTH_TRUST_PROXY'), 'true');
    });

    it(`${overlay}: HPA scales plinth-serve on CPU and on plinth_http_requests_per_second`, () => {
      const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
      const spec = hpa.spec as { scaleTargetRef: { name: string }; minReplicas: number; maxReplicas: number; metrics: Array<{ type: string; resource?: { name: string }; pods?: { metric: { name: string } } }> };
      assert.equal(spec.scaleTargetRef.name, 'plinth-serve');
      assert.ok(spec.metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'));
      assert.ok(spec.metrics.some((m) => m.type === 'Pods' && m.pods?.metric.name === 'plinth_http_requests_per_second'));
      assert.ok(spec.minReplicas <= spec.maxReplicas);
      if (overlay === 'overlays/prod') assert.ok(spec.minReplicas >= 3);
      const adapter = readFileSync(path.join(DEPLOY, 'helmfile/values/prometheus-adapter.yaml'), 'utf8');
      assert.ok(adapter.includes('as: plinth_http_requests_per_second'), 'the Prometheus adapter serves the metric the HPA asks for');
    });
  }
});

describe('rollback', () => {
  it('the prod overlay with a previous image tag renders and differs only in the image', () => {
    const current = render('overlays/prod');
    const previous = render(scratchKustomization({
      resources: [path.join(DEPLOY, 'k8s/overlays/prod')],
      images: [{ name: 'ghcr.io/plinth/plinth', newTag: '0.0.9' }],
    }));
    assert.equal(previous.length, current.length);
    let changed = 0;
    const strip = (o: K8sObject) => JSON.stringify(o, (k, v: unknown) => (k === 'image' && typeof v === 'string' && v.startsWith('ghcr.io/plinth/plinth:') ? (changed++, 'IMAGE') : v));
    for (let i = 0; i < current.length; i++) assert.equal(strip(previous[i]!), strip(current[i]!), `${current[i]!.kind} ${current[i]!.metadata.name} differs beyond the image`);
    assert.ok(changed >= 2 * workloads(current).length);
    assert.ok(previous.filter((o) => WORKLOAD_KINDS.has(o.kind)).every((w) => containersOf(w).every((c) => c.image === 'ghcr.io/plinth/plinth:0.0.9')));
  });
});

describe('observability objects', () => {
  it('are generated from deploy/observability and up to date: one PrometheusRule per rule file, one dashboard ConfigMap per dashboard', async () => {
    const { OUTPUTS } = await import('../../scripts/observability-manifests.js');
    for (const [file, renderFile] of Object.entries(OUTPUTS)) {
      assert.equal(readFileSync(path.join(DEPLOY, 'k8s/observability', file), 'utf8'), renderFile(), `${file} is stale: run node --import tsx scripts/observability-manifests.ts`);
    }
    const objects = render('observability');
    const rules = objects.filter((o) => o.kind === 'PrometheusRule');
    const ruleFiles = readdirSync(path.join(DEPLOY, 'observability/prometheus/rules')).filter((f) => f.endsWith('.yml'));
    assert.equal(rules.length, ruleFiles.length);
    const alerts = rules.flatMap((r) => ((r as unknown as { spec: { groups: Array<{ rules: Array<{ alert?: string }> }> } }).spec.groups.flatMap((g) => g.rules.flatMap((x) => (x.alert ? [x.alert] : [])))));
    for (const alert of ['PlinthApiErrorBudgetBurn', 'PlinthDriftDetected', 'PlinthBackupTooOld', 'PlinthRestoreDrillFailed']) assert.ok(alerts.includes(alert), alert);
    const dashboards = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
    assert.equal(dashboards.length, readdirSync(path.join(DEPLOY, 'observability/grafana/dashboards')).filter((f) => f.endsWith('.json')).length);
    for (const d of dashboards) for (const json of Object.values((d as unknown as { data: Record<string, string> }).data)) assert.doesNotThrow(() => JSON.parse(json));
    assert.ok(objects.every((o) => o.metadata.namespace === 'monitoring'));
  });
});
