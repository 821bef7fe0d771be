// Container HEALTHCHECK: GET /livez on the local listener. Speaks HTTPS when TLS_CERT_FILE is
// set (the main port then serves TLS); the certificate is not verified, since this only asks
// whether this very process answers on loopback. Exit 0 = healthy.
import http from 'node:http';
import https from 'node:https';

const port = Number(process.env.PLINTH_PORT || 7070);
const bind = process.env.PLINTH_HOST || '127.0.0.1';
const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
const tls = Boolean(process.env.TLS_CERT_FILE);
const client = tls ? https : http;

const req = client.get({ host, port, path: '/livez', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
