// The development stack (deploy/compose): loaded and validated the way `docker compose config`
// does it (compose-go: compose-spec schema, interpolation, references) without a Docker engine,
// then checked against the stack's promises: secrets as files, TLS, private network, health.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ENV_VARS, META_ENV_VARS } from '../../src/config/schema.js';
import { DEPLOY, ROOT, readYaml, run, tool } from './helpers.js';

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  healthcheck?: { test?: string[] };
  ports?: Array<{ host_ip?: string; published?: string; target: number }>;
  environment?: Record<string, string | null>;
  env_file?: unknown;
  secrets?: Array<{ source: string; target?: string }>;
  networks?: Record<string, unknown>;
  deploy?: { resources?: { limits?: { memory?: string } } };
  profiles?: string[];
  read_only?: boolean;
  user?: string;
  cap_drop?: string[];
  stop_grace_period?: string;
  volumes?: Array<{ type: string; source?: string; target: string }>;
}
interface Project { services: Record<string, Service>; secrets: Record<string, { file?: string; environment?: string }>; networks: Record<string, unknown> }

const FILE = path.join(DEPLOY, 'compose/compose.yaml');
const load = (...extra: string[]) => JSON.parse(run(tool('composecheck'), [...extra, FILE])) as Project;
const project = load('--profiles', 'logs');
const ONE_SHOT = new Set(['minio-init', 'tempo-init']);
// Distroless images: no shell and no HTTP client to run a check with.
const NO_HEALTHCHECK = new Set(['tempo', 'loki', 'alloy']);
const SETTINGS = new Map(ENV_VARS.map((v) => [v.name, v]));

describe('compose', () => {
  it('loads and validates (compose-spec schema, references), with and without the logs profile', () => {
    assert.ok(Object.keys(load().services).length >= 10);
    assert.ok('alloy' in project.services);
  });

  it('rejects a broken file (the validator is really used)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-compose-'));
    cpSync(path.join(DEPLOY, 'compose'), path.join(dir, 'compose'), { recursive: true });
    const bad = path.join(dir, 'compose/compose.yaml');
    const text = readFileSync(bad, 'utf8').replace('      - metrics-token\n    volumes:\n      - plinth-data', '      - metrics-tokn\n    volumes:\n      - plinth-data');
    assert.notEqual(text, readFileSync(FILE, 'utf8'));
    run('node', ['-e', `require('node:fs').writeFileSync(${JSON.stringify(bad)}, ${JSON.stringify(text)})`]);
    assert.throws(() => run(tool('composecheck'), [bad]), /undefined secret metrics-tokn/);
  });

  it('has every service of the stack', () => {
    for (const s of ['plinth', 'postgres', 'redis', 'mlflow', 'minio', 'ollama', 'prometheus', 'grafana', 'tempo', 'loki']) assert.ok(project.services[s], s);
  });

  it('publishes only Plinth and Grafana, on loopback unless told otherwise', () => {
    const published = Object.entries(project.services).filter(([, s]) => s.ports?.length).map(([n]) => n).sort();
    assert.deepEqual(published, ['grafana', 'plinth']);
    for (const n of published) for (const p of project.services[n]!.ports!) assert.equal(p.host_ip, '127.0.0.1', n);
  });

  it('one private network for everything', () => {
    assert.deepEqual(Object.keys(project.networks), ['backend']);
    for (const [n, s] of Object.entries(project.services)) assert.deepEqual(Object.keys(s.networks ?? {}), ['backend'], n);
  });

  for (const [name, s] of Object.entries(project.services)) {
    it(`${name}: restart policy, memory limit, healthcheck, no env files, no secret values in the environment`, () => {
      assert.equal(s.env_file, undefined);
      if (ONE_SHOT.has(name)) {
        assert.equal(s.restart, 'no');
      } else {
        assert.equal(s.restart, 'unless-stopped');
        assert.ok(s.deploy?.resources?.limits?.memory, 'memory limit');
        if (!NO_HEALTHCHECK.has(name)) assert.ok(s.healthcheck?.test?.length, 'healthcheck');
      }
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        const secretish = /(PASSWORD|SECRET|TOKEN|_KEY|ACCESS_KEY)$/i.test(k);
        assert.ok(!secretish || /_?_FILE$/.test(k) || (v ?? '').startsWith('/'), `${k} holds a secret value; use a secret file`);
        assert.ok(!/:\/\/[^/\s:@]+:[^/\s@$]+@/.test(v ?? ''), `${k} carries credentials`);
        if (/_?_FILE$/.test(k) && v?.startsWith('/run/secrets/')) {
          assert.ok((s.secrets ?? []).some((x) => (x.target ?? `/run/secrets/${x.source}`) === v || `/run/secrets/${x.source}` === v), `${k}=${v} is not a mounted secret`);
        }
      }
    });
  }

  it('secrets are files under certs/ or secrets/ (written by scripts/dev-certs, git-ignored)', () => {
    for (const [n, sec] of Object.entries(project.secrets)) {
      assert.ok(sec.file, n);
      assert.match(path.relative(path.join(DEPLOY, 'compose'), sec.file), /^(certs|secrets)\//, n);
    }
    assert.match(readFileSync(path.join(DEPLOY, 'compose/.gitignore'), 'utf8'), /^certs\/$[\s\S]*^secrets\/$/m);
  });

  it('plinth: hardened, TLS on its endpoint and to PostgreSQL and Redis, settings it knows', () => {
    const p = project.services.plinth!;
    assert.ok(p.build, 'built from deploy/docker/Dockerfile');
    assert.equal(p.read_only, true);
    assert.equal(p.user, '10001:10001');
    assert.deepEqual(p.cap_drop, ['ALL']);
    const env = p.environment!;
    assert.equal(env.DATABASE_SSL_MODE, 'verify-full');
    for (const k of ['DATABASE_CA_FILE', 'TLS_CERT_FILE', 'TLS_KEY_FILE', 'DATABASE_URL_FILE', 'REDIS_URL_FILE', 'METRICS_TOKEN_FILE', 'NODE_EXTRA_CA_CERTS']) {
      assert.ok(env[k]?.startsWith('/run/secrets/'), k);
      assert.ok((p.secrets ?? []).some((x) => `/run/secrets/${x.source}` === env[k]), `${k} mounted`);
    }
    for (const k of Object.keys(env)) {
      const base = k.endsWith('_FILE') && SETTINGS.get(k.slice(0, -5))?.secret ? k.slice(0, -5) : k;
      assert.ok(SETTINGS.has(base) || META_ENV_VARS.has(k) || k === 'NODE_EXTRA_CA_CERTS', `${k} is not a Plinth setting`);
      assert.ok(!SETTINGS.get(k)?.secret, `${k} is a secret: use ${k}_FILE`);
    }
    const grace = Number.parseInt(p.stop_grace_period ?? '10s', 10);
    assert.ok(grace * 1000 >= Number(env.PLINTH_SHUTDOWN_TIMEOUT_MS ?? 10_000) + 5000, 'stop_grace_period covers the drain');
  });

  it('Prometheus scrapes job "plinth" with the token file, and loads deploy/observability rules', () => {
    const cfg = readYaml<{ scrape_configs: Array<{ job_name: string; authorization?: { credentials_file?: string }; static_configs: Array<{ targets: string[] }> }>; rule_files: string[] }>(path.join(DEPLOY, 'compose/prometheus/prometheus.yml'));
    const job = cfg.scrape_configs.find((j) => j.job_name === 'plinth')!;
    assert.equal(job.authorization?.credentials_file, '/run/secrets/metrics-token');
    assert.deepEqual(job.static_configs[0]!.targets, [`plinth:${project.services.plinth!.environment!.METRICS_PORT}`]);
    const mount = project.services.prometheus!.volumes!.find((v) => v.target === '/etc/prometheus/rules')!;
    assert.equal(mount.source, path.join(DEPLOY, 'observability/prometheus/rules'));
    assert.ok(cfg.rule_files.every((r) => r.startsWith('/etc/prometheus/rules/')));
  });

  it('Grafana provisions Prometheus, Loki and Tempo, and the dashboards folder', () => {
    const ds = readYaml<{ datasources: Array<{ type: string; url: string }> }>(path.join(DEPLOY, 'compose/grafana/provisioning/datasources/datasources.yaml'));
    assert.deepEqual(ds.datasources.map((d) => d.type).sort(), ['loki', 'prometheus', 'tempo']);
    const mount = project.services.grafana!.volumes!.find((v) => v.target === '/var/lib/grafana/dashboards')!;
    assert.equal(mount.source, path.join(DEPLOY, 'observability/grafana/dashboards'));
    assert.ok(mount.source && existsSync(mount.source));
  });

  it('scripts/dev-certs writes every secret file the stack mounts, with verifiable certificates', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-devcerts-'));
    mkdirSync(path.join(dir, 'scripts'));
    mkdirSync(path.join(dir, 'deploy/compose'), { recursive: true });
    cpSync(path.join(ROOT, 'scripts/dev-certs'), path.join(dir, 'scripts/dev-certs'));
    run('bash', [path.join(dir, 'scripts/dev-certs')]);
    for (const [n, sec] of Object.entries(project.secrets)) {
      const rel = path.relative(path.join(DEPLOY, 'compose'), sec.file!);
      assert.ok(existsSync(path.join(dir, 'deploy/compose', rel)), `${n}: ${rel}`);
    }
    const certs = path.join(dir, 'deploy/compose/certs');
    for (const [name, host] of [['plinth', 'plinth'], ['postgres', 'postgres'], ['redis', 'redis'], ['grafana', 'localhost']] as const) {
      run('openssl', ['verify', '-CAfile', path.join(certs, 'ca.crt'), path.join(certs, `${name}.crt`)]);
      assert.match(run('openssl', ['x509', '-in', path.join(certs, `${name}.crt`), '-noout', '-checkhost', host]), /does match/, `${name} certificate names ${host}`);
    }
    const url = readFileSync(path.join(dir, 'deploy/compose/secrets/plinth-database-url'), 'utf8').trim();
    assert.match(url, /^postgres:\/\/plinth:[0-9a-f]{48}@postgres:5432\/plinth$/);
    assert.match(readFileSync(path.join(dir, 'deploy/compose/secrets/plinth-redis-url'), 'utf8').trim(), /^rediss:\/\/:[0-9a-f]{48}@redis:6379\/0$/);
  });
});
