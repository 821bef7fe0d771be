// The container image definition, checked statically (no Docker engine here): multi-stage,
// pinned base, production dependencies without install scripts, assets copied as the build
// copies them, non-root numeric user, tini, liveness HEALTHCHECK, OCI labels, small context.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEPLOY, ROOT } from './helpers.js';

const dockerfile = readFileSync(path.join(DEPLOY, 'docker/Dockerfile'), 'utf8');
const lines = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#'));
const stages = lines.filter((l) => l.startsWith('FROM '));

describe('Dockerfile', () => {
  it('is multi-stage: build with dev dependencies, production dependencies, runtime', () => {
    assert.deepEqual(stages.map((l) => l.split(/\s+AS\s+/i)[1]), ['build', 'deps', 'runtime']);
    assert.match(dockerfile, /AS build[\s\S]*RUN[^\n]*npm ci\n[\s\S]*RUN npm run build/);
    assert.match(dockerfile, /AS deps[\s\S]*npm ci --omit=dev --ignore-scripts/);
  });

  it('copies what the build produces: dist/ (with the SQL migrations copy-assets puts there) and package.json', () => {
    const copyAssets = readFileSync(path.join(ROOT, 'scripts/copy-assets.mjs'), 'utf8');
    assert.ok(copyAssets.includes("'dist/db/migrations'"), 'copy-assets still writes dist/db/migrations');
    assert.match(dockerfile, /COPY scripts\/copy-assets\.mjs/);
    assert.match(dockerfile, /COPY --from=build \/src\/dist \.\/dist/);
    assert.match(dockerfile, /COPY package\.json \.\//, 'src/version.ts reads ../package.json at run time');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string }; bin: { plinth: string } };
    assert.equal(pkg.scripts.build, 'tsc -p tsconfig.build.json && node scripts/copy-assets.mjs');
    assert.ok(dockerfile.includes(`/app/${pkg.bin.plinth}`), 'entrypoint runs the package bin');
  });

  it('pins the base image by digest (deploy/images.lock.yaml)', () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=docker\.io\/library\/node:20\.\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}$/m);
    for (const s of stages) assert.match(s, /^FROM \$\{NODE_IMAGE\} AS/);
  });

  it('runs as a numeric non-root user under tini, serve by default, CLI as arguments', () => {
    const user = lines.filter((l) => l.startsWith('USER '));
    assert.deepEqual(user, ['USER 10001:10001']);
    assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/app\/dist\/cli\/main\.js"\]$/m);
    assert.match(dockerfile, /^CMD \["serve"\]$/m);
    assert.match(dockerfile, /tini=\d/);
  });

  it('read-only root friendly: data dir and /tmp are volumes; liveness HEALTHCHECK; OCI labels', () => {
    assert.match(dockerfile, /PLINTH_DATA_DIR=\/var\/lib\/plinth/);
    assert.match(dockerfile, /^VOLUME \["\/var\/lib\/plinth", "\/tmp"\]$/m);
    assert.match(dockerfile, /^HEALTHCHECK[\s\S]*healthcheck\.mjs/m);
    assert.match(readFileSync(path.join(DEPLOY, 'docker/healthcheck.mjs'), 'utf8'), /\/livez/);
    for (const l of ['title', 'description', 'version', 'revision', 'licenses', 'created', 'base.name']) assert.ok(dockerfile.includes(`org.opencontainers.image.${l}=`), l);
  });

  it('the build context excludes everything the build does not read', () => {
    const ignore = readFileSync(path.join(DEPLOY, 'docker/Dockerfile.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(ignore[0], '*');
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) assert.ok(ignore.includes(`!${src}`), `${src} must be let into the context`);
    }
  });
});
