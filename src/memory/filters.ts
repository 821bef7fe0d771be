// Compiles validated search/list filters into a parameterised SQL predicate. Keys and values
// always travel as bind parameters; only fixed column names and operators are written into SQL.
import type { Filters } from './schema.js';

export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** True when `filters` holds a predicate beyond scope and validity (tags, metadata, source, dates). */
export function hasExtraFilters(filters: Filters | undefined): boolean {
  if (!filters) return false;
  return Boolean(
    filters.tags_all?.length ||
      filters.tags_any?.length ||
      filters.source !== undefined ||
      filters.created_after ||
      filters.created_before ||
      (filters.contains && Object.keys(filters.contains).length > 0) ||
      (filters.metadata && Object.keys(filters.metadata).length > 0),
  );
}

const OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const ISO = /^\d{4}-\d{2}-\d{2}T/;

export interface ScopeFilter {
  agent_id?: string | undefined;
  user_id?: string | undefined;
  session_id?: string | undefined;
}

/**
 * Predicates over a table aliased as `alias` with scope, metadata, tags, source and created_at
 * columns. `temporal` adds expiry and validity predicates (memories have them, documents do not).
 */
export function compileFilters(
  alias: string,
  p: SqlParams,
  scope: ScopeFilter,
  filters: Filters | undefined,
  asOf: string | undefined,
  options: { temporal?: boolean } = {},
): string[] {
  const m = alias;
  const temporal = options.temporal ?? true;
  const where: string[] = temporal ? [`(${m}.expires_at IS NULL OR ${m}.expires_at > now())`] : ['true'];
  if (scope.agent_id !== undefined) where.push(`${m}.agent_id = ${p.add(scope.agent_id)}`);
  if (scope.user_id !== undefined) where.push(`${m}.user_id = ${p.add(scope.user_id)}`);
  if (scope.session_id !== undefined) where.push(`${m}.session_id = ${p.add(scope.session_id)}`);
  if (!temporal) {
    // no validity interval to apply
  } else if (asOf !== undefined) {
    const t = p.add(asOf);
    where.push(`${m}.valid_from <= ${t}::timestamptz AND (${m}.valid_to IS NULL OR ${m}.valid_to > ${t}::timestamptz)`);
  } else {
    where.push(`(${m}.valid_to IS NULL OR ${m}.valid_to > now())`);
  }
  if (!filters) return where;

  if (filters.tags_all?.length) where.push(`${m}.tags @> ${p.add(filters.tags_all)}::text[]`);
  if (filters.tags_any?.length) where.push(`${m}.tags && ${p.add(filters.tags_any)}::text[]`);
  if (filters.source !== undefined) where.push(`${m}.source = ${p.add(filters.source)}`);
  if (filters.created_after) where.push(`${m}.created_at >= ${p.add(filters.created_after)}::timestamptz`);
  if (filters.created_before) where.push(`${m}.created_at < ${p.add(filters.created_before)}::timestamptz`);
  if (filters.contains) where.push(`${m}.metadata @> ${p.add(JSON.stringify(filters.contains))}::jsonb`);

  for (const [key, cond] of Object.entries(filters.metadata ?? {})) {
    const k = p.add(key);
    const field = `${m}.metadata -> ${k}`;
    if (typeof cond !== 'object' || cond === null) {
      where.push(`${field} = ${p.add(JSON.stringify(cond))}::jsonb`);
      continue;
    }
    if (cond.eq !== undefined) where.push(`${field} = ${p.add(JSON.stringify(cond.eq))}::jsonb`);
    if (cond.ne !== undefined) where.push(`${field} IS DISTINCT FROM ${p.add(JSON.stringify(cond.ne))}::jsonb`);
    if (cond.in !== undefined) where.push(`${field} = ANY (${p.add(cond.in.map((v) => JSON.stringify(v)))}::jsonb[])`);
    for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
      const v = cond[op];
      if (v === undefined) continue;
      if (typeof v === 'number') {
        // Only numbers compare numerically; other JSON types never match a range.
        where.push(`(CASE WHEN jsonb_typeof(${field}) = 'number' THEN (${m}.metadata ->> ${k})::numeric END) ${OPS[op]} ${p.add(v)}::numeric`);
      } else if (ISO.test(v)) {
        // Timestamps stored as RFC 3339 strings compare as text after normalising to UTC.
        where.push(
          `(CASE WHEN jsonb_typeof(${field}) = 'string' AND (${m}.metadata ->> ${k}) ~ '^\\d{4}-\\d{2}-\\d{2}T' THEN plinth_try_timestamptz(${m}.metadata ->> ${k}) END) ${OPS[op]} ${p.add(v)}::timestamptz`,
        );
      }
    }
  }
  return where;
}
