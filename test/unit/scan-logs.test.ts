// The log credential scan (scripts/scan-logs.ts): it finds each kind of credential planted in a
// log file and names its kind without printing it, passes on clean logs that only look alike,
// and fails on an empty or too small capture.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectCredentials, KNOWN_SECRETS_FILE, Matcher, REGISTERED_SECRETS_DIR, run } from '../../scripts/scan-logs.js';
import { generateKey } from '../../src/auth/keys.js';
import { createLogger, setLogTee } from '../../src/telemetry/logger.js';

/** Collects JSON log lines. */
function lineSink(): { lines: Array<{ level: string; msg: string }>; write(s: string): void } {
  const lines: Array<{ level: string; msg: string }> = [];
  return { lines, write: (s: string) => void lines.push(...s.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string })) };
}

describe('log tee', () => {
  it('copies every logger at the tee level while each keeps its own destination and level', () => {
    const tee = lineSink();
    const own = lineSink();
    const previous = setLogTee({ level: 'debug', stream: tee });
    try {
      const logger = createLogger({ level: 'info', destination: own });
      const silent = createLogger({ level: 'silent', destination: own });
      logger.debug('detail');
      logger.info('summary');
      logger.child({ component: 'x' }).warn({ password: 'pw-in-a-field' }, 'careful');
      silent.error('only in the copy');
      assert.deepEqual(own.lines.map((l) => `${l.level} ${l.msg}`), ['info summary', 'warn careful']);
      assert.deepEqual(tee.lines.map((l) => `${l.level} ${l.msg}`), ['debug detail', 'info summary', 'warn careful', 'error only in the copy']);
      assert.ok(!JSON.stringify(tee.lines).includes('pw-in-a-field'), 'the copy is redacted too');
    } finally {
      setLogTee(previous);
    }
    const after = lineSink();
    createLogger({ level: 'info', destination: after }).info('plain');
    assert.equal(after.lines.length, 1);
    if (!previous) assert.equal(tee.lines.length, 4, 'no copy once the tee is removed');
  });
});

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('scan-logs', () => {
  let tmp: string;
  let env: Record<string, string>;
  const backupKey = 'a1'.repeat(32);
  const apiKey = generateKey().key;
  const jwt = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: 'agent-7', iss: 'https://issuer.example' })}.c2lnbmF0dXJlLXZhbHVlLTAxMjM0NQ`;

  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'plinth-scan-'));
    writeFileSync(path.join(tmp, 'backup.key'), `# current\n${backupKey}\n`);
    writeFileSync(path.join(tmp, 'redis-password'), 'redis-file-password-0042\n');
    env = {
      PLINTH_TEST_PG_URL: 'postgres://plinth:plinth@127.0.0.1:5432/postgres',
      PLINTH_TEST_PG_ADMIN_URL: 'postgres://postgres:admin-pass-771@127.0.0.1:5432/postgres',
      PLINTH_TEST_REDIS_URL: 'redis://:redis-pass-9981@127.0.0.1:6379',
      METRICS_TOKEN: 'metrics-token-5566',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer otlp-bearer-8877,x-tenant=acme',
      BACKUP_S3_SECRET_ACCESS_KEY: 's3-secret-key-3344',
      BACKUP_S3_ACCESS_KEY_ID: 'AKIAEXAMPLEID',
      BACKUP_KEY_FILE: path.join(tmp, 'backup.key'),
      REDIS_PASSWORD_FILE: path.join(tmp, 'redis-password'),
      PLINTH_TEST_SECRETS: 'listed-secret-one, listed-secret-two',
    };
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function dir(name: string, files: Record<string, string>, registered?: string): string {
    const d = path.join(tmp, name);
    mkdirSync(d);
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(d, f), text);
    if (registered !== undefined) {
      mkdirSync(path.join(d, REGISTERED_SECRETS_DIR));
      writeFileSync(path.join(d, REGISTERED_SECRETS_DIR, '4242.txt'), registered);
    }
    return d;
  }

  function scan(d: string, minLines: number): { code: number; out: string } {
    const lines: string[] = [];
    const code = run({ dir: d, minLines, env, print: (l) => lines.push(l) });
    return { code, out: lines.join('\n') };
  }

  const planted: Array<{ line: string; kind: RegExp; secret: string }> = [
    { line: `{"level":"info","msg":"created ${apiKey}"}`, kind: /^Plinth API key$/, secret: apiKey.split('_')[2]! },
    { line: '{"level":"debug","headers":{"authorization":"Bearer Zm9vYmFyLTEyMzQ1Njc4OQ"}}', kind: /^bearer token$/, secret: 'Zm9vYmFyLTEyMzQ1Njc4OQ' },
    { line: `{"level":"warn","msg":"rejected token ${jwt}"}`, kind: /^JWT$/, secret: jwt },
    { line: '{"level":"error","msg":"upstream said: Incorrect API key provided: sk-proj-AbCdEf0123456789"}', kind: /^upstream API key/, secret: 'sk-proj-AbCdEf0123456789' },
    { line: '{"level":"error","msg":"connect failed: postgres://app:s3cr3t-pw@db:5432/x"}', kind: /^password in a URL$/, secret: 's3cr3t-pw' },
    { line: '{"level":"error","msg":"NOAUTH with pw-12345-1764201234567"}', kind: /generated Redis password/, secret: 'pw-12345-1764201234567' },
    { line: '{"level":"error","msg":"auth failed for admin-pass-771"}', kind: /^password in PLINTH_TEST_PG_ADMIN_URL$/, secret: 'admin-pass-771' },
    { line: '{"level":"error","msg":"bad password=plinth for role plinth"}', kind: /^password in PLINTH_TEST_PG_URL$/, secret: 'password=plinth' },
    { line: '{"level":"error","msg":"redis said redis-pass-9981"}', kind: /^password in PLINTH_TEST_REDIS_URL$/, secret: 'redis-pass-9981' },
    { line: '{"level":"info","msg":"scrape with metrics-token-5566"}', kind: /^value of METRICS_TOKEN$/, secret: 'metrics-token-5566' },
    { line: '{"level":"info","msg":"exporter headers otlp-bearer-8877"}', kind: /^value of OTEL_EXPORTER_OTLP_HEADERS$/, secret: 'otlp-bearer-8877' },
    { line: '{"level":"info","msg":"s3 s3-secret-key-3344"}', kind: /^value of BACKUP_S3_SECRET_ACCESS_KEY$/, secret: 's3-secret-key-3344' },
    { line: `{"level":"info","msg":"key ${backupKey}"}`, kind: /^contents of the file in BACKUP_KEY_FILE$/, secret: backupKey },
    { line: '{"level":"info","msg":"sentinel redis-file-password-0042"}', kind: /^contents of the file in REDIS_PASSWORD_FILE$/, secret: 'redis-file-password-0042' },
    { line: '{"level":"info","msg":"x listed-secret-two y"}', kind: /^item 2 of PLINTH_TEST_SECRETS$/, secret: 'listed-secret-two' },
    { line: '{"level":"info","msg":"webhook registry-webhook-test-secret"}', kind: /^known test credential \(.*known-secrets\.txt:\d+\)$/, secret: 'registry-webhook-test-secret' },
    { line: '{"level":"info","secretAccessKey":"testing"}', kind: /^known test credential/, secret: '"testing"' },
    { line: '{"level":"info","msg":"made up at run time: runtime-only-secret-5150"}', kind: /^credential used by test process 4242$/, secret: 'runtime-only-secret-5150' },
  ];

  it('names the kind of each planted credential', () => {
    const d = dir('kinds', {}, 'runtime-only-secret-5150\n');
    const matcher = new Matcher(collectCredentials(d, env));
    for (const p of planted) {
      const kinds = matcher.kinds(p.line);
      assert.ok(kinds.some((k) => p.kind.test(k)), `${p.line}: found ${JSON.stringify(kinds)}, expected ${String(p.kind)}`);
    }
  });

  it('fails on a planted file, printing file:line and the kind but never the credential', () => {
    const clean = Array.from({ length: 20 }, (_, i) => `{"level":"info","msg":"request ${i}"}`);
    const lines = [...clean.slice(0, 5), ...planted.map((p) => p.line), ...clean.slice(5)];
    const d = dir('planted', { '100-1.log': `${lines.join('\n')}\n` }, 'runtime-only-secret-5150\n');
    const { code, out } = scan(d, 10);
    assert.equal(code, 1);
    planted.forEach((p, i) => assert.ok(out.includes(`${path.join(d, '100-1.log')}:${i + 6}: `), `line ${i + 6} (${String(p.kind)}) not reported:\n${out}`));
    assert.match(out, new RegExp(`scanned 1 files, ${lines.length} lines`));
    for (const p of planted) assert.ok(!out.includes(p.secret), `printed a credential (${String(p.kind)})`);
    for (const v of Object.values(env)) if (!v.includes('/')) assert.ok(!out.includes(v), 'printed a configured value');
  });

  it('passes on clean logs that only resemble credentials', () => {
    const lines = [
      '{"level":"info","msg":"request completed","key_prefix":"plk_abcdefghijkl","user":"plinth","tenant":"default"}',
      '{"level":"info","req":{"headers":{"authorization":"[redacted]"}},"msg":"plk_****"}',
      '{"level":"warn","msg":"invalid key","www-authenticate":"Bearer realm=\\"plinth\\", error=\\"invalid_token\\""}',
      '{"level":"info","res":{"headers":{"www-authenticate":"Bearer resource_metadata=\\"http://127.0.0.1:7070/.well-known/oauth-protected-resource\\""}}}',
      'WWW-Authenticate: Bearer resource_metadata="http://127.0.0.1:7070/.well-known/oauth-protected-resource", error="invalid_token"',
      '{"level":"error","msg":"Send an API key as \\"Authorization: Bearer <key>\\".","detail":"Bearer authentication failed"}',
      '{"level":"info","database":"postgres://plinth:****@127.0.0.1:5432/plinth_t_1","redis":"redis://127.0.0.1:6379"}',
      '{"level":"info","msg":"testing the drift monitor for the disk-usage task-scheduler"}',
      '{"level":"debug","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}',
      '{"level":"info","access_key_id":"AKIAEXAMPLEID","accessKeyId":"testing"}',
    ];
    const d = dir('clean', { '200-1.log': `${lines.join('\n')}\n`, '200-2.log': `${lines.join('\n')}\n`, 'notes.txt': 'sk-not-a-log-file-0123456789\n' });
    const { code, out } = scan(d, lines.length * 2);
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`scanned 2 files, ${lines.length * 2} lines, \\d+ bytes`));
    assert.match(out, /no credentials found/);
  });

  it('fails on an empty directory, a missing one, and fewer lines than required', () => {
    const empty = scan(dir('empty', {}), 1);
    assert.equal(empty.code, 1);
    assert.match(empty.out, /scanned 0 files, 0 lines, 0 bytes/);
    assert.match(empty.out, /FAILED: 0 log lines in 0 files/);
    assert.equal(scan(path.join(tmp, 'missing'), 0).code, 1);
    const small = dir('small', { '300-1.log': '{"level":"info","msg":"one"}\n{"level":"info","msg":"two"}\n' });
    assert.equal(scan(small, 3).code, 1);
    assert.equal(scan(small, 2).code, 0);
  });

  it('covers the fixed credentials of the test suites', () => {
    const known = collectCredentials(dir('known', {}), {}, KNOWN_SECRETS_FILE).map((c) => c.value);
    for (const v of ['sk-up-0123456789', 'sk-upstream-secret-0123456789', 'prometheus-token-0123456789', 'prometheus-scrape-token-0123456789', 'whsec-authz-matrix-0123456789abcdef', 'mlflow-token-value', 'hunter2-very-secret']) {
      assert.ok(known.includes(v), `${v} is not in ${KNOWN_SECRETS_FILE}`);
    }
  });
});
