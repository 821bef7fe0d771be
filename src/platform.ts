// The composition root: opens the database, applies migrations, bootstraps the first tenant and
// wires the domain services together. Every door (HTTP, MCP, CLI) starts from here.
import type { Config } from './config/index.js';
import { createAuthService, type AuthService } from './auth/index.js';
import { migrate, openDatabase, type Database } from './db/index.js';
import { createEmbedder, type Embedder } from './embeddings/index.js';
import { createGateway, type GatewayService } from './gateway/index.js';
import { createDocumentService, type DocumentService } from './memory/documents.js';
import { createRightsService, type RightsService } from './memory/rights.js';
import { createMemoryService, type MemoryService } from './memory/service.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { createMetrics, type Metrics } from './telemetry/metrics.js';
import { refreshScrapeGauges } from './telemetry/collect.js';
import { traceDatabase } from './telemetry/db-tracing.js';
import { createTracing, type Tracing } from './telemetry/tracing.js';

export interface Platform {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  auth: AuthService;
  embedder: Embedder;
  memory: MemoryService;
  documents: DocumentService;
  rights: RightsService;
  /** The LLM gateway: OpenAI-compatible chat, models, embeddings, limits, cache, usage. */
  gateway: GatewayService;
  /** OpenTelemetry tracing (a no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  tracing: Tracing;
  /** Refresh pull-style gauges and render the Prometheus exposition. */
  collectMetrics(): Promise<string>;
  /** Close everything this platform opened. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartPlatformOptions {
  logger?: Logger;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Create the default tenant and admin key on an empty database (default true). */
  bootstrap?: boolean;
  /** Attach to an embedded database hosted by another local process (CLI use). */
  allowAttach?: boolean;
  metrics?: Metrics;
  tracing?: Tracing;
}

export async function startPlatform(config: Config, options: StartPlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const tracing = options.tracing ?? createTracing(config.otel, { logger });
  const closeTracing = () => (options.tracing ? Promise.resolve() : tracing.shutdown());
  // With tracing on, latency observations carry trace ids as exemplars (OpenMetrics exposition).
  const metrics = options.metrics ?? createMetrics({ exemplars: tracing.enabled });
  const rawDb = await openDatabase(config, { logger, allowAttach: options.allowAttach ?? false }).catch(async (err: unknown) => {
    await closeTracing();
    throw err;
  });
  const db = tracing.tracer ? traceDatabase(rawDb, tracing.tracer) : rawDb;
  try {
    if (options.migrate !== false) {
      const { applied, status } = await migrate(db, { logger });
      if (applied.length > 0) logger.info({ applied, version: status.current }, 'database migrated');
    }
    const auth = createAuthService({ db, logger });
    if (options.bootstrap !== false) {
      const boot = await auth.bootstrap(config.dataDir);
      if (boot.created) {
        logger.info({ tenant: boot.tenant.name, key_file: boot.keyFile }, `created tenant "default" and an admin key; the key is in ${boot.keyFile}`);
      }
    }
    const embedder = await createEmbedder(config, logger);
    const memory = await createMemoryService({ db, embedder, audit: auth.recordAudit, logger, metrics });
    const documents = createDocumentService({ db, embedder, space: memory.space, audit: auth.recordAudit, maxBytes: config.server.documentMaxBytes });
    const rights = createRightsService({ db, audit: auth.recordAudit });
    const gateway = createGateway({ config, db, logger, registry: metrics.registry, embedder });
    let closed: Promise<void> | undefined;
    return {
      config,
      logger,
      metrics,
      db,
      auth,
      embedder,
      memory,
      documents,
      rights,
      gateway,
      tracing,
      async collectMetrics() {
        await refreshScrapeGauges({ db, metrics, tracing, logger });
        return metrics.registry.metrics();
      },
      close() {
        closed ??= (async () => {
          try {
            await gateway.close();
            await embedder.close();
          } finally {
            await db.close();
            await closeTracing(); // last: flushes the spans of everything above
          }
        })();
        return closed;
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    await closeTracing();
    throw err;
  }
}
