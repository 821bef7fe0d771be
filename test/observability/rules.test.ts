// Prometheus rules: `promtool check rules` and `promtool test rules` (unit tests with firing and
// quiet cases for every alert), plus the conventions around them: recording rule names, every
// alert's summary/description/runbook_url, and exactly one runbook per alert.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadRules, metricNamesIn, prometheusBinary, ROOT, RULE_TESTS_DIR, RULES_DIR, RUNBOOKS_DIR } from './helpers.js';

const run = promisify(execFile);

interface AlertTestFile {
  rule_files: string[];
  tests: Array<{ name?: string; alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
}

const ruleFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml')).map((f) => path.join(RULES_DIR, f));
const testFiles = readdirSync(RULE_TESTS_DIR).filter((f) => f.endsWith('.yml')).map((f) => path.join(RULE_TESTS_DIR, f));
const alerts = [...new Set(loadRules().flatMap((r) => (r.alert ? [r.alert] : [])))];

describe('prometheus rules', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await run(prometheusBinary('promtool'), ['check', 'rules', ...ruleFiles], { timeout: 60_000 });
    assert.match(stdout, /SUCCESS/);
  });

  it('pass their promtool unit tests', async () => {
    // One promtool per file, side by side: the long-horizon file is the slow one.
    const results = await Promise.allSettled(testFiles.map((f) => run(prometheusBinary('promtool'), ['test', 'rules', f], { timeout: 150_000, maxBuffer: 16 * 1024 * 1024 })));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${path.basename(testFiles[i]!)}:\n${String((r.reason as { stdout?: string }).stdout ?? r.reason)}`] : []));
    assert.deepEqual(failures, []);
  });

  it('test every alert both firing and staying quiet, against the rule files that exist', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const f of testFiles) {
      const doc = parseYaml(readFileSync(f, 'utf8')) as AlertTestFile;
      for (const rf of doc.rule_files) assert.ok(existsSync(path.resolve(path.dirname(f), rf)), `${f}: rule file ${rf}`);
      for (const t of doc.tests) {
        for (const a of t.alert_rule_test ?? []) {
          assert.ok(alerts.includes(a.alertname), `${path.basename(f)} "${t.name}": unknown alert ${a.alertname}`);
          ((a.exp_alerts ?? []).length > 0 ? firing : quiet).add(a.alertname);
        }
      }
    }
    assert.ok(alerts.length >= 8, `${alerts.length} alerts`);
    assert.deepEqual(alerts.filter((a) => !firing.has(a)), [], 'alerts without a firing case');
    assert.deepEqual(alerts.filter((a) => !quiet.has(a)), [], 'alerts without a quiet case');
  });

  it('name recording rules level:metric:operations, each once, after the series they use', () => {
    const seen = new Map<string, string>();
    for (const r of loadRules()) {
      if (!r.record) continue;
      assert.match(r.record, /^[a-z_]+:[a-z][a-z0-9_]*:[a-z0-9_]+$/, r.record);
      assert.ok(!seen.has(r.record), `${r.record} recorded twice`);
      // A recording rule used by a later rule in the same group is evaluated first (same evaluation).
      for (const used of metricNamesIn(r.expr)) if (used.includes(':')) assert.equal(seen.get(used), r.group, `${r.record} uses ${used} before it is recorded in its group`);
      seen.set(r.record, r.group);
    }
  });

  it('give every alert a severity, summary, description and a runbook that exists', () => {
    for (const r of loadRules()) {
      if (!r.alert) continue;
      assert.match(r.labels?.severity ?? '', /^(page|ticket)$/, `${r.alert} severity`);
      for (const a of ['summary', 'description', 'runbook_url']) assert.ok((r.annotations?.[a] ?? '').length > 10, `${r.alert} ${a}`);
      assert.ok(r.annotations!.runbook_url!.endsWith(`docs/runbooks/${r.alert}.md`), `${r.alert} runbook_url ${r.annotations!.runbook_url}`);
      assert.ok(existsSync(path.join(RUNBOOKS_DIR, `${r.alert}.md`)), `docs/runbooks/${r.alert}.md`);
    }
  });

  it('keep exactly one runbook per alert, each naming its alert and saying what to do', () => {
    // Alert runbooks are named after their alert (Plinth…); procedures such as restore.md are not.
    const runbooks = readdirSync(RUNBOOKS_DIR).filter((f) => f.startsWith('Plinth') && f.endsWith('.md')).map((f) => f.replace(/\.md$/, ''));
    assert.deepEqual(runbooks.sort(), [...alerts].sort());
    for (const alert of alerts) {
      const text = readFileSync(path.join(RUNBOOKS_DIR, `${alert}.md`), 'utf8');
      assert.ok(text.startsWith(`# ${alert}`), `${alert}.md title`);
      for (const section of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation']) assert.ok(text.includes(section), `${alert}.md ${section}`);
    }
    const index = readFileSync(path.join(ROOT, 'docs/observability.md'), 'utf8');
    for (const alert of alerts) assert.ok(index.includes(`runbooks/${alert}.md`), `docs/observability.md links ${alert}`);
  });
});

describe('PromQL name extraction (used by the dashboard and rule checks)', () => {
  it('finds series names, not functions, keywords, labels, numbers or Grafana variables', () => {
    assert.deepEqual(
      metricNamesIn('sum by (job, route) (rate(foo_total{a="b",c=~"x|y"}[$__rate_interval])) / on (job) group_left bar:baz:rate5m > 0.5 * 1e3 unless absent(up{job="p"}) offset 5m'),
      ['foo_total', 'bar:baz:rate5m', 'up'],
    );
    assert.deepEqual(metricNamesIn('histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))'), ['x_bucket']);
    assert.deepEqual(metricNamesIn('1 - max(job:a:ratio_rate30d{job=~"$job"}) / 0.001'), ['job:a:ratio_rate30d']);
  });
});
