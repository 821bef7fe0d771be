import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { describeConfig, loadConfig, maskUrl } from '../../src/config/index.js';
import type { PlinthError } from '../../src/errors.js';
import { isPlinthError } from '../../src/errors.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'plinth-config-'));

function configError(env: Record<string, string>): PlinthError {
  try {
    loadConfig({ env, cwd: tmp });
  } catch (err) {
    assert.ok(isPlinthError(err, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('config', () => {
  it('has embedded defaults: loopback host, data dir under the working directory, frozen', () => {
    const c = loadConfig({ env: {}, cwd: tmp });
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.server.port, 7070);
    assert.equal(c.dataDir, path.join(tmp, '.plinth'));
    assert.equal(c.database.url, undefined);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.server) && Object.isFrozen(c.server.tls));
    assert.throws(() => {
      (c.server as { port: number }).port = 1;
    }, TypeError);
  });

  it('listens on all interfaces by default when a real database is configured', () => {
    const c = loadConfig({ env: { DATABASE_URL: 'postgres://u:p@db:5432/plinth' }, cwd: tmp });
    assert.equal(c.server.host, '0.0.0.0');
  });

  it('coerces numbers and booleans from the environment', () => {
    const c = loadConfig({ env: { PLINTH_PORT: '8081', METRICS_PORT: '9100', PLINTH_PUBLIC_DOCS: 'true', DATABASE_POOL_MAX: '3' }, cwd: tmp });
    assert.equal(c.server.port, 8081);
    assert.equal(c.server.metricsPort, 9100);
    assert.equal(c.server.publicDocs, true);
    assert.equal(c.database.poolMax, 3);
  });

  it('reads secrets from *_FILE and trims the trailing newline', () => {
    const f = path.join(tmp, 'db-url');
    writeFileSync(f, 'postgres://plinth:s3cret-pw@db:5432/plinth\n');
    const c = loadConfig({ env: { DATABASE_URL_FILE: f }, cwd: tmp });
    assert.equal(c.database.url?.reveal(), 'postgres://plinth:s3cret-pw@db:5432/plinth');
  });

  it('refuses a secret given both directly and as a file', () => {
    const err = configError({ DATABASE_URL: 'postgres://a@b/c', DATABASE_URL_FILE: '/nonexistent' });
    assert.match(err.message, /DATABASE_URL: set either/);
  });

  it('names the field of a bad value', () => {
    assert.match(configError({ PLINTH_PORT: 'eighty' }).message, /PLINTH_PORT \(server\.port\)/);
    assert.match(configError({ LOG_LEVEL: 'loud' }).message, /LOG_LEVEL \(log\.level\)/);
    assert.match(configError({ DATABASE_URL: 'mysql://x@y/z' }).message, /DATABASE_URL \(database\.url\): must be a URL/);
    assert.match(configError({ TLS_CERT_FILE: 'cert.pem' }).message, /TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
    assert.match(configError({ DATABASE_SSL_MODE: 'verify-full' }).message, /DATABASE_CA_FILE/);
  });

  it('rejects unknown PLINTH_ variables (typos) and unknown YAML keys', () => {
    assert.match(configError({ PLINTH_PROT: '1' }).message, /PLINTH_PROT: unknown setting/);
    assert.doesNotThrow(() => loadConfig({ env: { PLINTH_TEST_PG_URL: 'postgres://x@y/z' }, cwd: tmp }), 'the test harness prefix is reserved');
    const yamlFile = path.join(tmp, 'bad.yaml');
    writeFileSync(yamlFile, 'server:\n  port: 9000\n  colour: blue\n');
    assert.match(configError({ PLINTH_CONFIG: yamlFile }).message, /server\.colour: unknown setting/);
  });

  it('reads a YAML file, with environment variables taking precedence', () => {
    const yamlFile = path.join(tmp, 'good.yaml');
    writeFileSync(yamlFile, 'server:\n  port: 9000\n  bodyLimitBytes: 2048\nlog:\n  level: debug\n');
    const c = loadConfig({ env: { PLINTH_CONFIG: yamlFile, LOG_LEVEL: 'warn' }, cwd: tmp });
    assert.equal(c.server.port, 9000);
    assert.equal(c.server.bodyLimitBytes, 2048);
    assert.equal(c.log.level, 'warn');
  });

  it('never prints secrets: JSON, inspect, String and error messages', () => {
    const password = 'hunter2-very-secret';
    const c = loadConfig({ env: { DATABASE_URL: `postgres://plinth:${password}@db/plinth`, METRICS_TOKEN: 'tok-abcdef123' }, cwd: tmp });
    for (const text of [JSON.stringify(c), JSON.stringify(describeConfig(c)), inspect(c, { depth: 10 }), String(c.database.url)]) {
      assert.ok(!text.includes(password), text);
      assert.ok(!text.includes('tok-abcdef123'), text);
    }
    const err = configError({ DATABASE_URL: `postgres://plinth:${password}@db/plinth`, PLINTH_PORT: 'x' });
    assert.ok(!err.message.includes(password));
  });

  it('masks passwords and token-like query parameters in URLs', () => {
    assert.equal(maskUrl('postgres://u:pw@h:5432/d?sslmode=require&password=x'), 'postgres://u:****@h:5432/d?sslmode=require&password=****');
    assert.equal(maskUrl('not a url with secret'), '****');
  });
});
