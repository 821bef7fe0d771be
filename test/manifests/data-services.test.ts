// Third-party services: deploy/helmfile.yaml (structure and pinning; the charts themselves are
// not reachable offline, so their values are not linted against chart schemas here) and the
// PostgreSQL objects in deploy/k8s/data, whose CloudNativePG CRD schemas are not available
// offline either — hence the explicit structural checks below.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEPLOY, ROOT, readYaml, render, type K8sObject } from './helpers.js';

interface Release { name: string; namespace: string; chart: string; version?: string; values?: string[]; needs?: string[] }
interface Helmfile { repositories: Array<{ name: string; url: string }>; releases: Release[]; helmDefaults?: Record<string, unknown> }

const helmfile = readYaml<Helmfile>(path.join(DEPLOY, 'helmfile.yaml'));
const values = (release: string) => {
  const r = helmfile.releases.find((x) => x.name === release)!;
  return readYaml<Record<string, unknown>>(path.join(DEPLOY, r.values![0]!));
};
const get = (o: unknown, dotted: string): unknown => dotted.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

describe('helmfile', () => {
  it('is plain YAML with only known top-level keys', () => {
    assert.deepEqual(Object.keys(helmfile).sort(), ['helmDefaults', 'releases', 'repositories']);
    assert.ok(!readFileSync(path.join(DEPLOY, 'helmfile.yaml'), 'utf8').includes('{{'), 'no templates: helmfile v1 renders only .gotmpl files');
  });

  it('repositories are HTTPS and unique', () => {
    const names = helmfile.repositories.map((r) => r.name);
    assert.equal(new Set(names).size, names.length);
    for (const r of helmfile.repositories) assert.match(r.url, /^https:\/\//, r.name);
  });

  for (const r of helmfile.releases) {
    it(`${r.namespace}/${r.name}: chart pinned, values present, needs resolvable`, () => {
      assert.ok(r.name && r.namespace && r.chart);
      if (r.chart.startsWith('./')) {
        assert.equal(r.version, undefined, 'local charts have no version');
        assert.ok(existsSync(path.join(DEPLOY, r.chart, 'kustomization.yaml')), `${r.chart} is a kustomization`);
        assert.ok(render(path.join(DEPLOY, r.chart)).length > 0);
      } else {
        const [repo] = r.chart.split('/');
        assert.ok(helmfile.repositories.some((x) => x.name === repo), `repository ${repo}`);
        assert.match(r.version ?? '', /^v?\d+\.\d+\.\d+$/, 'an exact chart version (no ranges)');
        assert.ok(r.values?.length, 'values file');
      }
      for (const v of r.values ?? []) {
        assert.ok(existsSync(path.join(DEPLOY, v)), v);
        assert.doesNotThrow(() => readYaml(path.join(DEPLOY, v)), v);
      }
      for (const n of r.needs ?? []) {
        const [ns, name] = n.split('/');
        assert.ok(helmfile.releases.some((x) => x.namespace === ns && x.name === name), `needs ${n}`);
      }
    });
  }

  it('installs every service the design names', () => {
    const charts = helmfile.releases.map((r) => r.chart);
    for (const c of ['jetstack/cert-manager', 'external-secrets/external-secrets', 'cnpg/cloudnative-pg', 'cnpg/plugin-barman-cloud', 'dandydeveloper/redis-ha',
      'prometheus-community/kube-prometheus-stack', 'prometheus-community/prometheus-adapter', 'grafana/loki', 'grafana/tempo', 'grafana/alloy', 'otwld/ollama', 'community-charts/mlflow', 'ingress-nginx/ingress-nginx']) {
      assert.ok(charts.includes(c), c);
    }
  });

  it('namespaces match what Plinth\'s NetworkPolicies allow', () => {
    const ns = (chart: string) => helmfile.releases.find((r) => r.chart === chart)!.namespace;
    assert.equal(ns('ingress-nginx/ingress-nginx'), 'ingress-nginx');
    assert.equal(ns('prometheus-community/kube-prometheus-stack'), 'monitoring');
    assert.equal(ns('grafana/alloy'), 'monitoring');
    assert.equal(ns('dandydeveloper/redis-ha'), 'plinth-data');
    assert.equal(ns('community-charts/mlflow'), 'plinth-data');
    assert.equal(ns('otwld/ollama'), 'ollama');
    assert.equal(ns('./k8s/data'), 'plinth-data');
  });

  it('Redis: 3 servers, Sentinel quorum 2, min-replicas-to-write, bounded memory with allkeys-lru, TLS, HAProxy to the master', () => {
    const v = values('redis-cache');
    assert.equal(v.replicas, 3);
    assert.equal(get(v, 'sentinel.quorum'), 2);
    assert.ok(Number(get(v, 'redis.config.min-replicas-to-write')) >= 1);
    assert.ok(get(v, 'redis.config.maxmemory') && get(v, 'redis.config.maxmemory') !== '0');
    assert.equal(get(v, 'redis.config.maxmemory-policy'), 'allkeys-lru');
    assert.equal(v.auth, true);
    assert.ok(get(v, 'redis.tlsPort') && get(v, 'tls.secretName'));
    assert.equal(get(v, 'haproxy.enabled'), true);
    assert.equal(get(v, 'haproxy.tls.enabled'), true);
    assert.ok(get(v, 'podDisruptionBudget.maxUnavailable'));
    const certs = render('data').filter((o) => o.kind === 'Certificate');
    assert.ok(certs.some((c) => (c.spec as { secretName: string }).secretName === get(v, 'tls.secretName')));
  });

  it('kube-prometheus-stack picks up ServiceMonitors and rules from every namespace', () => {
    const v = values('kube-prometheus-stack');
    for (const k of ['serviceMonitorSelectorNilUsesHelmValues', 'podMonitorSelectorNilUsesHelmValues', 'ruleSelectorNilUsesHelmValues']) assert.equal(get(v, `prometheus.prometheusSpec.${k}`), false, k);
  });

  it('Alloy receives OTLP/HTTP on the port Plinth sends to', () => {
    const env = readFileSync(path.join(DEPLOY, 'k8s/base/plinth.env'), 'utf8');
    assert.match(env, /^OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/alloy\.monitoring\.svc:4318$/m);
    const v = values('alloy');
    assert.ok((get(v, 'alloy.extraPorts') as Array<{ port: number }>).some((p) => p.port === 4318));
  });
});

describe('PostgreSQL (CloudNativePG), structural checks', () => {
  const objs = render('data');
  const one = (kind: string): K8sObject => {
    const found = objs.filter((o) => o.kind === kind);
    assert.equal(found.length, 1, kind);
    return found[0]!;
  };
  const cluster = one('Cluster');
  const spec = cluster.spec as Record<string, unknown>;

  it('Cluster: 3 instances, a synchronous standby, PDB, zone anti-affinity', () => {
    assert.equal(spec.instances, 3);
    assert.ok(Number(get(spec, 'postgresql.synchronous.number')) >= 1);
    assert.ok(['any', 'first'].includes(String(get(spec, 'postgresql.synchronous.method'))));
    assert.notEqual(spec.enablePDB, false);
    assert.equal(get(spec, 'affinity.topologyKey'), 'topology.kubernetes.io/zone');
  });

  it('Cluster: image with pgvector; post-init SQL creates the vector extension and plinth_app for the owner', () => {
    assert.match(String(spec.imageName), /cloudnative-pg\/postgresql:\d+(\.\d+)?-standard-/);
    const owner = String(get(spec, 'bootstrap.initdb.owner'));
    const sql = (get(spec, 'bootstrap.initdb.postInitApplicationSQL') as string[]).join(';\n');
    assert.match(sql, /CREATE EXTENSION IF NOT EXISTS vector/);
    assert.match(sql, /CREATE ROLE plinth_app NOLOGIN NOINHERIT/);
    assert.ok(sql.includes(`GRANT plinth_app TO ${owner}`));
    // The migrations are the source of truth for what has to exist beforehand.
    const core = readFileSync(path.join(ROOT, 'src/db/migrations/0001_core.sql'), 'utf8');
    assert.ok(core.includes('CREATE ROLE plinth_app NOLOGIN NOINHERIT'));
    assert.ok(readFileSync(path.join(ROOT, 'src/db/migrations/0002_memory.sql'), 'utf8').includes('CREATE EXTENSION IF NOT EXISTS vector'));
  });

  it('Cluster: credentials from ExternalSecrets, TLS from cert-manager', () => {
    const externals = new Set(objs.filter((o) => o.kind === 'ExternalSecret').map((o) => (o.spec as { target: { name: string } }).target.name));
    assert.ok(externals.has(String(get(spec, 'bootstrap.initdb.secret.name'))));
    for (const r of get(spec, 'managed.roles') as Array<{ passwordSecret: { name: string } }>) assert.ok(externals.has(r.passwordSecret.name));
    const certSecrets = new Set(objs.filter((o) => o.kind === 'Certificate').map((o) => (o.spec as { secretName: string }).secretName));
    assert.ok(certSecrets.has(String(get(spec, 'certificates.serverTLSSecret'))));
    const dns = (objs.find((o) => o.kind === 'Certificate' && (o.spec as { secretName: string }).secretName === get(spec, 'certificates.serverTLSSecret'))!.spec as { dnsNames: string[] }).dnsNames;
    const pooler = one('Pooler');
    assert.ok(dns.includes(`${pooler.metadata.name}.plinth-data.svc`), 'verify-full through the pooler needs its name in the certificate');
  });

  it('Pooler: PgBouncer in session mode in front of the primary', () => {
    const p = one('Pooler').spec as Record<string, unknown>;
    assert.equal(get(p, 'cluster.name'), cluster.metadata.name);
    assert.equal(p.type, 'rw');
    assert.equal(get(p, 'pgbouncer.poolMode'), 'session');
    assert.ok(Number(p.instances) >= 2);
  });

  it('backups: WAL archiving and daily base backups through the Barman Cloud plugin, with retention (PITR)', () => {
    const store = one('ObjectStore');
    const plugin = (spec.plugins as Array<{ name: string; isWALArchiver?: boolean; parameters: { barmanObjectName: string } }>)[0]!;
    assert.equal(plugin.name, 'barman-cloud.cloudnative-pg.io');
    assert.equal(plugin.isWALArchiver, true);
    assert.equal(plugin.parameters.barmanObjectName, store.metadata.name);
    assert.match(String(get(store.spec, 'retentionPolicy')), /^\d+[dwm]$/);
    const sb = one('ScheduledBackup').spec as Record<string, unknown>;
    assert.equal(sb.method, 'plugin');
    assert.equal(get(sb, 'pluginConfiguration.name'), plugin.name);
    assert.equal(get(sb, 'cluster.name'), cluster.metadata.name);
    assert.equal(String(sb.schedule).split(' ').length, 6, 'CloudNativePG schedules have a seconds field');
  });
});
