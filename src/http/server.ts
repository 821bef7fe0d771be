// Runs the HTTP(S) server: listening, certificate hot-reload, a separate metrics port, and
// shutdown in a written order — stop taking work, drain in-flight requests within a bounded
// time, then close the database.
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Platform } from '../platform.js';
import { authorizeMetrics, buildApp } from './app.js';
import { errorsPlugin } from './plugins/errors.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  metricsUrl?: string;
  /** Drain and stop. Safe to call twice; resolves when everything is closed. */
  close(): Promise<void>;
}

export interface StartServerOptions {
  /** Install SIGTERM/SIGINT handlers that close the server (default true). */
  handleSignals?: boolean;
  /** Close the platform (database) after the server has drained (default true). */
  closePlatform?: boolean;
  /** Add routes or hooks before listening (extensions, tests). */
  configure?: (app: FastifyInstance) => void | Promise<void>;
}

export async function startServer(platform: Platform, options: StartServerOptions = {}): Promise<RunningServer> {
  const { config, logger } = platform;
  const tls = config.server.tls;
  const https = tls.certFile && tls.keyFile ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : undefined;
  // Shutdown has two phases: not ready (readiness red, still serving, during the shutdown delay),
  // then draining (new requests refused, in-flight ones finish).
  let notReady = false;
  let draining = false;

  const app = await buildApp(platform, {
    metricsRoute: config.server.metricsPort === undefined,
    isNotReady: () => notReady,
    isDraining: () => draining,
    ...(https ? { https } : {}),
  });
  await options.configure?.(app);
  const address = await app.listen({ host: config.server.host, port: config.server.port });

  let metricsApp: FastifyInstance | undefined;
  let metricsUrl: string | undefined;
  if (config.server.metricsPort !== undefined) {
    const metricsLogger: FastifyBaseLogger = logger.child({ server: 'metrics' });
    metricsApp = Fastify({ loggerInstance: metricsLogger });
    await metricsApp.register(errorsPlugin);
    metricsApp.get('/metrics', async (request, reply) => {
      const header = request.headers.authorization;
      await authorizeMetrics(platform, header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined, reply, { source: request.ip, requestId: request.id });
      reply.type(platform.metrics.registry.contentType);
      return platform.collectMetrics();
    });
    metricsUrl = await metricsApp.listen({ host: config.server.host, port: config.server.metricsPort });
  }

  // Certificates rotate (cert-manager, Kubernetes Secret volumes): reload them without a restart.
  const stopWatching = https && tls.certFile && tls.keyFile ? watchCertificates(app, tls.certFile, tls.keyFile, tls.reloadIntervalMs, logger) : () => {};

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      notReady = true;
      stopWatching();
      if (config.server.shutdownDelayMs > 0) {
        // Readiness is red from now on; give load balancers time to stop routing here before the
        // listener closes (Kubernetes removes the endpoint asynchronously). Requests that still
        // arrive meanwhile are served.
        logger.info({ delay_ms: config.server.shutdownDelayMs }, 'shutting down: readiness red, still serving, waiting before closing the listener');
        await new Promise((r) => setTimeout(r, config.server.shutdownDelayMs));
      }
      draining = true;
      logger.info({ timeout_ms: config.server.shutdownTimeoutMs }, 'shutting down: draining in-flight requests');
      const drained = app.close().then(() => true);
      const timedOut = new Promise<false>((resolve) => {
        const t = setTimeout(() => resolve(false), config.server.shutdownTimeoutMs);
        t.unref();
      });
      if (!(await Promise.race([drained, timedOut]))) {
        logger.warn('drain timeout reached: closing remaining connections');
        app.server.closeAllConnections();
        await drained;
      }
      await metricsApp?.close();
      if (options.closePlatform !== false) await platform.close();
      logger.info('shutdown complete');
    })();
    return closing;
  };

  if (options.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received');
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  logger.info({ url: address, metrics: metricsUrl, database: platform.db.mode, tls: Boolean(https) }, `Plinth listening on ${address}`);
  return { app, url: address, ...(metricsUrl ? { metricsUrl } : {}), close };
}

function watchCertificates(app: FastifyInstance, certFile: string, keyFile: string, intervalMs: number, logger: Platform['logger']): () => void {
  let last = '';
  const onChange = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
    try {
      const cert = readFileSync(certFile);
      const key = readFileSync(keyFile);
      const fingerprint = `${cert.length}:${key.length}:${cert.subarray(-64).toString('hex')}`;
      if (fingerprint === last) return;
      (app.server as unknown as HttpsServer).setSecureContext({ cert, key });
      last = fingerprint;
      logger.info({ cert_file: certFile }, 'TLS certificate reloaded');
    } catch (err) {
      // A rotation caught half-way (new cert, old key) fails here; the next change completes it.
      logger.warn({ err: { message: (err as Error).message } }, 'TLS certificate reload failed; keeping the current one');
    }
  };
  watchFile(certFile, { interval: intervalMs }, onChange);
  watchFile(keyFile, { interval: intervalMs }, onChange);
  return () => {
    unwatchFile(certFile, onChange);
    unwatchFile(keyFile, onChange);
  };
}
