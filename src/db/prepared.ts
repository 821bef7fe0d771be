// Named prepared statements for the hot read paths (memory and document search). An unnamed
// statement is parsed, analysed and planned on every call — about 1 ms for a hybrid search, a
// quarter of its cost in the database; a named one is parsed once per connection, and after five
// executions PostgreSQL may keep a generic plan (plan_cache_mode auto) when it costs no more than
// the custom ones. Plans follow schema changes by themselves (PostgreSQL invalidates them).
//
// Each pooled connection keeps its statements until it closes, so names are handed out to a
// bounded number of distinct statement texts; texts beyond the bound run unnamed. Only statements
// that name their columns belong here (a `SELECT *` plan breaks when a migration adds a column).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Row, Tx } from './database.js';

/** Distinct statement texts that get a name (and so at most this many statements per connection). */
export const MAX_PREPARED = 200;

const names = new Map<string, string>();

/** The statement name for `text`, or undefined once MAX_PREPARED texts have names. */
export function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_PREPARED) {
    name = `plinth_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
    names.set(text, name);
  }
  return name;
}

/** Runs `text` as a named prepared statement on `tx` (unnamed past the bound). */
export function queryPrepared<R extends pg.QueryResultRow = Row>(tx: Tx, text: string, values: readonly unknown[]): Promise<pg.QueryResult<R>> {
  const name = statementName(text);
  return name === undefined ? tx.query<R>(text, values) : tx.query<R>({ name, text, values });
}

/**
 * The name under which `text` is prepared with SQL PREPARE (one-round-trip transactions), quoted
 * by the caller; apart from the protocol-level names node-postgres keeps track of.
 */
export function sqlStatementName(text: string): string | undefined {
  const name = statementName(text);
  return name === undefined ? undefined : `${name}_x`;
}
