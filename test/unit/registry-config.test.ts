// Registry settings: MLflow URL, credentials (secrets, also from *_FILE), timeouts, webhook secret.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { isPlinthError } from '../../src/errors.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'plinth-registry-config-'));

function rejected(env: Record<string, string>): string {
  try {
    loadConfig({ env, cwd: tmp });
  } catch (err) {
    assert.ok(isPlinthError(err, 'CONFIG_INVALID'), String(err));
    return err.message;
  }
  return assert.fail('expected the configuration to be rejected');
}

describe('registry configuration', () => {
  it('defaults to the built-in registry with a webhook receiver switched off', () => {
    const c = loadConfig({ env: {}, cwd: tmp });
    assert.equal(c.mlflow.trackingUri, undefined);
    assert.equal(c.mlflow.webhookSecret, undefined);
    assert.equal(c.mlflow.timeoutMs, 10_000);
    assert.equal(c.mlflow.aliasCacheTtlMs, 30_000);
    assert.equal(c.mlflow.webhookMaxAgeSeconds, 300);
  });

  it('reads the MLflow URL, token and webhook secret, the secrets also from files, and never prints them', () => {
    const tokenFile = path.join(tmp, 'token');
    writeFileSync(tokenFile, 'mlflow-token-value\n');
    const c = loadConfig({
      env: { MLFLOW_TRACKING_URI: 'https://mlflow.internal:5000/', MLFLOW_TRACKING_TOKEN_FILE: tokenFile, MLFLOW_WEBHOOK_SECRET: 'hook-secret-value', MLFLOW_TIMEOUT_MS: '2500' },
      cwd: tmp,
    });
    assert.equal(c.mlflow.trackingUri, 'https://mlflow.internal:5000');
    assert.equal(c.mlflow.token?.reveal(), 'mlflow-token-value');
    assert.equal(c.mlflow.webhookSecret?.reveal(), 'hook-secret-value');
    assert.equal(c.mlflow.timeoutMs, 2500);
    const printed = JSON.stringify(c) + inspect(c, { depth: 10 });
    assert.ok(!printed.includes('mlflow-token-value') && !printed.includes('hook-secret-value'));
  });

  it('accepts basic auth as a pair, and refuses half a pair or both kinds at once', () => {
    const c = loadConfig({ env: { MLFLOW_TRACKING_URI: 'http://m:5000', MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' }, cwd: tmp });
    assert.equal(c.mlflow.password?.reveal(), 'p');
    assert.match(rejected({ MLFLOW_TRACKING_USERNAME: 'u' }), /MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD/);
    assert.match(rejected({ MLFLOW_TRACKING_TOKEN: 't', MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' }), /either MLFLOW_TRACKING_TOKEN/);
  });

  it('refuses a non-http tracking URI and out-of-range numbers', () => {
    assert.match(rejected({ MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' }), /mlflow\.trackingUri|MLFLOW_TRACKING_URI/);
    assert.match(rejected({ MLFLOW_TIMEOUT_MS: '5' }), /MLFLOW_TIMEOUT_MS|timeoutMs/);
    assert.match(rejected({ MLFLOW_WEBHOOK_MAX_AGE_SECONDS: '0' }), /MLFLOW_WEBHOOK_MAX_AGE_SECONDS|webhookMaxAgeSeconds/);
  });
});
