// Data rights: export everything Plinth holds about a subject as JSON Lines, and erase it.
// A subject is any combination of agent_id, user_id and session_id; `all: true` means the whole
// tenant. Held about a subject: memories (with every version), documents (with their chunks),
// LLM usage records made for its user_id, cached completions written for that user, and the
// audit entries about those records; for the whole tenant also its drift inference log and its
// workflows (retraining runs, with the workflow engine's records of their inputs, steps and
// results). Workflow inputs name a tenant, a model and a training action, never an end user,
// agent or session: a narrower subject holds no workflow.
import { z } from 'zod';
import type { Audit } from '../auth/index.js';
import { userCacheTag } from '../cache/index.js';
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import { RETRAIN_WORKFLOW } from '../workflows/dbos.js';
import {
  deleteRuns,
  eraseEngineWorkflows,
  findEngineSchemas,
  listEngineWorkflows,
  listRunsWithRequests,
  tenantWorkflowPrefix,
  type EngineWorkflow,
  type StoredRun,
} from '../workflows/store.js';
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

export const eraseOutput = z.object({
  memories: z.number().int(),
  memory_versions: z.number().int(),
  documents: z.number().int(),
  chunks: z.number().int(),
  usage_records: z.number().int(),
  inference_log_rows: z.number().int(),
  cache_invalidated: z.boolean(),
  // The whole tenant only: workflows hold nothing about a user, agent or session.
  workflows: z.number().int().optional().describe('Workflows removed (retraining runs and their engine records).'),
  retraining_runs: z.number().int().optional(),
  workflow_engine_rows: z.number().int().optional().describe("Rows removed from the workflow engine's tables: status, inputs, results, step outputs."),
});
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
  /**
   * Drops the tenant's cached LLM completions: all of them, or those written with a tag. The
   * gateway tags what it caches for a request that names its user with `userCacheTag(user)`.
   */
  invalidateCache?: (tenantId: string, target: { tag?: string }) => Promise<void>;
  /** Writes the usage records still queued (the gateway batches them), so none arrives after. */
  flushUsage?: () => Promise<void>;
  /**
   * The schema of the workflow engine's tables in this database (WORKFLOWS_SCHEMA). Unset: every
   * schema of the database holding them.
   */
  workflowSchema?: string;
}

export { userCacheTag };

/** A subject that is exactly one end user: a user_id, with no agent or session narrowing it. */
function userOnly(s: Subject): string | undefined {
  return s.user_id !== undefined && s.agent_id === undefined && s.session_id === undefined ? s.user_id : undefined;
}

/**
 * Usage rows (and cached completions) are per end user and carry no agent or session: they
 * belong to a subject that is a user (user_id alone), or to the whole tenant. A narrower subject
 * (a user's agent or session) holds none of them.
 */
function usageWhere(s: Subject): { sql: string; values: string[] } | undefined {
  if (s.all) return { sql: 'true', values: [] };
  const user = userOnly(s);
  return user === undefined ? undefined : { sql: 'u.user_id = $2', values: [user] };
}

/** An engine payload as stored (serialized JSON, possibly wrapped by its serializer), decoded. */
function decodePayload(text: string | null): unknown {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && '__dbos_serializer' in v ? ((v as { json?: unknown }).json ?? null) : v;
  } catch {
    return text;
  }
}

/** One `workflow` export line per workflow: the engine's record and Plinth's run, either may be missing. */
function workflowLines(engine: EngineWorkflow[], runs: StoredRun[]): string[] {
  const runById = new Map(runs.map((r) => [r.workflow_id, r]));
  const engineById = new Map(engine.map((w) => [w.workflow_id, w]));
  const ids = [...new Set([...runs.map((r) => r.workflow_id), ...engine.map((w) => w.workflow_id)])];
  return ids.map((id) => {
    const w = engineById.get(id);
    const run = runById.get(id) ?? null;
    return JSON.stringify({
      type: 'workflow',
      workflow_id: id,
      name: w?.name ?? RETRAIN_WORKFLOW,
      // null: recorded by Plinth, but the engine holds no record of it (never enqueued).
      status: w?.status ?? null,
      queue: w?.queue ?? null,
      created_at: w?.created_at ?? run?.created_at ?? null,
      updated_at: w?.updated_at ?? run?.updated_at ?? null,
      inputs: w ? decodePayload(w.inputs) : run ? [run.request] : null,
      output: w ? decodePayload(w.output) : null,
      error: w ? decodePayload(w.error) : null,
      steps: (w?.steps ?? []).map((st) => ({ id: st.id, name: st.name, output: decodePayload(st.output), error: decodePayload(st.error) })),
      retraining: run,
    });
  });
}

export function createRightsService(deps: RightsDeps) {
  const { db } = deps;

  /** The engine's records of the tenant's workflows, from every engine schema found. */
  async function engineWorkflows(tenantId: string): Promise<EngineWorkflow[]> {
    return db.withSystem(async (tx) => {
      const out: EngineWorkflow[] = [];
      for (const schema of await findEngineSchemas(tx, deps.workflowSchema)) out.push(...(await listEngineWorkflows(tx, schema, tenantWorkflowPrefix(tenantId))));
      return out;
    });
  }

  /**
   * Deletes the engine's records of the tenant's workflows, in one transaction on the engine's
   * tables, or refuses (CONFLICT) while one may still run. `at`: when the deletion began.
   */
  async function eraseEngine(tenantId: string): Promise<{ schemas: number; workflowIds: string[]; rows: number; at: string }> {
    return db.withSystem(async (tx) => {
      const at = (await tx.query<{ at: Date | string }>('SELECT now() AS at')).rows[0]!.at;
      const schemas = await findEngineSchemas(tx, deps.workflowSchema);
      const workflowIds: string[] = [];
      let rows = 0;
      for (const schema of schemas) {
        const r = await eraseEngineWorkflows(tx, schema, tenantWorkflowPrefix(tenantId));
        workflowIds.push(...r.workflowIds);
        rows += r.rows;
      }
      return { schemas: schemas.length, workflowIds, rows, at: at instanceof Date ? at.toISOString() : String(at) };
    });
  }

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
      await deps.flushUsage?.();
      // Read first, in its own transaction: the engine's tables are outside row-level security.
      const engine = subject.all ? await engineWorkflows(tenantId) : [];
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
        const uw = usageWhere(subject);
        const usage = uw
          ? (
              await tx.query<Record<string, unknown>>(
                `SELECT u.id, u.user_id, u.key_prefix, u.endpoint, u.model, u.upstream, u.outcome, u.error_code, u.cache, u.tokens_in,
                        u.tokens_out, u.cost, u.latency_ms, u.ttft_ms, u.created_at
                   FROM llm_usage u WHERE u.tenant_id = $1 AND ${uw.sql} ORDER BY u.created_at, u.id`,
                [tenantId, ...uw.values],
              )
            ).rows
          : [];
        // The audit entries about the subject: those naming one of its memories or documents, and
        // earlier exports and erasures of a subject naming at least the same scope fields (an export for
        // user dana and agent x is about dana). The whole tenant: every entry.
        const ids = [...mem.rows.map((r) => String(r.id)), ...doc.rows.map((r) => String(r.id))];
        const fields = Object.fromEntries((['agent_id', 'user_id', 'session_id'] as const).filter((f) => subject[f] !== undefined).map((f) => [f, subject[f]]));
        const auditRows = (
          await tx.query<Record<string, unknown>>(
            subject.all
              ? `SELECT a.id::text AS id, a.at, a.actor, a.action, a.target, a.details, a.request_id FROM audit_log a WHERE a.tenant_id = $1 ORDER BY a.id`
              : `SELECT a.id::text AS id, a.at, a.actor, a.action, a.target, a.details, a.request_id FROM audit_log a
                  WHERE a.tenant_id = $1
                    AND (a.target = ANY($2::text[])
                         OR (a.action LIKE 'data.%' AND a.target LIKE '{%' AND pg_input_is_valid(a.target, 'jsonb')
                             AND a.target::jsonb @> $3::jsonb))
                  ORDER BY a.id`,
            subject.all ? [tenantId] : [tenantId, ids, JSON.stringify(fields)],
          )
        ).rows;
        const workflows = subject.all ? workflowLines(engine, await listRunsWithRequests(tx)) : [];
        await deps.audit(tx, tenantId, audit, 'data.exported', JSON.stringify(subject), {
          memories: mem.rowCount,
          documents: doc.rowCount,
          usage_records: usage.length,
          audit_entries: auditRows.length,
          ...(subject.all ? { workflows: workflows.length } : {}),
        });
        return [
          ...mem.rows.map((r) => JSON.stringify({ type: 'memory', ...r })),
          ...doc.rows.map((r) => JSON.stringify({ type: 'document', ...r })),
          ...usage.map((r) => JSON.stringify({ type: 'llm_usage', ...r })),
          ...workflows,
          ...auditRows.map((r) => JSON.stringify({ type: 'audit', ...r })),
        ];
      }, { repeatableRead: true });
      return lines;
    },

    /**
     * Remove everything held about the subject in one transaction, audited: memories (and their
     * history), documents (and their chunks), usage records, and for the whole tenant its
     * inference log and its finished workflows. Cached completions are dropped after the commit
     * (the cache is not transactional; a retry of a failed invalidation is a repeat of the
     * erasure, which is idempotent).
     *
     * The whole tenant: the workflow engine's records go first, in their own transaction (its
     * tables are outside row-level security). While one of the tenant's workflows may still run,
     * the erasure is refused (CONFLICT, `running_workflows`) before anything is deleted. Should
     * the second transaction fail, a repeat finds the rest (workflow ids embed the tenant).
     */
    async erase(tenantId: string, subject: Subject, audit: Audit): Promise<EraseResult> {
      await deps.flushUsage?.();
      const engine = subject.all ? await eraseEngine(tenantId) : undefined;
      const erased = await db.withTenant(tenantId, async (tx) => {
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
        const uw = usageWhere(subject);
        const usage = uw ? await tx.query(`DELETE FROM llm_usage u WHERE u.tenant_id = $1 AND ${uw.sql}`, [tenantId, ...uw.values]) : undefined;
        const inferences = subject.all ? await tx.query('DELETE FROM inference_log WHERE tenant_id = $1', [tenantId]) : undefined;
        let workflows: Pick<EraseResult, 'workflows' | 'retraining_runs' | 'workflow_engine_rows'> = {};
        if (engine) {
          if (engine.schemas === 0 && (await tx.query('SELECT 1 FROM retraining_runs WHERE tenant_id = $1 LIMIT 1', [tenantId])).rowCount) {
            throw new PlinthError(
              'WORKFLOWS_UNAVAILABLE',
              "The workflow engine's tables are not in this database (WORKFLOWS_SYSTEM_DATABASE_URL): the records of the tenant's workflows cannot be erased from here.",
            );
          }
          const runs = await deleteRuns(tx, tenantId, engine.workflowIds, engine.at);
          workflows = { workflows: new Set([...runs, ...engine.workflowIds]).size, retraining_runs: runs.length, workflow_engine_rows: engine.rows };
        }
        const user = userOnly(subject);
        const cacheTarget = subject.all ? {} : user !== undefined ? { tag: userCacheTag(user) } : undefined;
        const result: EraseResult = {
          memories: mem.rowCount ?? 0,
          memory_versions: versions.rows[0]?.n ?? 0,
          documents: doc.rowCount ?? 0,
          chunks: chunks.rows[0]?.n ?? 0,
          usage_records: usage?.rowCount ?? 0,
          inference_log_rows: inferences?.rowCount ?? 0,
          cache_invalidated: cacheTarget !== undefined && deps.invalidateCache !== undefined,
          ...workflows,
        };
        await deps.audit(tx, tenantId, audit, 'data.erased', JSON.stringify(subject), result);
        return { result, cacheTarget };
      });
      if (erased.cacheTarget && deps.invalidateCache) await deps.invalidateCache(tenantId, erased.cacheTarget);
      return erased.result;
    },
  };
}

export type RightsService = ReturnType<typeof createRightsService>;
