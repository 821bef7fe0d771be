// Test fixtures: a fresh database per call (embedded PGlite in a temp dir, or a new database on
// the real PostgreSQL when PLINTH_TEST_PG_URL is set), a platform on it, and captured logs.
// Loading this module turns on the run-wide log capture of ./log-capture.ts when
// PLINTH_TEST_LOG_DIR is set.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startPlatform, type Platform, type StartPlatformOptions } from '../../src/platform.js';
import { createLogger, type Logger } from '../../src/telemetry/logger.js';
import { registerTestSecrets } from './log-capture.js';

/** Set by `npm run test:services`: run the same suites against a real PostgreSQL. */
export const REAL_PG_URL = process.env.PLINTH_TEST_PG_URL;
export const ADAPTER = REAL_PG_URL ? 'postgres' : 'embedded';

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestEnv {
  env: Record<string, string>;
  dataDir: string;
  /** The real database URL for this test database (postgres adapter only). */
  databaseUrl?: string;
  cleanup(): Promise<void>;
}

/** A fresh, empty database and data directory. */
export async function freshEnv(extra: Record<string, string> = {}): Promise<TestEnv> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-test-'));
  registerTestSecrets(extra);
  if (!REAL_PG_URL) {
    return {
      env: { PLINTH_DATA_DIR: dataDir, ...extra },
      dataDir,
      cleanup: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const name = `plinth_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: REAL_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(REAL_PG_URL);
  if (process.env.PLINTH_TEST_PG_ADMIN_URL) {
    // pgvector is not a trusted extension: a superuser creates it, as an operator would.
    const su = new URL(process.env.PLINTH_TEST_PG_ADMIN_URL);
    su.pathname = `/${name}`;
    const c = new pg.Client({ connectionString: su.toString() });
    await c.connect();
    await c.query('CREATE EXTENSION IF NOT EXISTS vector');
    await c.end();
  }
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  return {
    env: { PLINTH_DATA_DIR: dataDir, DATABASE_URL: databaseUrl, ...extra },
    dataDir,
    databaseUrl,
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: REAL_PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface TestPlatform {
  platform: Platform;
  config: Config;
  adminKey: string;
  logs: LogCapture;
  logger: Logger;
  env: TestEnv;
  close(): Promise<void>;
}

export async function startTestPlatform(
  extraEnv: Record<string, string> = {},
  options: StartPlatformOptions & { logLevel?: string } = {},
): Promise<TestPlatform> {
  const env = await freshEnv(extraEnv);
  const config = loadConfig({ env: env.env });
  const logs = new LogCapture();
  const logger = createLogger({ level: options.logLevel ?? 'info', destination: logs });
  const platform = await startPlatform(config, { logger, ...options });
  const adminKey = options.bootstrap === false ? '' : readFileSync(path.join(env.dataDir, 'admin.key'), 'utf8').trim();
  return {
    platform,
    config,
    adminKey,
    logs,
    logger,
    env,
    async close() {
      await platform.close();
      await env.cleanup();
    },
  };
}
