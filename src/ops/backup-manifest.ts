// The backup manifest: what a backup holds and how to check a restore of it. Its per-table row
// counts and content checksums are computed inside the same snapshot the dump is taken from, so
// a restore that reproduces them reproduced the data exactly.
//
// Table checksum (order-independent, constant memory):
//   checksum(T) = Σ over rows r of T of  int60(first 15 hex digits of md5(r::text))
// computed in numeric (no overflow) with TimeZone = UTC so timestamps print the same everywhere.
import { z } from 'zod';
import { PlinthError } from '../errors.js';

export const BACKUP_FORMATS = ['pg_dump-custom', 'pglite-datadir-tar-gz'] as const;
export type BackupFormat = (typeof BACKUP_FORMATS)[number];

const tableStats = z.object({ rows: z.number().int().min(0), checksum: z.string().regex(/^\d+$/) }).strict();

export const manifestSchema = z
  .object({
    manifestVersion: z.literal(1),
    id: z.string().regex(/^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{6}$/),
    plinthVersion: z.string().min(1),
    format: z.enum(BACKUP_FORMATS),
    /** When the snapshot was taken, and when the backup was complete. */
    snapshotAt: z.string().datetime(),
    finishedAt: z.string().datetime(),
    source: z
      .object({
        kind: z.enum(['postgres', 'embedded']),
        location: z.string(),
        serverVersion: z.string(),
        serverVersionNum: z.number().int(),
        /** pg_dump's major version (postgres only): pg_restore must be at least this new. */
        toolMajor: z.number().int().optional(),
      })
      .strict(),
    /** Highest applied Plinth migration. */
    schemaVersion: z.number().int().min(0),
    extensions: z.record(z.string(), z.string()),
    tables: z.record(z.string(), tableStats),
    invariants: z.object({ memoriesWithoutVector: z.number().int().min(0) }).strict(),
    data: z
      .object({
        object: z.string(),
        /** Ciphertext size and SHA-256: the authenticated manifest pins the exact data object. */
        bytes: z.number().int().min(0),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        keyId: z.string().regex(/^[0-9a-f]{16}$/),
      })
      .strict(),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;
export type TableStats = z.infer<typeof tableStats>;

/** The part of a pg client (or a PGlite instance) the statistics need. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface SnapshotStats {
  snapshotAt: string;
  serverVersion: string;
  serverVersionNum: number;
  schemaVersion: number;
  extensions: Record<string, string>;
  tables: Record<string, TableStats>;
  invariants: { memoriesWithoutVector: number };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** User tables (not extension-owned, not partitions: a partitioned parent counts its partitions). */
const LIST_TABLES = `SELECT n.nspname AS schema, c.relname AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2`;

type Row = Record<string, unknown>;

async function rows(q: Queryable, text: string, values?: unknown[]): Promise<Row[]> {
  return (await q.query(text, values)).rows as Row[];
}

/**
 * Statistics of the database as seen by the caller's transaction. The caller opens it with
 * ISOLATION LEVEL REPEATABLE READ, so every query below sees one snapshot.
 */
export async function collectStats(q: Queryable): Promise<SnapshotStats> {
  await q.query(`SET LOCAL TimeZone = 'UTC'`);
  await q.query(`SET LOCAL extra_float_digits = 1`);
  await q.query(`SET LOCAL bytea_output = 'hex'`);
  const head = (await rows(q, `SELECT now() AS at, current_setting('server_version') AS v, current_setting('server_version_num')::int AS n`))[0]!;
  const extensions: Record<string, string> = {};
  for (const r of await rows(q, 'SELECT extname, extversion FROM pg_extension ORDER BY 1')) extensions[String(r.extname)] = String(r.extversion);
  const tables: Record<string, TableStats> = {};
  for (const t of await rows(q, LIST_TABLES)) {
    const qualified = `${quoteIdent(String(t.schema))}.${quoteIdent(String(t.name))}`;
    const r = (await rows(q, `SELECT count(*)::text AS rows, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text AS sum FROM ${qualified} AS t`))[0]!;
    tables[`${String(t.schema)}.${String(t.name)}`] = { rows: Number(r.rows), checksum: String(r.sum) };
  }
  let schemaVersion = 0;
  if (tables['public.plinth_schema_migrations']) {
    schemaVersion = Number((await rows(q, 'SELECT coalesce(max(version), 0)::int AS v FROM public.plinth_schema_migrations'))[0]!.v);
  }
  let memoriesWithoutVector = 0;
  if (tables['public.memories']) {
    memoriesWithoutVector = Number((await rows(q, 'SELECT count(*)::int AS n FROM public.memories WHERE embedding IS NULL'))[0]!.n);
  }
  const at = head.at instanceof Date ? head.at.toISOString() : new Date(String(head.at)).toISOString();
  return {
    snapshotAt: at,
    serverVersion: String(head.v),
    serverVersionNum: Number(head.n),
    schemaVersion,
    extensions,
    tables,
    invariants: { memoriesWithoutVector },
  };
}

/** Differences between the manifest's tables and a restored database's; empty when they match. */
export function compareTables(expected: Record<string, TableStats>, actual: Record<string, TableStats>): string[] {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    if (!got) problems.push(`table ${name} is missing`);
    else if (got.rows !== want.rows) problems.push(`table ${name}: ${got.rows} rows, the backup holds ${want.rows}`);
    else if (got.checksum !== want.checksum) problems.push(`table ${name}: content checksum differs from the backup's`);
  }
  for (const name of Object.keys(actual)) if (!expected[name]) problems.push(`table ${name} is not in the backup`);
  return problems;
}

export function parseManifest(json: Buffer): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch {
    throw new PlinthError('BACKUP_INTEGRITY_FAILED', 'The backup manifest is not valid JSON.');
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PlinthError('BACKUP_INTEGRITY_FAILED', `The backup manifest is malformed (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}).`);
  }
  return parsed.data;
}
