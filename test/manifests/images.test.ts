// Every container image deploy/ references is pinned by digest, or is listed in
// deploy/images.lock.yaml as a tag awaiting pinning; no `latest`; no stale lock entries.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEPLOY, KUSTOMIZATIONS, WORKLOAD_KINDS, podTemplate, readYaml, render, run, tool } from './helpers.js';

interface Lock { pinned: Record<string, { digest: string; source: string }>; pending: string[]; own: string[] }
const lock = readYaml<Lock>(path.join(DEPLOY, 'images.lock.yaml'));

function collect(): Array<{ where: string; ref: string }> {
  const refs: Array<{ where: string; ref: string }> = [];
  const dockerfile = readFileSync(path.join(DEPLOY, 'docker/Dockerfile'), 'utf8');
  for (const m of dockerfile.matchAll(/^ARG NODE_IMAGE=(\S+)$/gm)) refs.push({ where: 'Dockerfile', ref: m[1]! });
  for (const m of dockerfile.matchAll(/^FROM\s+(\S+)/gm)) if (!m[1]!.startsWith('${')) refs.push({ where: 'Dockerfile FROM', ref: m[1]! });
  const compose = JSON.parse(run(tool('composecheck'), ['--profiles', 'logs', path.join(DEPLOY, 'compose/compose.yaml')])) as { services: Record<string, { image?: string; build?: unknown }> };
  for (const [n, s] of Object.entries(compose.services)) if (!s.build && s.image) refs.push({ where: `compose ${n}`, ref: s.image });
  for (const k of KUSTOMIZATIONS) {
    for (const o of render(k)) {
      if (WORKLOAD_KINDS.has(o.kind)) for (const c of podTemplate(o).spec.containers) refs.push({ where: `${k} ${o.metadata.name}`, ref: c.image });
      if (o.kind === 'Cluster' && typeof o.spec?.imageName === 'string') refs.push({ where: `${k} Cluster`, ref: o.spec.imageName });
    }
  }
  const redis = readYaml<{ image: { repository: string; tag: string } }>(path.join(DEPLOY, 'helmfile/values/redis-ha.yaml'));
  refs.push({ where: 'helm redis-ha', ref: `${redis.image.repository}:${redis.image.tag}` });
  return refs;
}

describe('images', () => {
  const refs = collect();

  it('finds the images', () => assert.ok(refs.length >= 15));

  for (const { where, ref } of refs) {
    it(`${where}: ${ref}`, () => {
      assert.ok(!/:latest(@|$)/.test(ref) && /:[^/]+$/.test(ref.split('@')[0]!), 'an explicit, non-latest tag');
      const [name, digest] = ref.split('@') as [string, string | undefined];
      if (lock.own.some((o) => name.startsWith(`${o}:`))) {
        assert.match(name, /:\d+\.\d+\.\d+(-[\w.]+)?$/, 'own image: a release version');
        return;
      }
      if (digest) {
        assert.equal(lock.pinned[name]?.digest, digest, `${name}@${digest} does not match deploy/images.lock.yaml`);
      } else {
        assert.ok(lock.pending.includes(name), `${name} has no digest and is not listed as pending in deploy/images.lock.yaml`);
      }
    });
  }

  it('the lock file has no stale entries and well-formed digests', () => {
    const used = new Set(refs.map((r) => r.ref.split('@')[0]));
    for (const [name, p] of Object.entries(lock.pinned)) {
      assert.ok(used.has(name), `${name} is pinned but unused`);
      assert.match(p.digest, /^sha256:[0-9a-f]{64}$/);
      assert.match(p.source, /^(public-references|registry \d{4}-\d{2}-\d{2})$/);
    }
    for (const name of lock.pending) assert.ok(used.has(name), `${name} is pending but unused`);
  });
});
