// The composition root: opens the database, applies migrations, bootstraps the first tenant and
// wires the domain services together. Every door (HTTP, MCP, CLI) starts from here.
import type { Config } from './config/index.js';
import { createAuthService, type AuthService } from './auth/index.js';
import { migrate, openDatabase, type Database } from './db/index.js';
import { createEmbedder, type Embedder } from './embeddings/index.js';
import { createGateway, type GatewayService } from './gateway/index.js';
import { createDriftService, type DriftService } from './drift/index.js';
import { createDocumentService, type DocumentService } from './memory/documents.js';
import { createRightsService, type RightsService } from './memory/rights.js';
import { createMemoryService, type MemoryService } from './memory/service.js';
import { createRegistryPort, createRegistryService, type RegistryService } from './registry/index.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { adaptDrift, adaptRegistry, createMlflowRuns, createWorkflowMetrics, createWorkflowService, startWorkflowEngine, type WorkflowRole, type WorkflowService } from './workflows/index.js';
import { createMetrics, type Metrics } from './telemetry/metrics.js';
import { refreshScrapeGauges } from './telemetry/collect.js';
import { traceDatabase } from './telemetry/db-tracing.js';
import { traceEmbedder, traceUpstreams } from './telemetry/llm-tracing.js';
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
  /** Drift detection: checks, reference profiles, reports, the inference log. */
  drift: DriftService;
  /** The model registry (MLflow when MLFLOW_TRACKING_URI is set, else built-in tables). */
  registry: RegistryService;
  /** Durable workflows (DBOS): drift monitors, retraining, workflow management. */
  workflows: WorkflowService;
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
  /**
   * `executor` launches DBOS here and runs workflows and the monitor schedule (`plinth worker`,
   * embedded `plinth serve`); `client` (default) only enqueues and manages them, on first use.
   */
  workflows?: WorkflowRole;
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
    const auth = createAuthService({
      db,
      logger,
      failureLimit: { maxFailures: config.auth.maxFailures, windowMs: config.auth.failureWindowMs, blockMs: config.auth.blockMs },
    });
    if (options.bootstrap !== false) {
      const boot = await auth.bootstrap(config.dataDir);
      if (boot.created) {
        logger.info({ tenant: boot.tenant.name, key_file: boot.keyFile }, `created tenant "default" and an admin key; the key is in ${boot.keyFile}`);
      }
    }
    const rawEmbedder = await createEmbedder(config, logger);
    const embedder = tracing.tracer ? traceEmbedder(rawEmbedder, tracing.tracer) : rawEmbedder;
    const memory = await createMemoryService({ db, embedder, audit: auth.recordAudit, logger, metrics });
    const documents = createDocumentService({ db, embedder, space: memory.space, audit: auth.recordAudit, maxBytes: config.server.documentMaxBytes });
    const gateway = createGateway({ config, db, logger, registry: metrics.registry, embedder, audit: auth.recordAudit });
    if (tracing.tracer) traceUpstreams(gateway.upstreams, tracing.tracer);
    const rights = createRightsService({
      db,
      audit: auth.recordAudit,
      invalidateCache: (tenantId, target) => gateway.invalidateCache(tenantId, target),
      flushUsage: () => gateway.flush(),
      workflowSchema: config.workflows.schema,
    });
    const drift = createDriftService({ db, audit: auth.recordAudit, logger, registry: metrics.registry });
    const registryPort = createRegistryPort(config, db);
    const registry = createRegistryService({
      port: registryPort,
      db,
      audit: auth.recordAudit,
      logger,
      // The built-in tables are the source of truth and shared by every replica: never cached.
      aliasCacheTtlMs: registryPort.kind === 'mlflow' ? config.mlflow.aliasCacheTtlMs : 0,
      webhook: { secret: config.mlflow.webhookSecret, maxAgeSeconds: config.mlflow.webhookMaxAgeSeconds },
    });
    const workflowRole = options.workflows ?? 'client';
    const workflowDeps = { config, db, logger, metrics: createWorkflowMetrics(metrics.registry), registry: adaptRegistry(registry), drift: adaptDrift(drift), mlflow: createMlflowRuns(config), tracing };
    const workflows = createWorkflowService({
      config,
      db,
      logger,
      audit: auth.recordAudit,
      role: workflowRole,
      startEngine: () => startWorkflowEngine({ config, logger, role: workflowRole, deps: workflowDeps }),
    });
    if (workflowRole === 'executor') await workflows.engine();
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
      drift,
      registry,
      workflows,
      tracing,
      async collectMetrics() {
        await refreshScrapeGauges({ db, metrics, tracing, logger });
        return metrics.registry.metrics();
      },
      close() {
        closed ??= (async () => {
          try {
            // First: running workflows finish their step (bounded) while the services they use are up.
            await workflows.close();
            await gateway.close();
            await registry.close();
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
