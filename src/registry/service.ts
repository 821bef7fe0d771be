// Model registry use cases, shared by every door (HTTP, MCP, CLI) and by workflows: list and get
// models and versions, create versions (idempotently), promote a version to an alias (audited,
// recording the previous holder), tags. Works the same over either adapter of the RegistryPort.
import { z } from 'zod';
import type { Audit } from '../auth/index.js';
import type { Secret } from '../config/index.js';
import type { Database, Tx } from '../db/index.js';
import { PlinthError, isPlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { ModelVersion, RegisteredModel, RegistryPort, TenantRef } from './port.js';
import {
  DEFAULT_ALIAS,
  aliasName,
  createModelInput,
  createVersionInput,
  listModelsInput,
  listVersionsInput,
  modelName,
  tagKey,
  versionNumber,
} from './schema.js';
import { DELIVERY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyMlflowSignature, webhookEnvelope } from './webhooks.js';

export type RecordAudit = (tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) => Promise<void>;

export interface RegistryServiceDeps {
  port: RegistryPort;
  db: Database;
  audit: RecordAudit;
  logger?: Logger;
  /** How long an alias resolution is served from memory (0 = always ask the registry). */
  aliasCacheTtlMs?: number;
  webhook?: { secret?: Secret | undefined; maxAgeSeconds: number };
  now?: () => number;
}

export type VersionRef = { alias: string; version?: undefined } | { version: number; alias?: undefined };

export interface PromoteResult {
  name: string;
  alias: string;
  version: number;
  previousVersion: number | null;
  /** false when the alias already pointed at the version (nothing was written). */
  changed: boolean;
}

export interface WebhookResult {
  /** false when the event names no Plinth tenant's model, or repeats a delivery already recorded. */
  recorded: boolean;
  tenant: string | null;
  model: string | null;
}

export interface RegistryEvent {
  deliveryId: string;
  entity: string;
  action: string;
  model: string;
  version: number | null;
  alias: string | null;
  sentAt: string;
  receivedAt: string;
}

const SYSTEM_AUDIT: Audit = { actor: 'system' };

/** Parse programmatic input with the doors' schema; failures are VALIDATION_FAILED, not a ZodError. */
function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const where = first && first.path.length > 0 ? `${what}.${first.path.join('.')}` : what;
  throw new PlinthError('VALIDATION_FAILED', `${where}: ${first?.message ?? 'invalid'}`);
}

export type RegistryService = ReturnType<typeof createRegistryService>;

export function createRegistryService(deps: RegistryServiceDeps) {
  const { port, db, logger } = deps;
  const now = deps.now ?? Date.now;
  const cacheTtl = deps.aliasCacheTtlMs ?? 0;
  const tenants = new Map<string, TenantRef>();
  const aliasCache = new Map<string, { version: ModelVersion; until: number }>();

  /** Tenant names are immutable, so a resolved one is kept for the life of the process. */
  async function tenant(tenantId: string): Promise<TenantRef> {
    const known = tenants.get(tenantId);
    if (known) return known;
    const row = await db.withTenant(tenantId, async (tx) => (await tx.query<{ id: string; name: string }>('SELECT id, name FROM tenants WHERE id = $1', [tenantId])).rows[0], {
      readOnly: true,
    });
    if (!row) throw new PlinthError('TENANT_NOT_FOUND');
    const ref = { id: row.id, name: row.name };
    tenants.set(tenantId, ref);
    return ref;
  }

  const cacheKey = (tenantId: string, name: string, alias: string) => `${tenantId}\u0000${name}\u0000${alias}`;
  function invalidate(tenantId: string, name: string): void {
    const p = `${tenantId}\u0000${name}\u0000`;
    for (const k of aliasCache.keys()) if (k.startsWith(p)) aliasCache.delete(k);
  }

  async function record(tenantId: string, audit: Audit, action: string, target: string, details?: Record<string, unknown>): Promise<void> {
    await db.withTenant(tenantId, (tx) => deps.audit(tx, tenantId, audit, action, target, details));
  }

  async function audited(tenantId: string, action: string, target: string): Promise<boolean> {
    return db.withTenant(tenantId, async (tx) => ((await tx.query('SELECT 1 FROM audit_log WHERE action = $1 AND target = $2 LIMIT 1', [action, target])).rowCount ?? 0) > 0, { readOnly: true });
  }

  /**
   * Moving an alias and auditing the move are two writes (the registry may be MLflow), so a crash
   * between them — a killed worker inside a retraining workflow's promote step — would leave the
   * move unaudited, and the retried promote finds the alias already in place. Every move leaves an
   * entry, so an alias holding a version its latest entry does not name was moved without one:
   * record it now, marked as recovered, with the previous holder the last entry knew.
   */
  async function auditUnrecordedMove(tenantId: string, audit: Audit, name: string, alias: string, version: number): Promise<void> {
    const last = await db.withTenant(
      tenantId,
      async (tx) =>
        (
          await tx.query<{ action: string; version: string | null }>(
            `SELECT action, details->>'version' AS version FROM audit_log
              WHERE action IN ('model.promoted', 'model.alias_deleted') AND target = $1 AND details->>'alias' = $2
              ORDER BY id DESC LIMIT 1`,
            [name, alias],
          )
        ).rows[0],
      { readOnly: true },
    );
    if (last?.action === 'model.promoted' && Number(last.version) === version) return;
    const previous = last?.action === 'model.promoted' && last.version !== null ? Number(last.version) : null;
    await record(tenantId, audit, 'model.promoted', name, { alias, version, previous_version: previous, recovered: true });
    logger?.warn({ model: name, alias, version }, 'alias move found without its audit entry; recorded now');
  }

  async function resolveAlias(t: TenantRef, name: string, alias: string, fresh: boolean): Promise<ModelVersion> {
    const key = cacheKey(t.id, name, alias);
    if (!fresh && cacheTtl > 0) {
      const hit = aliasCache.get(key);
      if (hit && hit.until > now()) return hit.version;
    }
    const v = await port.getVersionByAlias(t, name, alias);
    if (cacheTtl > 0) aliasCache.set(key, { version: v, until: now() + cacheTtl });
    return v;
  }

  const service = {
    port,

    async listModels(tenantId: string, input: z.input<typeof listModelsInput> = {}): Promise<{ models: RegisteredModel[]; nextPageToken: string | null }> {
      const q = parse(listModelsInput, input, 'query');
      const page = await port.searchModels(await tenant(tenantId), { query: q.query, maxResults: q.limit, pageToken: q.page_token });
      return { models: page.items, nextPageToken: page.nextPageToken };
    },

    async getModel(tenantId: string, name: string): Promise<RegisteredModel> {
      return port.getModel(await tenant(tenantId), parse(modelName, name, 'name'));
    },

    /** Idempotent: an existing model is returned as it is, with created: false. */
    async createModel(tenantId: string, input: z.input<typeof createModelInput>, audit: Audit = SYSTEM_AUDIT): Promise<{ model: RegisteredModel; created: boolean }> {
      const m = parse(createModelInput, input, 'model');
      const r = await port.createModel(await tenant(tenantId), m);
      if (r.created) await record(tenantId, audit, 'model.created', m.name);
      return r;
    },

    async updateModel(tenantId: string, name: string, input: { description: string }, audit: Audit = SYSTEM_AUDIT): Promise<RegisteredModel> {
      const n = parse(modelName, name, 'name');
      const model = await port.updateModel(await tenant(tenantId), n, { description: parse(z.string().max(65_536), input.description, 'description') });
      await record(tenantId, audit, 'model.updated', n);
      return model;
    },

    async deleteModel(tenantId: string, name: string, audit: Audit = SYSTEM_AUDIT): Promise<void> {
      const n = parse(modelName, name, 'name');
      await port.deleteModel(await tenant(tenantId), n);
      invalidate(tenantId, n);
      await record(tenantId, audit, 'model.deleted', n);
    },

    async setModelTag(tenantId: string, name: string, key: string, value: string, audit: Audit = SYSTEM_AUDIT): Promise<RegisteredModel> {
      const n = parse(modelName, name, 'name');
      const t = await tenant(tenantId);
      await port.setModelTag(t, n, parse(tagKey, key, 'key'), parse(z.string().max(5000), value, 'value'));
      await record(tenantId, audit, 'model.tag_set', n, { key });
      return port.getModel(t, n);
    },

    async deleteModelTag(tenantId: string, name: string, key: string, audit: Audit = SYSTEM_AUDIT): Promise<RegisteredModel> {
      const n = parse(modelName, name, 'name');
      const t = await tenant(tenantId);
      await port.deleteModelTag(t, n, parse(tagKey, key, 'key'));
      await record(tenantId, audit, 'model.tag_deleted', n, { key });
      return port.getModel(t, n);
    },

    async listVersions(tenantId: string, name: string, input: z.input<typeof listVersionsInput> = {}): Promise<{ versions: ModelVersion[]; nextPageToken: string | null }> {
      const q = parse(listVersionsInput, input, 'query');
      const page = await port.searchVersions(await tenant(tenantId), parse(modelName, name, 'name'), { maxResults: q.limit, pageToken: q.page_token });
      return { versions: page.items, nextPageToken: page.nextPageToken };
    },

    /** A version by number, or the one an alias points at (e.g. { alias: 'champion' }). */
    async getVersion(tenantId: string, name: string, ref: VersionRef): Promise<ModelVersion> {
      const n = parse(modelName, name, 'name');
      const t = await tenant(tenantId);
      if (ref.alias !== undefined) return resolveAlias(t, n, parse(aliasName, ref.alias, 'alias'), false);
      if (ref.version !== undefined) return port.getVersion(t, n, parse(versionNumber, ref.version, 'version'));
      throw new PlinthError('VALIDATION_FAILED', 'Give a version number or an alias.');
    },

    /**
     * Registers a new version, creating the registered model first when it does not exist.
     * With idempotency_key, a repeated call returns the version the first one created
     * (created: false) instead of allocating another number.
     */
    async createVersion(tenantId: string, input: z.input<typeof createVersionInput>, audit: Audit = SYSTEM_AUDIT): Promise<ModelVersion & { created: boolean }> {
      const v = parse(createVersionInput, input, 'version');
      const t = await tenant(tenantId);
      const model = await port.createModel(t, { name: v.name });
      if (model.created) await record(tenantId, audit, 'model.created', v.name);
      const r = await port.createVersion(t, v.name, {
        source: v.source,
        runId: v.run_id,
        description: v.description,
        tags: v.tags,
        idempotencyKey: v.idempotency_key,
      });
      const target = `${v.name}/${r.version.version}`;
      const details = { source: v.source, run_id: v.run_id ?? null };
      if (r.created) await record(tenantId, audit, 'model.version_created', target, details);
      // A repeated idempotency key may be the retry of a create that committed and then crashed
      // before its audit entry: that version was created here, so it must have one.
      else if (v.idempotency_key !== undefined && !(await audited(tenantId, 'model.version_created', target))) {
        await record(tenantId, audit, 'model.version_created', target, { ...details, recovered: true });
      }
      return { ...r.version, created: r.created };
    },

    async updateVersion(tenantId: string, name: string, version: number, input: { description: string }, audit: Audit = SYSTEM_AUDIT): Promise<ModelVersion> {
      const n = parse(modelName, name, 'name');
      const num = parse(versionNumber, version, 'version');
      const v = await port.updateVersion(await tenant(tenantId), n, num, { description: parse(z.string().max(65_536), input.description, 'description') });
      await record(tenantId, audit, 'model.version_updated', `${n}/${num}`);
      return v;
    },

    async deleteVersion(tenantId: string, name: string, version: number, audit: Audit = SYSTEM_AUDIT): Promise<void> {
      const n = parse(modelName, name, 'name');
      const num = parse(versionNumber, version, 'version');
      await port.deleteVersion(await tenant(tenantId), n, num);
      invalidate(tenantId, n);
      await record(tenantId, audit, 'model.version_deleted', `${n}/${num}`);
    },

    async setVersionTag(tenantId: string, name: string, version: number, key: string, value: string, audit: Audit = SYSTEM_AUDIT): Promise<ModelVersion> {
      const n = parse(modelName, name, 'name');
      const num = parse(versionNumber, version, 'version');
      const t = await tenant(tenantId);
      await port.setVersionTag(t, n, num, parse(tagKey, key, 'key'), parse(z.string().max(5000), value, 'value'));
      invalidate(tenantId, n);
      await record(tenantId, audit, 'model.version_tag_set', `${n}/${num}`, { key });
      return port.getVersion(t, n, num);
    },

    async deleteVersionTag(tenantId: string, name: string, version: number, key: string, audit: Audit = SYSTEM_AUDIT): Promise<ModelVersion> {
      const n = parse(modelName, name, 'name');
      const num = parse(versionNumber, version, 'version');
      const t = await tenant(tenantId);
      await port.deleteVersionTag(t, n, num, parse(tagKey, key, 'key'));
      invalidate(tenantId, n);
      await record(tenantId, audit, 'model.version_tag_deleted', `${n}/${num}`, { key });
      return port.getVersion(t, n, num);
    },

    /**
     * Points an alias (default "champion") at a version. Idempotent: when the alias already holds
     * the version nothing is written or audited. Otherwise the audit entry records the previous
     * holder, so a promotion can be reverted by promoting that version again.
     */
    async promote(tenantId: string, name: string, version: number, options: { alias?: string } = {}, audit: Audit = SYSTEM_AUDIT): Promise<PromoteResult> {
      const n = parse(modelName, name, 'name');
      const num = parse(versionNumber, version, 'version');
      const alias = parse(aliasName, options.alias ?? DEFAULT_ALIAS, 'alias');
      const t = await tenant(tenantId);
      let previous: number | null = null;
      try {
        previous = (await resolveAlias(t, n, alias, true)).version;
      } catch (err) {
        if (!isPlinthError(err, 'MODEL_ALIAS_NOT_FOUND')) throw err;
      }
      if (previous === num) {
        await auditUnrecordedMove(tenantId, audit, n, alias, num);
        return { name: n, alias, version: num, previousVersion: previous, changed: false };
      }
      await port.setAlias(t, n, alias, num);
      invalidate(tenantId, n);
      await record(tenantId, audit, 'model.promoted', n, { alias, version: num, previous_version: previous });
      logger?.info({ model: n, alias, version: num, previous_version: previous }, 'model promoted');
      return { name: n, alias, version: num, previousVersion: previous, changed: true };
    },

    /** Removes an alias; removing one that does not exist is a no-op. */
    async deleteAlias(tenantId: string, name: string, alias: string, audit: Audit = SYSTEM_AUDIT): Promise<void> {
      const n = parse(modelName, name, 'name');
      const a = parse(aliasName, alias, 'alias');
      const t = await tenant(tenantId);
      let previous: number | null = null;
      try {
        previous = (await port.getVersionByAlias(t, n, a)).version;
      } catch (err) {
        if (!isPlinthError(err, 'MODEL_ALIAS_NOT_FOUND')) throw err;
      }
      await port.deleteAlias(t, n, a);
      invalidate(tenantId, n);
      if (previous !== null) await record(tenantId, audit, 'model.alias_deleted', n, { alias: a, previous_version: previous });
    },

    async getDownloadUri(tenantId: string, name: string, version: number): Promise<string> {
      return port.getDownloadUri(await tenant(tenantId), parse(modelName, name, 'name'), parse(versionNumber, version, 'version'));
    },

    /** Webhook deliveries recorded for a tenant, newest first. */
    async listEvents(tenantId: string, limit = 100): Promise<RegistryEvent[]> {
      return db.withTenant(
        tenantId,
        async (tx) => {
          const r = await tx.query<{
            delivery_id: string;
            entity: string;
            action: string;
            model_name: string;
            version: number | null;
            alias: string | null;
            sent_at: Date;
            received_at: Date;
          }>('SELECT delivery_id, entity, action, model_name, version, alias, sent_at, received_at FROM registry_events ORDER BY id DESC LIMIT $1', [limit]);
          return r.rows.map((e) => ({
            deliveryId: e.delivery_id,
            entity: e.entity,
            action: e.action,
            model: e.model_name,
            version: e.version,
            alias: e.alias,
            sentAt: e.sent_at.toISOString(),
            receivedAt: e.received_at.toISOString(),
          }));
        },
        { readOnly: true },
      );
    },

    /**
     * An MLflow webhook delivery: verify its signature and freshness, attribute it to the tenant
     * whose namespace the model name is in, record it once (by delivery id) and drop cached alias
     * resolutions of that model, so the next read asks MLflow instead of waiting for the TTL.
     */
    async handleWebhook(body: string, headers: Record<string, string | string[] | undefined>): Promise<WebhookResult> {
      const secret = deps.webhook?.secret;
      if (!secret) throw new PlinthError('WEBHOOK_NOT_CONFIGURED');
      const header = (name: string) => {
        const v = headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const deliveryId = header(DELIVERY_ID_HEADER);
      const timestamp = header(TIMESTAMP_HEADER);
      verifyMlflowSignature({
        secret: secret.reveal(),
        deliveryId,
        timestamp,
        signature: header(SIGNATURE_HEADER),
        payload: body,
        maxAgeSeconds: deps.webhook?.maxAgeSeconds ?? 300,
        nowMs: now(),
      });
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new PlinthError('BAD_REQUEST', 'The webhook body is not valid JSON.');
      }
      const event = parse(webhookEnvelope, json, 'body');
      const dot = event.data.name.indexOf('.');
      const tenantName = dot > 0 ? event.data.name.slice(0, dot) : '';
      const model = dot > 0 ? event.data.name.slice(dot + 1) : '';
      const found = /^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenantName)
        ? (await db.withSystem(async (tx) => (await tx.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [tenantName])).rows[0], { readOnly: true }))
        : undefined;
      if (!found || !modelName.safeParse(model).success) {
        logger?.info({ entity: event.entity, action: event.action }, 'mlflow webhook for a model outside every tenant namespace; ignored');
        return { recorded: false, tenant: null, model: null };
      }
      invalidate(found.id, model);
      const version = event.data.version !== undefined && /^\d+$/.test(String(event.data.version)) ? Number(event.data.version) : null;
      const inserted = await db.withTenant(found.id, (tx) =>
        tx.query(
          `INSERT INTO registry_events (tenant_id, delivery_id, entity, action, model_name, version, alias, payload, sent_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9))
           ON CONFLICT (delivery_id) DO NOTHING`,
          [found.id, deliveryId, event.entity, event.action, model, version, event.data.alias ?? null, json, Number(timestamp)],
        ),
      );
      return { recorded: inserted.rowCount === 1, tenant: tenantName, model };
    },

    close(): Promise<void> {
      return port.close();
    },
  };
  return service;
}
