// TLS to a real PostgreSQL: sslmode=verify-full checks the chain against DATABASE_CA_FILE and the
// host name; verify-ca checks only the chain; a wrong CA is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { isPlinthError } from '../../src/errors.js';
import { REAL_PG_URL } from '../helpers/platform.js';

const CA = process.env.PLINTH_TEST_PG_TLS_CA;
const PORT = process.env.PLINTH_TEST_PG_TLS_PORT;

async function sslInUse(env: Record<string, string>): Promise<boolean> {
  const db = await openDatabase(loadConfig({ env: { PLINTH_DATA_DIR: os.tmpdir(), DATABASE_CONNECT_TIMEOUT_MS: '3000', ...env } }));
  try {
    const r = await db.withSystem((tx) => tx.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'));
    return r.rows[0]?.ssl ?? false;
  } finally {
    await db.close();
  }
}

describe('PostgreSQL over TLS (real server)', () => {
  it('runs against a real server (never skipped)', () => {
    assert.ok(REAL_PG_URL, 'PLINTH_TEST_PG_URL must be set by scripts/test-services.sh');
    assert.ok(CA && PORT, 'the TLS CA and port must be set by scripts/services.sh');
  });

  it('connects with verify-full when the CA and host name match', async () => {
    assert.equal(await sslInUse({ DATABASE_URL: `postgres://plinth:plinth@localhost:${PORT}/postgres`, DATABASE_SSL_MODE: 'verify-full', DATABASE_CA_FILE: CA! }), true);
  });

  it('accepts sslmode and sslrootcert in the URL', async () => {
    assert.equal(await sslInUse({ DATABASE_URL: `postgres://plinth:plinth@localhost:${PORT}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(CA!)}` }), true);
  });

  it('refuses verify-full when the host name does not match the certificate', async () => {
    await assert.rejects(
      sslInUse({ DATABASE_URL: `postgres://plinth:plinth@127.0.0.1:${PORT}/postgres`, DATABASE_SSL_MODE: 'verify-full', DATABASE_CA_FILE: CA! }),
      (e) => /127\.0\.0\.1|altnames|IP/i.test(String((e as Error).cause ?? e)) || isPlinthError(e),
    );
    // verify-ca checks the chain only, so the same connection succeeds.
    assert.equal(await sslInUse({ DATABASE_URL: `postgres://plinth:plinth@127.0.0.1:${PORT}/postgres`, DATABASE_SSL_MODE: 'verify-ca', DATABASE_CA_FILE: CA! }), true);
  });

  it('refuses a server certificate from another CA', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-otherca-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=other', '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'ca.crt')], { stdio: 'ignore' });
    await assert.rejects(
      sslInUse({ DATABASE_URL: `postgres://plinth:plinth@localhost:${PORT}/postgres`, DATABASE_SSL_MODE: 'verify-full', DATABASE_CA_FILE: path.join(dir, 'ca.crt') }),
    );
  });

  it('uses plaintext when TLS is disabled', async () => {
    assert.equal(await sslInUse({ DATABASE_URL: `postgres://plinth:plinth@localhost:${PORT}/postgres`, DATABASE_SSL_MODE: 'disable' }), false);
  });
});
