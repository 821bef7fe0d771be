// Database spans without patching `pg`: the Database port is wrapped so every transaction is a span
// and every query in it a child span (`SELECT`, `INSERT`, … named by the statement's verb). The SQL
// text is recorded with its string literals masked; values travel as bind parameters and are never
// recorded. Only applied when tracing is on, so the untraced path is the plain port.
import { SpanKind, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { QueryResultRow } from 'pg';
import type { Database, PreparedStatement, Tx, TxOptions } from '../db/index.js';
import { recordError } from './tracing.js';

const MAX_STATEMENT_CHARS = 2048;

/** SQL as it may appear in a span: literals masked (`SET LOCAL plinth.tenant_id = '…'` too), whitespace collapsed, bounded. */
export function sanitizeStatement(sql: string): string {
  const masked = sql.replace(/'(?:[^']|'')*'/g, '?').replace(/\s+/g, ' ').trim();
  return masked.length > MAX_STATEMENT_CHARS ? `${masked.slice(0, MAX_STATEMENT_CHARS)}…` : masked;
}

/** The statement's leading verb (SELECT, INSERT, WITH, …), a bounded span name. */
export function operationOf(sql: string): string {
  const m = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(sql);
  return m?.[1] ? m[1].toUpperCase() : 'QUERY';
}

export function traceDatabase(db: Database, tracer: Tracer): Database {
  const base: Attributes = { 'db.system.name': 'postgresql', 'db.system': 'postgresql', 'plinth.db.mode': db.mode };

  async function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
    return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes: { ...base, ...attributes } }, async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        recordError(span, err);
        throw err;
      } finally {
        span.end();
      }
    });
  }

  const tracedTx = (tx: Tx): Tx => ({
    query<R extends QueryResultRow>(statement: string | PreparedStatement, values?: readonly unknown[]) {
      const text = typeof statement === 'string' ? statement : statement.text;
      const operation = operationOf(text);
      return inSpan(operation, { 'db.operation.name': operation, 'db.query.text': sanitizeStatement(text) }, async (span) => {
        const result = typeof statement === 'string' ? await tx.query<R>(statement, values) : await tx.query<R>(statement);
        if (typeof result.rowCount === 'number') span.setAttribute('db.response.returned_rows', result.rowCount);
        return result;
      });
    },
  });

  const txAttributes = (kind: 'tenant' | 'system', options: TxOptions | undefined): Attributes => ({
    'plinth.db.transaction': kind,
    'plinth.db.read_only': options?.readOnly === true,
  });

  return {
    get mode() {
      return db.mode;
    },
    get location() {
      return db.location;
    },
    withTenant(tenantId, fn, options) {
      return inSpan('transaction', txAttributes('tenant', options), () => db.withTenant(tenantId, (tx) => fn(tracedTx(tx)), options));
    },
    withSystem(fn, options) {
      return inSpan('transaction', txAttributes('system', options), () => db.withSystem((tx) => fn(tracedTx(tx)), options));
    },
    withConnection(fn) {
      return inSpan('connection', {}, () => db.withConnection(fn));
    },
    ping() {
      return inSpan('SELECT', { 'db.operation.name': 'SELECT', 'db.query.text': 'SELECT 1' }, () => db.ping());
    },
    poolStats: () => db.poolStats(),
    close: () => db.close(),
  };
}
