// The DBOS connection pool for the embedded database. PGlite is one session shared by every
// socket connection: the socket server runs one protocol message at a time and keeps a
// connection's transaction exclusive, but outside a transaction another connection's message can
// land between this one's Parse and Bind and drop its unnamed prepared statement. DBOS runs most
// of its queries outside transactions, so on this pool parameters are inlined as quoted literals
// (escaped exactly as pg escapes them) and every query is one simple-protocol message.
import { createRequire } from 'node:module';
import pg from 'pg';

// pg's own value encoder: the text it would send as a parameter, now quoted into the SQL.
const { prepareValue, escapeLiteral } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown; escapeLiteral: (s: string) => string };

function literal(value: unknown): string {
  const prepared = prepareValue(value);
  if (prepared === null || prepared === undefined) return 'NULL';
  if (Buffer.isBuffer(prepared)) return `'\\x${prepared.toString('hex')}'::bytea`;
  // prepareValue returns strings for everything but null and buffers.
  return escapeLiteral(typeof prepared === 'string' ? prepared : JSON.stringify(prepared));
}

/** Replaces $1..$n outside quoted strings, identifiers, dollar quotes and comments. */
export function inlineParams(sql: string, values: readonly unknown[]): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '$') {
      const num = /^\$(\d+)/.exec(sql.slice(i));
      if (num && !/[\w$]/.test(sql[i - 1] ?? ' ')) {
        const n = Number(num[1]);
        if (n < 1 || n > values.length) throw new Error(`query parameter $${n} has no value`);
        out += literal(values[n - 1]);
        i += num[0].length;
        continue;
      }
      const tag = /^\$([A-Za-z_]\w*)?\$/.exec(sql.slice(i));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        const stop = end === -1 ? sql.length : end + tag[0].length;
        out += sql.slice(i, stop);
        i = stop;
      } else {
        out += c;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

type QueryArgs = [unknown, unknown?, unknown?];

class InlineParamsClient extends pg.Client {
  // pg's query() has many overloads; this one signature forwards all of them.
  override query(...args: never[]): never {
    const [config, values, callback] = args as unknown as QueryArgs;
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
      return (super.query as (...a: unknown[]) => never)(inlineParams(config, values), callback);
    }
    if (config && typeof config === 'object' && 'text' in config) {
      const c = config as { text: string; values?: unknown[]; name?: string };
      const vals = Array.isArray(values) ? values : c.values;
      if (Array.isArray(vals) && vals.length > 0 && !c.name) {
        const { values: _ignored, ...rest } = c;
        return (super.query as (...a: unknown[]) => never)({ ...rest, text: inlineParams(c.text, vals) }, Array.isArray(values) ? callback : values);
      }
    }
    return (super.query as (...a: unknown[]) => never)(...(args as unknown[]));
  }
}

export function embeddedPool(connectionString: string, max: number): pg.Pool {
  return new pg.Pool({ connectionString, max, Client: InlineParamsClient, application_name: 'plinth-workflows', idleTimeoutMillis: 30_000 });
}
