// The database port. One `pg` code path for both modes: a real PostgreSQL (DATABASE_URL)
// or the embedded PGlite reached over its wire-protocol socket.
//
// Tenant isolation is enforced by PostgreSQL itself: `withTenant` opens a transaction,
// switches to the restricted `plinth_app` role and sets `plinth.tenant_id`; row-level
// security policies on every tenant-owned table compare against that setting. A query that
// forgets its WHERE clause still sees only the current tenant's rows.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { Config } from '../config/index.js';
import { maskUrl } from '../config/index.js';
import { PlinthError, toPlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded/host.js';
import { sqlStatementName } from './prepared.js';

export type Row = Record<string, unknown>;

/** The part of a pg client that domain code may use: parameterised queries only. */
export interface Tx {
  query<R extends pg.QueryResultRow = Row>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
  /** A named prepared statement (see prepared.ts): parsed and planned once per connection. */
  query<R extends pg.QueryResultRow = Row>(statement: PreparedStatement): Promise<pg.QueryResult<R>>;
}

export interface PreparedStatement {
  name: string;
  text: string;
  values: readonly unknown[];
}

export interface TxOptions {
  /** Run on the read replica when one is configured, in a READ ONLY transaction. */
  readOnly?: boolean;
  /** One snapshot for every statement of the transaction (consistent multi-query reads). */
  repeatableRead?: boolean;
  /**
   * Settings for this transaction only (SET LOCAL): numbers, or lower-case keywords, e.g.
   * { 'hnsw.ef_search': 100, plan_cache_mode: 'force_generic_plan' }.
   */
  settings?: Readonly<Record<string, number | string>>;
  /**
   * The transaction runs exactly one statement (a second one is an error). With `readOnly`, on
   * PostgreSQL with prepared statements, BEGIN, the settings, the statement and COMMIT then travel
   * in one message: one round trip instead of three (see `oneRoundTrip`).
   */
  oneStatement?: boolean;
}

const SETTING_NAME = /^[a-z_]+(\.[a-z_]+)?$/;
const SETTING_KEYWORD = /^[a-z_]+$/;

function localSettings(settings: Readonly<Record<string, number | string>> | undefined): string {
  let sql = '';
  for (const [name, value] of Object.entries(settings ?? {})) {
    // Names and values are code-supplied, but are still checked before they are written into SQL.
    const valid = typeof value === 'number' ? Number.isFinite(value) : SETTING_KEYWORD.test(value);
    if (!SETTING_NAME.test(name) || !valid) throw new PlinthError('INTERNAL', `invalid setting ${name}`);
    sql += `; SET LOCAL ${name} = ${value}`;
  }
  return sql;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Database {
  readonly mode: 'embedded' | 'postgres';
  /** Where the data lives, safe to print (passwords masked). */
  readonly location: string;
  /** A transaction as tenant `tenantId`, under row-level security. */
  withTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /** A transaction with platform privileges (bypasses RLS): bootstrap, key lookup, operations. */
  withSystem<T>(fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /** A dedicated connection outside any transaction (migrations hold a session advisory lock on it). */
  withConnection<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Round-trip time of a trivial query, in milliseconds. */
  ping(): Promise<number>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}

export const APP_ROLE = 'plinth_app';

/** Statements prepared with SQL PREPARE on each connection (`oneRoundTrip`), by name. */
const preparedOn = new WeakMap<pg.ClientBase, Set<string>>();
const { prepareValue } = (pg as unknown as { utils: { prepareValue: (value: unknown) => unknown } }).utils;

const NEEDS_ESCAPE = /['\\]/;

/**
 * A bind value as a quoted SQL literal: the text node-postgres would send for it, quoted with
 * `escapeLiteral`; undefined for a value a simple-query message cannot carry (a NUL byte, bytes).
 */
export function literal(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'NULL';
  const text = prepareValue(value);
  if (text === null) return 'NULL';
  if (typeof text !== 'string' || text.includes('\0')) return undefined;
  // escapeLiteral copies character by character; a text without quotes or backslashes (a vector,
  // a UUID, a number) comes out unchanged between quotes, the same result without the copy.
  return NEEDS_ESCAPE.test(text) ? pg.escapeLiteral(text) : `'${text}'`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OpenDatabaseOptions {
  /** Attach to an embedded database already hosted by another process (CLI use). */
  allowAttach?: boolean;
  logger?: Logger;
}

export async function openDatabase(config: Config, options: OpenDatabaseOptions = {}): Promise<Database> {
  const logger = options.logger;
  const db = config.database;
  if (db.url) {
    const url = db.url.reveal();
    const base = poolConfig(url, config);
    const pool = new pg.Pool(base);
    const readPool = db.readUrl ? new pg.Pool(poolConfig(db.readUrl.reveal(), config)) : undefined;
    for (const p of [pool, readPool]) {
      // An idle client losing its connection must not crash the process.
      p?.on('error', (err) => logger?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'database connection lost'));
    }
    return createDatabase({ mode: 'postgres', location: maskUrl(url), pool, readPool, prepare: db.preparedStatements, onClose: async () => {} });
  }

  const embedded: EmbeddedDatabase = await startEmbeddedDatabase({
    dataDir: config.dataDir,
    maxConnections: db.poolMax + 8,
    allowAttach: options.allowAttach ?? false,
  });
  const pool = new pg.Pool({
    host: embedded.socketDir,
    port: embedded.port,
    user: 'postgres',
    database: 'postgres',
    max: db.poolMax,
    connectionTimeoutMillis: db.connectTimeoutMs,
    idleTimeoutMillis: 0,
    application_name: 'plinth',
  });
  pool.on('error', (err) => logger?.warn({ err: { message: err.message } }, 'embedded database connection lost'));
  return createDatabase({
    mode: 'embedded',
    location: `${config.dataDir}/pglite${embedded.hosted ? '' : ' (attached)'}`,
    pool,
    onClose: () => embedded.close(),
  });
}

function poolConfig(url: string, config: Config): pg.PoolConfig {
  const db = config.database;
  const parsed = new URL(url);
  const urlSslMode = parsed.searchParams.get('sslmode') ?? undefined;
  const urlRootCert = parsed.searchParams.get('sslrootcert') ?? undefined;
  // TLS is configured from one place (below), not half from the URL and half from options.
  for (const k of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl']) parsed.searchParams.delete(k);
  const sslMode = db.sslMode ?? (urlSslMode as typeof db.sslMode) ?? 'prefer';
  const caFile = db.caFile ?? urlRootCert;
  if ((sslMode === 'verify-full' || sslMode === 'verify-ca') && !caFile) {
    // Never fall back silently to the system trust store for a verifying mode.
    throw new PlinthError('CONFIG_INVALID', `DATABASE_SSL_MODE ${sslMode} needs DATABASE_CA_FILE (or sslrootcert in the URL).`);
  }
  return {
    connectionString: parsed.toString(),
    max: db.poolMax,
    connectionTimeoutMillis: db.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: db.statementTimeoutMs || undefined,
    application_name: 'plinth',
    ssl: sslOptions(sslMode, caFile),
    keepAlive: true,
  };
}

export function sslOptions(mode: string, caFile: string | undefined): false | ConnectionOptions {
  const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  switch (mode) {
    case 'disable':
    case 'prefer': // node-postgres cannot fall back from TLS to plaintext; 'prefer' means plaintext here.
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ca, rejectUnauthorized: true };
    default:
      throw new PlinthError('CONFIG_INVALID', `DATABASE_SSL_MODE: unsupported value`);
  }
}

interface CreateDatabaseInput {
  mode: 'embedded' | 'postgres';
  location: string;
  pool: pg.Pool;
  readPool?: pg.Pool | undefined;
  /** Whether named prepared statements are used (never on the embedded database). */
  prepare?: boolean;
  onClose: () => Promise<void>;
}

/**
 * Prepared statements run unnamed (parsed each time) on the embedded database — one PGlite session
 * shared by every socket connection, where a statement prepared on one connection would already
 * exist for the next one that prepares it — and when DATABASE_PREPARED_STATEMENTS=false (a pooler
 * in transaction mode hands each transaction another server connection).
 */
function unnamed(client: pg.PoolClient): Tx {
  return {
    query<R extends pg.QueryResultRow>(statement: string | PreparedStatement, values?: readonly unknown[]) {
      return typeof statement === 'string' ? client.query<R>(statement, values as unknown[]) : client.query<R>(statement.text, statement.values as unknown[]);
    },
  };
}

function createDatabase(input: CreateDatabaseInput): Database {
  const { pool, readPool } = input;
  const txOf = input.prepare === true ? (client: pg.PoolClient): Tx => client : unnamed;
  let closed: Promise<void> | undefined;

  /**
   * A read-only transaction of one statement in one round trip. node-postgres sends one message
   * at a time and the extended protocol cannot carry BEGIN with it, so the statement is prepared
   * once per connection with SQL `PREPARE` (its own round trip, under the application role) and
   * then run as `BEGIN …; SET LOCAL …; EXECUTE name(literals); COMMIT` in one simple-query
   * message. The values become literals exactly as node-postgres would bind them (its
   * `prepareValue`, quoted by `escapeLiteral`), so they are still data, never SQL. A value with a
   * NUL byte (which ends a simple-query message; PostgreSQL rejects it in text anyway) or a
   * statement past the MAX_PREPARED bound takes the three-round-trip path instead.
   */
  async function oneRoundTrip<T>(target: pg.Pool, begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const held = await checkout(target);
    const { client } = held;
    let sent = false;
    let broken: Error | undefined;
    const query = async <R extends pg.QueryResultRow>(statement: string | PreparedStatement, values?: readonly unknown[]): Promise<pg.QueryResult<R>> => {
      sent = true;
      const text = typeof statement === 'string' ? statement : statement.text;
      const vals = (typeof statement === 'string' ? values : statement.values) ?? [];
      const name = sqlStatementName(text);
      const args = vals.map(literal);
      if (name === undefined || args.includes(undefined)) {
        await client.query(begin);
        const result = await client.query<R>(text, vals as unknown[]);
        await client.query('COMMIT');
        return result;
      }
      const id = pg.escapeIdentifier(name);
      let prepared = preparedOn.get(client);
      if (!prepared) preparedOn.set(client, (prepared = new Set()));
      if (!prepared.has(name)) {
        await client.query(`BEGIN; SET LOCAL ROLE ${APP_ROLE}; PREPARE ${id} AS ${text}; COMMIT`);
        prepared.add(name);
      }
      const results = (await client.query(`${begin}; EXECUTE ${id}${args.length > 0 ? `(${args.join(', ')})` : ''}; COMMIT`)) as unknown as Array<pg.QueryResult<R>>;
      return results[results.length - 2]!;
    };
    try {
      const result = await fn(onlyOnce({ query }));
      const lost = held.lost();
      if (lost) throw toPlinthError(lost);
      return result;
    } catch (err) {
      if (sent) {
        // The message stops at the statement that failed; the transaction it opened is left aborted.
        try {
          const lost = held.lost();
          if (lost) throw lost;
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error;
        }
      }
      throw err instanceof PlinthError ? err : isPgError(err) || isConnectionError(err) ? toPlinthError(err) : err;
    } finally {
      held.done(broken);
    }
  }

  async function transaction<T>(target: pg.Pool, begin: string, fn: (tx: Tx) => Promise<T>, readOnly: boolean, oneStatement: boolean): Promise<T> {
    const held = await checkout(target);
    const { client } = held;
    let broken: Error | undefined;
    let handedOver = false;
    try {
      await client.query(begin);
      const result = await fn(oneStatement ? onlyOnce(txOf(client)) : txOf(client));
      const lost = held.lost();
      if (lost) throw toPlinthError(lost);
      if (readOnly) {
        // A read-only transaction's result is complete once its last statement answered, and its
        // COMMIT changes nothing: the caller goes on while it runs, saving a round trip, and the
        // connection returns to the pool once it is done (destroyed if it failed).
        handedOver = true;
        client.query('COMMIT').then(
          () => held.done(),
          (err: unknown) => held.done(err instanceof Error ? err : new Error(String(err))),
        );
        return result;
      }
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        const lost = held.lost();
        if (lost) throw lost;
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error; // connection is unusable: destroy it rather than return it to the pool
      }
      throw err instanceof PlinthError ? err : isPgError(err) || isConnectionError(err) ? toPlinthError(err) : err;
    } finally {
      if (!handedOver) held.done(broken);
    }
  }

  return {
    mode: input.mode,
    location: input.location,

    withTenant(tenantId, fn, options = {}) {
      if (!UUID.test(tenantId)) return Promise.reject(new PlinthError('TENANT_NOT_FOUND'));
      const target = options.readOnly && readPool ? readPool : pool;
      // One round trip: the tenant id is a validated UUID literal, never free text.
      const begin = `BEGIN${options.repeatableRead ? ' ISOLATION LEVEL REPEATABLE READ' : ''}${options.readOnly ? ' READ ONLY' : ''}; SET LOCAL ROLE ${APP_ROLE}; SET LOCAL plinth.tenant_id = '${tenantId.toLowerCase()}'${localSettings(options.settings)}`;
      if (options.oneStatement && options.readOnly && input.prepare === true) return oneRoundTrip(target, begin, fn);
      return transaction(target, begin, fn, options.readOnly === true, options.oneStatement === true);
    },

    withSystem(fn, options = {}) {
      const target = options.readOnly && readPool ? readPool : pool;
      const begin = `${options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN'}${localSettings(options.settings)}`;
      if (options.oneStatement && options.readOnly && input.prepare === true) return oneRoundTrip(target, begin, fn);
      return transaction(target, begin, fn, options.readOnly === true, options.oneStatement === true);
    },

    async withConnection(fn) {
      const held = await checkout(pool);
      let broken: Error | undefined;
      try {
        return await fn(held.client);
      } catch (err) {
        if (isConnectionError(err)) broken = err as Error;
        throw err;
      } finally {
        held.done(broken);
      }
    },

    async ping() {
      const started = performance.now();
      try {
        await pool.query('SELECT 1');
      } catch (err) {
        throw toPlinthError(err);
      }
      return performance.now() - started;
    },

    poolStats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },

    close() {
      closed ??= (async () => {
        try {
          await Promise.all([pool.end(), readPool?.end()]);
        } finally {
          await input.onClose();
        }
      })();
      return closed;
    },
  };
}

/** A Tx that refuses a second statement: the contract of `TxOptions.oneStatement` on every path. */
function onlyOnce(tx: Tx): Tx {
  let used = false;
  return {
    query(statement: string | PreparedStatement, values?: readonly unknown[]) {
      if (used) return Promise.reject(new PlinthError('INTERNAL', 'a second statement in a one-statement transaction'));
      used = true;
      return typeof statement === 'string' ? tx.query(statement, values) : tx.query(statement);
    },
  };
}

/** A checked-out client that survives losing its connection between two queries. */
interface CheckedOut {
  client: pg.PoolClient;
  /** The connection error seen while no query ran, if any. */
  lost(): Error | undefined;
  /** Returns the client to the pool, or destroys it when it is broken or lost. */
  done(err?: Error): void;
}

/**
 * Takes a client from the pool. pg-pool listens for `error` on idle clients only: a checked-out
 * client whose server goes away while no query runs (between two statements of a transaction, or
 * while the caller awaits something else) would emit an unhandled `error` and take the process
 * down. The listener here keeps the error instead; the next query fails with it, and the client is
 * destroyed rather than returned to the pool.
 */
async function checkout(target: pg.Pool): Promise<CheckedOut> {
  let client: pg.PoolClient;
  try {
    client = await target.connect();
  } catch (err) {
    throw toPlinthError(err);
  }
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost ??= err;
  };
  client.on('error', onError);
  return {
    client,
    lost: () => lost,
    done(err?: Error) {
      client.removeListener('error', onError);
      client.release(err ?? lost);
    },
  };
}

function isPgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^[0-9A-Z]{5}$/.test(code) || code.startsWith('E'));
}

function isConnectionError(err: unknown): boolean {
  return toPlinthError(err).is('DATABASE_UNAVAILABLE');
}
