// The composition root: opens the database, applies migrations, bootstraps the first tenant and
// wires the domain services together. Every door (HTTP, MCP, CLI) starts from here.
import type { Config } from './config/index.js';
import { createAuthService, type AuthService } from './auth/index.js';
import { migrate, openDatabase, type Database } from './db/index.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { createMetrics, type Metrics } from './telemetry/metrics.js';

export interface Platform {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  auth: AuthService;
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
}

export async function startPlatform(config: Config, options: StartPlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const metrics = options.metrics ?? createMetrics();
  const db = await openDatabase(config, { logger, allowAttach: options.allowAttach ?? false });
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
    let closed: Promise<void> | undefined;
    return {
      config,
      logger,
      metrics,
      db,
      auth,
      close() {
        closed ??= db.close();
        return closed;
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
