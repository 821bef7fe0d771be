// `plinth drill`: prove the newest backup restores. Restores it into a scratch database
// (PostgreSQL: CREATE DATABASE plinth_drill_<random>, dropped afterwards; embedded: a temporary
// data directory), verifies row counts and checksums against the manifest, checks application
// invariants, times the restore (RTO) and reports. Any mismatch fails the drill.
//
// Invariants checked on the restored database:
//   vectors      every memory has its vector unless it had none in the backup, and every vector
//                (memories, document chunks) has its embedding space's dimensions;
//   foreign keys every foreign-key constraint is validated and has no orphan rows;
//   searches     for a sample of memories, an exact nearest-neighbour search (by the memory's own
//                vector) finds it first, and, when the source database is reachable, returns the
//                same ids there (restricted to rows unchanged since the backup's snapshot).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { Secret, type Config } from '../config/index.js';
import { openDatabase, type Database, type Tx } from '../db/index.js';
import { PlinthError, toPlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { createDrillMetrics } from '../telemetry/metrics.js';
import { quoteIdent } from './backup-manifest.js';
import { pgClient, pgTarget, withDatabase } from './backup-pg.js';
import { restoreBackup, type RestoreResult } from './restore.js';

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  ok: boolean;
  backup: string | undefined;
  format: string | undefined;
  snapshotAt: string | undefined;
  backupAgeSeconds: number | undefined;
  /** Restore into the scratch database, verification included (measured RTO). */
  restoreSeconds: number | undefined;
  durationSeconds: number;
  finishedAt: string;
  checks: DrillCheck[];
}

export interface DrillOptions {
  config: Config;
  /** Where the backups are; defaults to BACKUP_TARGET. */
  from?: string | undefined;
  /** A specific backup id instead of the newest complete one. */
  backup?: string | undefined;
  /** Memories sampled for the search comparison. */
  searchSample?: number;
  logger?: Logger | undefined;
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const { config, logger } = options;
  const started = performance.now();
  const checks: DrillCheck[] = [];
  let restored: RestoreResult | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let scratch: Database | undefined;
  try {
    const place = scratchPlace(config);
    cleanup = place.cleanup;
    restored = await restoreBackup({ config, from: options.from, backup: options.backup, ...place.target, logger });
    checks.push({ name: 'authenticated', ok: true, detail: `manifest and ${restored.manifest.data.bytes} bytes of data match (key ${restored.manifest.data.keyId})` });
    checks.push({
      name: 'rows and checksums',
      ok: restored.problems.length === 0,
      detail: restored.problems.length === 0 ? `${restored.tables} tables, ${restored.rows} rows match the manifest` : restored.problems.join('; '),
    });
    if (restored.problems.length === 0) {
      checks.push({ name: 'migrations', ok: true, detail: restored.migrated.length ? `applied ${restored.migrated.join(', ')}; schema version ${restored.schemaVersion}` : `schema version ${restored.schemaVersion}, nothing to apply` });
      scratch = await openDatabase(place.config(restored), { ...(logger ? { logger } : {}) });
      checks.push(...(await invariantChecks(scratch, restored)));
      checks.push(await searchCheck(config, scratch, restored, options.searchSample ?? 5));
    }
  } catch (err) {
    checks.push({ name: 'restore', ok: false, detail: describe(err) });
  } finally {
    await scratch?.close().catch(() => undefined);
    await cleanup?.().catch((err: unknown) => logger?.warn({ err: { message: (err as Error).message } }, 'drill cleanup failed'));
  }
  const finishedAt = new Date();
  return {
    ok: checks.length > 0 && checks.every((c) => c.ok),
    backup: restored?.id,
    format: restored?.format,
    snapshotAt: restored?.snapshotAt,
    backupAgeSeconds: restored ? Math.round((finishedAt.getTime() - Date.parse(restored.snapshotAt)) / 1000) : undefined,
    restoreSeconds: restored ? restored.restoreMs / 1000 : undefined,
    durationSeconds: (performance.now() - started) / 1000,
    finishedAt: finishedAt.toISOString(),
    checks,
  };
}

interface ScratchPlace {
  target: { databaseUrl: string } | { dataDir: string };
  config: (restored: RestoreResult) => Config;
  cleanup: () => Promise<void>;
}

/** Where the drill restores: decided by the source mode (PostgreSQL backups need a server). */
function scratchPlace(config: Config): ScratchPlace {
  const server = config.backup.drillDatabaseUrl?.reveal() ?? config.database.url?.reveal();
  if (server) {
    const base = pgTarget(server, config);
    const name = `plinth_drill_${randomBytes(6).toString('hex')}`;
    const scratch = withDatabase(base, name);
    return {
      target: { databaseUrl: scratch.url.toString() },
      config: () => ({ ...config, database: { ...config.database, url: new Secret(scratch.url.toString()), readUrl: undefined } }),
      async cleanup() {
        const admin = pgClient(base, 'plinth-drill');
        await admin.connect();
        try {
          await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
      },
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-drill-'));
  return {
    target: { dataDir: dir },
    config: () => ({ ...config, dataDir: dir, database: { ...config.database, url: undefined, readUrl: undefined } }),
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
}

async function one<T>(tx: Tx, sql: string, values?: unknown[]): Promise<T> {
  return (await tx.query(sql, values)).rows[0] as T;
}

async function hasTable(tx: Tx, name: string): Promise<boolean> {
  return (await one<{ t: string | null }>(tx, 'SELECT to_regclass($1)::text AS t', [name])).t !== null;
}

async function invariantChecks(db: Database, restored: RestoreResult): Promise<DrillCheck[]> {
  return db.withSystem(async (tx) => {
    const checks: DrillCheck[] = [];
    if (await hasTable(tx, 'public.memories')) {
      const m = await one<{ total: number; missing: number; bad: number }>(
        tx,
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE m.embedding IS NULL)::int AS missing,
                count(*) FILTER (WHERE m.embedding IS NOT NULL AND (s.id IS NULL OR vector_dims(m.embedding) <> s.dimensions))::int AS bad
           FROM memories m LEFT JOIN embedding_spaces s ON s.id = m.space_id`,
      );
      const c = (await hasTable(tx, 'public.document_chunks'))
        ? await one<{ bad: number }>(
            tx,
            `SELECT count(*) FILTER (WHERE c.embedding IS NOT NULL AND (s.id IS NULL OR vector_dims(c.embedding) <> s.dimensions))::int AS bad
               FROM document_chunks c LEFT JOIN embedding_spaces s ON s.id = c.space_id`,
          )
        : { bad: 0 };
      const expectedMissing = restored.manifest.invariants.memoriesWithoutVector;
      const ok = m.missing === expectedMissing && m.bad === 0 && c.bad === 0;
      checks.push({
        name: 'vectors',
        ok,
        detail: ok
          ? `${m.total - m.missing} of ${m.total} memories have their vector (as in the backup); every vector fits its space`
          : `${m.missing} memories without a vector (backup: ${expectedMissing}), ${m.bad} memory and ${c.bad} chunk vectors do not fit their space`,
      });
    }
    const fks = (
      await tx.query<{ schema: string; tbl: string; name: string; validated: boolean; cols: string[]; ref_schema: string; ref_tbl: string; ref_cols: string[] }>(
        `SELECT n.nspname AS schema, c.relname AS tbl, k.conname AS name, k.convalidated AS validated,
                (SELECT array_agg(a.attname::text ORDER BY u.i) FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n) AS cols,
                rn.nspname AS ref_schema, rc.relname AS ref_tbl,
                (SELECT array_agg(a.attname::text ORDER BY u.i) FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n) AS ref_cols
           FROM pg_constraint k
           JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
          WHERE k.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          ORDER BY 1, 2, 3`,
      )
    ).rows;
    const broken: string[] = [];
    for (const fk of fks) {
      if (!fk.validated) broken.push(`${fk.tbl}.${fk.name} not validated`);
      // Identifiers come from the catalog and are quoted; nothing here is user input.
      const child = `${quoteIdent(fk.schema)}.${quoteIdent(fk.tbl)}`;
      const parent = `${quoteIdent(fk.ref_schema)}.${quoteIdent(fk.ref_tbl)}`;
      const notNull = fk.cols.map((col) => `c.${quoteIdent(col)} IS NOT NULL`).join(' AND ');
      const join = fk.cols.map((col, i) => `p.${quoteIdent(fk.ref_cols[i]!)} = c.${quoteIdent(col)}`).join(' AND ');
      const orphans = await one<{ n: number }>(tx, `SELECT count(*)::int AS n FROM ${child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${join})`);
      if (orphans.n > 0) broken.push(`${fk.tbl}.${fk.name}: ${orphans.n} orphan rows`);
    }
    checks.push({ name: 'foreign keys', ok: broken.length === 0, detail: broken.length === 0 ? `${fks.length} constraints hold` : broken.join('; ') });
    return checks;
  });
}

interface Sample {
  id: string;
  tenant_id: string;
  space_id: number;
  v: string;
}

const NEIGHBOURS = 10;
/** Exact search: sequential scan and sort, so the comparison tests the data, not an approximate index. */
const EXACT = { enable_indexscan: 0, enable_bitmapscan: 0 } as const;

async function searchCheck(config: Config, scratch: Database, restored: RestoreResult, sampleSize: number): Promise<DrillCheck> {
  const samples = await scratch.withSystem(async (tx) => {
    if (!(await hasTable(tx, 'public.memories'))) return [];
    const seed = restored.id;
    return (
      await tx.query<Sample>(
        `SELECT id::text, tenant_id::text, space_id, embedding::text AS v FROM memories WHERE embedding IS NOT NULL ORDER BY md5(id::text || $1) LIMIT $2`,
        [seed, sampleSize],
      )
    ).rows;
  });
  if (samples.length === 0) return { name: 'searches', ok: true, detail: 'no memories with vectors to search' };

  const knn = `SELECT id::text, (embedding <=> $3::vector) AS d FROM memories WHERE tenant_id = $1 AND space_id = $2 ORDER BY embedding <=> $3::vector, id LIMIT ${NEIGHBOURS}`;
  const restoredResults = await scratch.withSystem(
    async (tx) => Promise.all(samples.map(async (s) => (await tx.query<{ id: string; d: number }>(knn, [s.tenant_id, s.space_id, s.v])).rows)),
    { readOnly: true, settings: EXACT },
  );
  const problems: string[] = [];
  restoredResults.forEach((r, i) => {
    if (!r[0] || Number(r[0].d) > 1e-6) problems.push(`memory ${samples[i]!.id} is not its own nearest neighbour`);
  });

  const source = await openSource(config);
  if (!source) {
    const ok = problems.length === 0;
    return { name: 'searches', ok, detail: ok ? `${samples.length} sampled searches find their memory first (source not reachable: not compared)` : problems.join('; ') };
  }
  let compared = 0;
  try {
    await source.withSystem(
      async (tx) => {
        if (!(await hasTable(tx, 'public.memories'))) return;
        for (const [i, s] of samples.entries()) {
          // Rows changed or added since the snapshot cannot be in the backup: leave them out.
          const there = (
            await tx.query<{ id: string }>(
              `SELECT id::text FROM memories WHERE tenant_id = $1 AND space_id = $2 AND updated_at <= $4 ORDER BY embedding <=> $3::vector, id LIMIT ${NEIGHBOURS}`,
              [s.tenant_id, s.space_id, s.v, restored.snapshotAt],
            )
          ).rows.map((r) => r.id);
          const here = restoredResults[i]!.map((r) => r.id);
          const stillThere = new Set(
            (await tx.query<{ id: string }>(`SELECT id::text FROM memories WHERE id = ANY($1::uuid[]) AND updated_at <= $2`, [here, restored.snapshotAt])).rows.map((r) => r.id),
          );
          const mine = here.filter((id) => stillThere.has(id));
          const n = Math.min(mine.length, there.length);
          if (mine.slice(0, n).join() !== there.slice(0, n).join()) problems.push(`search by memory ${s.id} returns different ids than on the source`);
          compared++;
        }
      },
      { readOnly: true, settings: EXACT },
    );
  } catch (err) {
    problems.push(`source search failed: ${describe(err)}`);
  } finally {
    await source.close().catch(() => undefined);
  }
  const ok = problems.length === 0;
  return { name: 'searches', ok, detail: ok ? `${samples.length} sampled searches find their memory first; ${compared} return the same ids as on the source` : problems.join('; ') };
}

/** An operator-facing description; an unexpected error's own message is more useful than "Internal error". */
function describe(err: unknown): string {
  const e = toPlinthError(err);
  const cause = e.is('INTERNAL') && e.cause instanceof Error ? e.cause.message : e.message;
  return `${cause} (${e.code})`;
}

/** The live database, if it can be reached without side effects (never creates an embedded one). */
async function openSource(config: Config): Promise<Database | undefined> {
  if (!config.database.url && !existsSync(path.join(config.dataDir, 'pglite', 'PG_VERSION'))) return undefined;
  try {
    const db = await openDatabase(config, { allowAttach: true });
    try {
      await db.ping();
      return db;
    } catch {
      await db.close().catch(() => undefined);
      return undefined;
    }
  } catch {
    return undefined;
  }
}

/** Fill a registry with the drill's gauges; the last success time carries over from `previousSuccess` when this drill failed. */
export function drillMetrics(registry: Registry, report: DrillReport, previousSuccess?: number): void {
  const m = createDrillMetrics(registry);
  const finished = Date.parse(report.finishedAt) / 1000;
  m.ok.set(report.ok ? 1 : 0);
  m.lastRun.set(finished);
  m.duration.set(report.durationSeconds);
  if (report.restoreSeconds !== undefined) m.restoreDuration.set(report.restoreSeconds);
  if (report.backupAgeSeconds !== undefined) m.backupAge.set(report.backupAgeSeconds);
  if (report.ok) m.lastSuccess.set(finished);
  else if (previousSuccess !== undefined) m.lastSuccess.set(previousSuccess);
  else registry.removeSingleMetric('plinth_backup_drill_last_success_timestamp_seconds');
}

export function assertDrillPassed(report: DrillReport): void {
  if (!report.ok) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    throw new PlinthError('DRILL_FAILED', `The restore drill failed: ${failed.join(' | ')}`);
  }
}
