// GitHub Actions workflows: actionlint clean, actions pinned by commit, CI identical to .ci/run,
// and the release pipeline doing what docs/deploy.md says (scan, SBOM, sign, push on tags).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, readYaml, run, tool } from './helpers.js';

const WF = path.join(ROOT, '.github/workflows');
const files = readdirSync(WF).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
type Step = { uses?: string; run?: string; if?: string; with?: Record<string, unknown> };
type Workflow = { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, { steps: Step[]; permissions?: Record<string, string> }> };
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps);

describe('workflows', () => {
  it('actionlint reports nothing', () => {
    run(tool('actionlint'), ['-color=false', ...files.map((f) => path.join(WF, f))]);
  });

  for (const f of files) {
    it(`${f}: every action pinned to a commit, read-only token by default`, () => {
      const wf = readYaml<Workflow>(path.join(WF, f));
      assert.deepEqual(wf.permissions, { contents: 'read' });
      for (const s of steps(wf)) if (s.uses) assert.match(s.uses, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, s.uses);
      const text = readFileSync(path.join(WF, f), 'utf8');
      for (const m of text.matchAll(/uses: \S+@[0-9a-f]{40}(.*)$/gm)) assert.match(m[1]!, /# v\d/, 'version comment next to the commit');
    });
  }

  it('ci.yml runs .ci/run itself, so GitHub CI and .ci/run cannot drift', () => {
    const wf = readYaml<Workflow>(path.join(WF, 'ci.yml'));
    assert.ok(steps(wf).some((s) => s.run?.trim() === 'bash .ci/run'));
    const ciRun = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    assert.match(ciRun, /scripts\/install-tools\.sh/);
    assert.match(ciRun, /npm run test:manifests/);
    const node = steps(wf).find((s) => s.uses?.startsWith('actions/setup-node@'))!;
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    assert.match(String(node.with?.['node-version']), /^20\./, `engines ${pkg.engines.node}; the image runs Node 20`);
  });

  it('release.yml: builds deploy/docker/Dockerfile, scans and makes an SBOM before pushing; pushes, signs and attests only on tags', () => {
    const wf = readYaml<Workflow>(path.join(WF, 'release.yml'));
    assert.ok('tags' in (wf.on.push as Record<string, unknown>));
    const all = steps(wf);
    const idx = (pred: (s: Step) => boolean) => all.findIndex(pred);
    const scan = idx((s) => Boolean(s.uses?.startsWith('aquasecurity/trivy-action@')));
    const sbom = idx((s) => Boolean(s.uses?.startsWith('anchore/sbom-action@')));
    const push = idx((s) => s.with?.push === true);
    const sign = idx((s) => Boolean(s.run?.includes('cosign sign')));
    assert.ok(scan >= 0 && sbom >= 0 && push > scan && push > sbom && sign > push);
    for (const i of [push, sign]) assert.equal(all[i]!.if, "github.ref_type == 'tag'");
    for (const s of all.filter((x) => x.uses?.startsWith('docker/build-push-action@'))) assert.equal(s.with?.file, 'deploy/docker/Dockerfile');
    assert.equal(all[scan]!.with?.['exit-code'], '1', 'a fixable HIGH/CRITICAL vulnerability fails the release');
    const job = Object.values(wf.jobs)[0]!;
    assert.equal(job.permissions?.['id-token'], 'write', 'keyless cosign signing');
  });
});
