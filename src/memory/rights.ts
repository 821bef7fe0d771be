// Data rights for agent memory: export everything held about a scope as JSON Lines, and erase it.
// A scope is any combination of agent_id, user_id and session_id; `all: true` means the whole tenant.
import { z } from 'zod';
import type { Audit } from '../auth/index.js';
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import { scopeFields } from './schema.js';

export const subjectInput = z
  .object({ ...scopeFields, all: z.boolean().optional().describe('The whole tenant (required when no scope field is given).') })
  .strict()
  .refine((s) => s.all === true || s.agent_id !== undefined || s.user_id !== undefined || s.session_id !== undefined, {
    message: 'name a scope (agent_id, user_id, session_id) or set all: true',
  })
  .refine((s) => !(s.all === true && (s.agent_id !== undefined || s.user_id !== undefined || s.session_id !== undefined)), {
    message: 'all: true cannot be combined with scope fields',
  });
export type Subject = z.infer<typeof subjectInput>;

export const eraseOutput = z.object({ memories: z.number().int(), memory_versions: z.number().int(), documents: z.number().int(), chunks: z.number().int() });
export type EraseResult = z.infer<typeof eraseOutput>;

function scopeWhere(alias: string, s: Subject, first: number): { sql: string; values: string[] } {
  const parts: string[] = [];
  const values: string[] = [];
  for (const field of ['agent_id', 'user_id', 'session_id'] as const) {
    const v = s[field];
    if (v !== undefined) {
      values.push(v);
      parts.push(`${alias}.${field} = $${first + values.length - 1}`);
    }
  }
  return { sql: parts.length ? parts.join(' AND ') : 'true', values };
}

export interface RightsDeps {
  db: Database;
  audit: (tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) => Promise<void>;
}

export function createRightsService(deps: RightsDeps) {
  const { db } = deps;
  return {
    /**
     * Every memory (with all its versions) and every document (with its chunks, without vectors)
     * in the subject's scope, one JSON object per line, read from one snapshot (REPEATABLE READ) in
     * the transaction that also records the export in the audit log.
     */
    async export(tenantId: string, subject: Subject, audit: Audit): Promise<string[]> {
      if (!subject.all && subject.agent_id === undefined && subject.user_id === undefined && subject.session_id === undefined) {
        throw new PlinthError('VALIDATION_FAILED', 'name a scope or set all: true');
      }
      const lines = await db.withTenant(tenantId, async (tx) => {
        const w = scopeWhere('m', subject, 2);
        const mem = await tx.query<Record<string, unknown>>(
          `SELECT m.id, m.agent_id, m.user_id, m.session_id, m.text, m.metadata, m.tags, m.source, m.version, m.created_at, m.updated_at,
                  m.valid_from, m.valid_to, m.expires_at,
                  coalesce((SELECT jsonb_agg(to_jsonb(v) - 'tenant_id' - 'memory_id' ORDER BY v.version) FROM memory_versions v WHERE v.memory_id = m.id), '[]') AS versions
             FROM memories m WHERE m.tenant_id = $1 AND ${w.sql} ORDER BY m.created_at, m.id`,
          [tenantId, ...w.values],
        );
        const dw = scopeWhere('d', subject, 2);
        const doc = await tx.query<Record<string, unknown>>(
          `SELECT d.id, d.key, d.name, d.title, d.media_type, d.agent_id, d.user_id, d.session_id, d.source, d.metadata, d.tags,
                  d.size_bytes, d.version, d.created_at, d.updated_at,
                  coalesce((SELECT jsonb_agg(jsonb_build_object('position', c.position, 'text', c.text, 'heading_path', c.heading_path,
                            'kind', c.kind, 'page', c.page) ORDER BY c.position) FROM document_chunks c WHERE c.document_id = d.id), '[]') AS chunks
             FROM documents d WHERE d.tenant_id = $1 AND ${dw.sql} ORDER BY d.created_at, d.id`,
          [tenantId, ...dw.values],
        );
        await deps.audit(tx, tenantId, audit, 'data.exported', JSON.stringify(subject), { memories: mem.rowCount, documents: doc.rowCount });
        return [...mem.rows.map((r) => JSON.stringify({ type: 'memory', ...r })), ...doc.rows.map((r) => JSON.stringify({ type: 'document', ...r }))];
      }, { repeatableRead: true });
      return lines;
    },

    /** Remove every memory (and its history) and document (and its chunks) in the scope, in one transaction, audited. */
    async erase(tenantId: string, subject: Subject, audit: Audit): Promise<EraseResult> {
      return db.withTenant(tenantId, async (tx) => {
        const w = scopeWhere('m', subject, 2);
        const versions = await tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM memory_versions v JOIN memories m ON m.id = v.memory_id WHERE m.tenant_id = $1 AND ${w.sql}`,
          [tenantId, ...w.values],
        );
        const mem = await tx.query(`DELETE FROM memories m WHERE m.tenant_id = $1 AND ${w.sql}`, [tenantId, ...w.values]);
        const dw = scopeWhere('d', subject, 2);
        const chunks = await tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM document_chunks c JOIN documents d ON d.id = c.document_id WHERE d.tenant_id = $1 AND ${dw.sql}`,
          [tenantId, ...dw.values],
        );
        const doc = await tx.query(`DELETE FROM documents d WHERE d.tenant_id = $1 AND ${dw.sql}`, [tenantId, ...dw.values]);
        const result = {
          memories: mem.rowCount ?? 0,
          memory_versions: versions.rows[0]?.n ?? 0,
          documents: doc.rowCount ?? 0,
          chunks: chunks.rows[0]?.n ?? 0,
        };
        await deps.audit(tx, tenantId, audit, 'data.erased', JSON.stringify(subject), result);
        return result;
      });
    },
  };
}

export type RightsService = ReturnType<typeof createRightsService>;
