// Grafana dashboards: valid JSON with the fields Grafana's file provisioning needs, panels laid
// out without overlap, every query on the Prometheus data source variable. Whether the queries
// name real metrics is checked against a live exposition in metrics.test.ts, and whether
// Prometheus accepts them, against a real Prometheus there too.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DASHBOARDS_DIR, loadDashboards, panelsOf } from './helpers.js';

const REQUIRED = ['uid', 'title', 'description', 'tags', 'schemaVersion', 'panels', 'templating', 'time', 'refresh'];
const PANEL_TYPES = new Set(['row', 'stat', 'timeseries', 'table', 'heatmap', 'gauge', 'bargauge', 'text']);

describe('grafana dashboards', () => {
  const dashboards = loadDashboards();

  it('cover the platform overview, agent memory, SLOs, the LLM gateway, drift and retraining, and workflows', () => {
    const files = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'));
    for (const f of files) assert.doesNotThrow(() => JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, f), 'utf8')), f);
    assert.deepEqual(dashboards.map((d) => d.json.uid).sort(), ['plinth-drift', 'plinth-gateway', 'plinth-memory', 'plinth-overview', 'plinth-slo', 'plinth-workflows']);
  });

  it('have the fields Grafana provisioning needs, unique uids and titles', () => {
    for (const d of dashboards) {
      for (const field of REQUIRED) assert.ok(d.json[field] !== undefined, `${d.file}: ${field}`);
      assert.match(d.json.uid, /^[a-z0-9-]{1,40}$/, `${d.file}: uid`);
      assert.equal(d.json.id, undefined, `${d.file}: no instance-specific id`);
      assert.ok((d.json.tags as string[]).includes('plinth'), `${d.file}: tagged plinth`);
      assert.ok(typeof d.json.schemaVersion === 'number' && d.json.schemaVersion >= 36, `${d.file}: schemaVersion`);
    }
    assert.equal(new Set(dashboards.map((d) => d.json.uid)).size, dashboards.length);
    assert.equal(new Set(dashboards.map((d) => d.json.title)).size, dashboards.length);
  });

  it('select the data source through a variable, and jobs through plinth_build_info', () => {
    for (const d of dashboards) {
      const vars = (d.json.templating as { list: Array<{ name: string; type: string; query?: unknown }> }).list;
      const ds = vars.find((v) => v.name === 'datasource');
      assert.equal(ds?.type, 'datasource', `${d.file}: datasource variable`);
      assert.equal(ds?.query, 'prometheus');
      const job = vars.find((v) => v.name === 'job');
      assert.match(JSON.stringify(job?.query), /plinth_build_info/, `${d.file}: job variable`);
    }
  });

  it('give every panel an id, a known type, a title and a place, without overlaps', () => {
    for (const d of dashboards) {
      const ids = new Set<number>();
      const cells = new Set<string>();
      for (const p of panelsOf(d)) {
        assert.ok(Number.isInteger(p.id) && !ids.has(p.id), `${d.file}: panel id ${p.id}`);
        ids.add(p.id);
        assert.ok(PANEL_TYPES.has(p.type), `${d.file}: panel type ${p.type}`);
        assert.ok(p.title.length > 0, `${d.file}: panel ${p.id} title`);
        const g = p.gridPos;
        assert.ok(g && g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24 && g.y >= 0, `${d.file}: ${p.title} gridPos`);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            const cell = `${x},${y}`;
            assert.ok(!cells.has(cell), `${d.file}: ${p.title} overlaps another panel at ${cell}`);
            cells.add(cell);
          }
        }
      }
    }
  });

  it('query Prometheus from every non-row panel, with unique refIds and no empty expressions', () => {
    for (const d of dashboards) {
      let queries = 0;
      for (const p of panelsOf(d)) {
        if (p.type === 'row' || p.type === 'text') continue;
        assert.equal(p.datasource?.uid, '${datasource}', `${d.file}: ${p.title} datasource`);
        assert.ok((p.targets ?? []).length > 0, `${d.file}: ${p.title} has queries`);
        const refIds = new Set<string>();
        for (const t of p.targets ?? []) {
          assert.ok(t.refId && !refIds.has(t.refId), `${d.file}: ${p.title} refId`);
          refIds.add(t.refId);
          assert.equal(t.datasource?.uid, '${datasource}', `${d.file}: ${p.title} target datasource`);
          assert.ok((t.expr ?? '').trim().length > 0, `${d.file}: ${p.title} expr`);
          assert.doesNotMatch(t.expr!, /TODO|placeholder|vector\(0\)/i, `${d.file}: ${p.title} is a real query`);
          queries++;
        }
      }
      assert.ok(queries >= 10, `${d.file}: ${queries} queries`);
    }
  });
});
