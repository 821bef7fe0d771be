// The running server: graceful drain on shutdown, HTTPS with certificate hot-reload, and the
// separate metrics port.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { startServer } from '../../src/http/server.js';
import { ADAPTER, startTestPlatform } from '../helpers/platform.js';

function makeCert(dir: string, cn: string): { cert: string; key: string } {
  const cert = path.join(dir, `${cn}.crt`);
  const key = path.join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

function servedCertificate(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', rejectUnauthorized: false }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

describe(`server (${ADAPTER})`, () => {
  it('drains in-flight requests on shutdown, then refuses new ones and closes the database', async () => {
    const t = await startTestPlatform({ PLINTH_PORT: '0', PLINTH_SHUTDOWN_TIMEOUT_MS: '5000' });
    let started = 0;
    const server = await startServer(t.platform, {
      handleSignals: false,
      configure: (app) => {
        app.get('/slow', async () => {
          started++;
          await new Promise((r) => setTimeout(r, 600));
          return { done: true };
        });
      },
    });
    try {
      const headers = { authorization: `Bearer ${t.adminKey}` };
      const inflight = Array.from({ length: 5 }, () => fetch(`${server.url}/slow`, { headers }));
      // Shut down only once all five are being handled: a connection whose request has not
      // arrived yet is idle, and closing idle connections is what shutdown should do.
      for (let i = 0; i < 200 && started < 5; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(started, 5);
      const closing = server.close();
      const results = await Promise.all(inflight);
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200]);
      await closing;
      assert.ok(!t.logs.text().includes('drain timeout reached'), 'drained without waiting for the timeout');
      await assert.rejects(fetch(`${server.url}/livez`));
      await assert.rejects(t.platform.db.ping(), 'database closed after drain');
    } finally {
      await server.close();
      await t.env.cleanup();
    }
  });

  it('turns readiness red but keeps serving during the shutdown delay, then refuses new work with problem+json', async () => {
    const t = await startTestPlatform({ PLINTH_PORT: '0', PLINTH_SHUTDOWN_DELAY_MS: '1500' });
    const server = await startServer(t.platform, {
      handleSignals: false,
      configure: (app) => {
        app.get('/slow-test', async () => new Promise((r) => setTimeout(() => r({ ok: true }), 1200)));
      },
    });
    try {
      const headers = { authorization: `Bearer ${t.adminKey}` };
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      const closing = server.close();
      await new Promise((r) => setTimeout(r, 200));
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      const body = (await ready.json()) as { checks: Array<{ name: string; ok: boolean }> };
      assert.equal(body.checks.find((c) => c.name === 'server')?.ok, false);
      // During the delay a load balancer may still route here: served, with Connection: close.
      const served = await fetch(`${server.url}/v1/whoami`, { headers });
      assert.equal(served.status, 200);
      assert.equal(served.headers.get('connection'), 'close');
      // A request still running when the delay ends is finished; one arriving then is refused.
      const slow = fetch(`${server.url}/slow-test`, { headers });
      await new Promise((r) => setTimeout(r, 1500));
      const refused = await fetch(`${server.url}/v1/whoami`, { headers }).catch(() => undefined);
      if (refused) {
        // The listener may already be closed (connection refused); if not, a clean problem+json 503.
        assert.equal(refused.status, 503);
        assert.match(String(refused.headers.get('content-type')), /application\/problem\+json/);
        assert.equal(((await refused.json()) as { code: string }).code, 'PLINTH_SHUTTING_DOWN');
      }
      assert.equal((await slow).status, 200);
      await closing;
    } finally {
      await server.close();
      await t.env.cleanup();
    }
  });

  it('serves HTTPS and reloads the certificate when the files change', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-tls-'));
    const first = makeCert(dir, 'first');
    const second = makeCert(dir, 'second');
    const live = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    writeFileSync(live.cert, readFileSync(first.cert));
    writeFileSync(live.key, readFileSync(first.key));
    const t = await startTestPlatform({ PLINTH_PORT: '0', TLS_CERT_FILE: live.cert, TLS_KEY_FILE: live.key, TLS_RELOAD_INTERVAL_MS: '100' });
    const server = await startServer(t.platform, { handleSignals: false });
    try {
      const port = Number(new URL(server.url).port);
      assert.match(server.url, /^https:/);
      const fp1 = await servedCertificate(port, readFileSync(first.cert, 'utf8'));
      assert.equal(fp1, new X509Certificate(readFileSync(first.cert)).fingerprint256);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/livez', ca: readFileSync(first.cert), servername: 'localhost' }, (res) => {
          let data = '';
          res.on('data', (c: Buffer) => (data += c.toString()));
          res.on('end', () => resolve(data));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal((JSON.parse(body) as { status: string }).status, 'ok');
      // Rotate as a Secret volume does: new files swapped in.
      writeFileSync(`${live.key}.new`, readFileSync(second.key));
      writeFileSync(`${live.cert}.new`, readFileSync(second.cert));
      renameSync(`${live.key}.new`, live.key);
      renameSync(`${live.cert}.new`, live.cert);
      const want = new X509Certificate(readFileSync(second.cert)).fingerprint256;
      let fp2 = '';
      for (let i = 0; i < 50 && fp2 !== want; i++) {
        await new Promise((r) => setTimeout(r, 100));
        fp2 = await servedCertificate(port, readFileSync(second.cert, 'utf8'));
      }
      assert.equal(fp2, want, 'the new certificate is served without a restart');
      assert.ok(t.logs.text().includes('TLS certificate reloaded'));
    } finally {
      await server.close();
      await t.env.cleanup();
    }
  });

  it('serves /metrics on METRICS_PORT to the metrics token or an admin key only', async () => {
    const t = await startTestPlatform({ PLINTH_PORT: '0', METRICS_PORT: '0', METRICS_TOKEN: 'prometheus-token-0123456789' });
    const server = await startServer(t.platform, { handleSignals: false });
    try {
      assert.ok(server.metricsUrl);
      assert.equal((await fetch(`${server.metricsUrl}/metrics`)).status, 401);
      assert.equal((await fetch(`${server.metricsUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      const byToken = await fetch(`${server.metricsUrl}/metrics`, { headers: { authorization: 'Bearer prometheus-token-0123456789' } });
      assert.equal(byToken.status, 200);
      assert.match(await byToken.text(), /plinth_http_requests_in_flight/);
      assert.equal((await fetch(`${server.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).status, 200);
      const onMain = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } });
      assert.equal(onMain.status, 404, 'not on the main port when a metrics port is set');
    } finally {
      await server.close();
      await t.env.cleanup();
    }
  });
});
