// The built-in registry adapter: registered models, versions, aliases and tags in Plinth's own
// PostgreSQL (or embedded PGlite), used when no MLflow server is configured. Every call is one
// tenant transaction, so row-level security keeps tenants apart and each write is atomic.
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import {
  IDEMPOTENCY_TAG,
  type CreateModelInput,
  type CreateVersionInput,
  type ModelVersion,
  type Page,
  type RegisteredModel,
  type RegistryPort,
  type SearchModelsInput,
  type SearchVersionsInput,
  type TenantRef,
  type VersionStatus,
} from './port.js';

interface ModelRow {
  id: string;
  name: string;
  description: string;
  created_at: Date;
  updated_at: Date;
  tags: Record<string, string>;
  aliases: Record<string, number>;
}

interface VersionRow {
  name: string;
  version: number;
  source: string;
  run_id: string | null;
  status: VersionStatus;
  description: string;
  created_at: Date;
  tags: Record<string, string>;
  aliases: string[];
}

const MODEL_SELECT = `SELECT m.id, m.name, m.description, m.created_at, m.updated_at,
  coalesce((SELECT jsonb_object_agg(t.key, t.value) FROM registered_model_tags t WHERE t.model_id = m.id), '{}'::jsonb) AS tags,
  coalesce((SELECT jsonb_object_agg(a.alias, a.version) FROM model_aliases a WHERE a.model_id = m.id), '{}'::jsonb) AS aliases
FROM registered_models m`;

const VERSION_SELECT = `SELECT m.name, v.version, v.source, v.run_id, v.status, v.description, v.created_at,
  coalesce((SELECT jsonb_object_agg(t.key, t.value) FROM model_version_tags t WHERE t.model_id = v.model_id AND t.version = v.version), '{}'::jsonb) AS tags,
  coalesce((SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.model_id = v.model_id AND a.version = v.version), '{}') AS aliases
FROM model_versions v JOIN registered_models m ON m.id = v.model_id`;

function toModel(r: ModelRow): RegisteredModel {
  return { name: r.name, description: r.description, tags: r.tags, aliases: r.aliases, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() };
}

function toVersion(r: VersionRow): ModelVersion {
  return {
    name: r.name,
    version: r.version,
    source: r.source,
    runId: r.run_id,
    status: r.status,
    description: r.description,
    tags: r.tags,
    aliases: r.aliases,
    createdAt: r.created_at.toISOString(),
  };
}

function modelNotFound(name: string): PlinthError {
  return new PlinthError('REGISTERED_MODEL_NOT_FOUND', `No registered model "${name}".`, { model: name });
}

function versionNotFound(name: string, version: number): PlinthError {
  return new PlinthError('MODEL_VERSION_NOT_FOUND', `Model "${name}" has no version ${version}.`, { model: name, version });
}

/** Page tokens are opaque to clients: base64url JSON holding the keyset position. */
function encodeToken(value: string | number): string {
  return Buffer.from(JSON.stringify({ after: value })).toString('base64url');
}

function decodeToken<T extends 'string' | 'number'>(token: string | undefined, type: T): (T extends 'string' ? string : number) | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === type) return parsed.after as T extends 'string' ? string : number;
  } catch {
    // fall through to the error below
  }
  throw new PlinthError('VALIDATION_FAILED', 'page_token is not a token this server issued.');
}

export function createBuiltinRegistry(db: Database): RegistryPort {
  async function modelId(tx: Tx, t: TenantRef, name: string, lock = false): Promise<string> {
    const r = await tx.query<{ id: string }>(`SELECT id FROM registered_models WHERE tenant_id = $1 AND name = $2${lock ? ' FOR UPDATE' : ''}`, [t.id, name]);
    const id = r.rows[0]?.id;
    if (!id) throw modelNotFound(name);
    return id;
  }

  async function loadModel(tx: Tx, t: TenantRef, name: string): Promise<RegisteredModel> {
    const r = await tx.query<ModelRow>(`${MODEL_SELECT} WHERE m.tenant_id = $1 AND m.name = $2`, [t.id, name]);
    const row = r.rows[0];
    if (!row) throw modelNotFound(name);
    return toModel(row);
  }

  async function loadVersion(tx: Tx, id: string, name: string, version: number): Promise<ModelVersion> {
    const r = await tx.query<VersionRow>(`${VERSION_SELECT} WHERE v.model_id = $1 AND v.version = $2`, [id, version]);
    const row = r.rows[0];
    if (!row) throw versionNotFound(name, version);
    return toVersion(row);
  }

  async function touch(tx: Tx, id: string): Promise<void> {
    await tx.query('UPDATE registered_models SET updated_at = now() WHERE id = $1', [id]);
  }

  return {
    kind: 'builtin',
    location: `built-in (${db.location})`,

    createModel(t: TenantRef, input: CreateModelInput) {
      return db.withTenant(t.id, async (tx) => {
        const ins = await tx.query<{ id: string }>(
          `INSERT INTO registered_models (tenant_id, name, description) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id`,
          [t.id, input.name, input.description ?? ''],
        );
        const id = ins.rows[0]?.id;
        if (id) {
          for (const [key, value] of Object.entries(input.tags ?? {})) {
            await tx.query('INSERT INTO registered_model_tags (model_id, tenant_id, key, value) VALUES ($1, $2, $3, $4)', [id, t.id, key, value]);
          }
        }
        return { model: await loadModel(tx, t, input.name), created: id !== undefined };
      });
    },

    getModel(t, name) {
      return db.withTenant(t.id, (tx) => loadModel(tx, t, name), { readOnly: true });
    },

    async searchModels(t: TenantRef, input: SearchModelsInput): Promise<Page<RegisteredModel>> {
      const after = decodeToken(input.pageToken, 'string');
      return db.withTenant(
        t.id,
        async (tx) => {
          const r = await tx.query<ModelRow>(
            `${MODEL_SELECT}
             WHERE m.tenant_id = $1 AND ($2::text IS NULL OR m.name > $2) AND ($3::text IS NULL OR strpos(lower(m.name), lower($3)) > 0)
             ORDER BY m.name LIMIT $4`,
            [t.id, after ?? null, input.query ?? null, input.maxResults + 1],
          );
          const rows = r.rows.slice(0, input.maxResults);
          const last = rows.at(-1);
          return { items: rows.map(toModel), nextPageToken: r.rows.length > input.maxResults && last ? encodeToken(last.name) : null };
        },
        { readOnly: true },
      );
    },

    updateModel(t, name, input) {
      return db.withTenant(t.id, async (tx) => {
        const r = await tx.query('UPDATE registered_models SET description = $3, updated_at = now() WHERE tenant_id = $1 AND name = $2', [t.id, name, input.description]);
        if (r.rowCount === 0) throw modelNotFound(name);
        return loadModel(tx, t, name);
      });
    },

    deleteModel(t, name) {
      return db.withTenant(t.id, async (tx) => {
        const r = await tx.query('DELETE FROM registered_models WHERE tenant_id = $1 AND name = $2', [t.id, name]);
        if (r.rowCount === 0) throw modelNotFound(name);
      });
    },

    setModelTag(t, name, key, value) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        await tx.query(
          `INSERT INTO registered_model_tags (model_id, tenant_id, key, value) VALUES ($1, $2, $3, $4)
           ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`,
          [id, t.id, key, value],
        );
        await touch(tx, id);
      });
    },

    deleteModelTag(t, name, key) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        await tx.query('DELETE FROM registered_model_tags WHERE model_id = $1 AND key = $2', [id, key]);
        await touch(tx, id);
      });
    },

    createVersion(t: TenantRef, name: string, input: CreateVersionInput) {
      return db.withTenant(t.id, async (tx) => {
        // The row lock serialises creates of one model: the idempotency check below cannot race.
        const id = await modelId(tx, t, name, true);
        if (input.idempotencyKey !== undefined) {
          const found = await tx.query<{ version: number }>('SELECT version FROM model_version_tags WHERE model_id = $1 AND key = $2 AND value = $3', [
            id,
            IDEMPOTENCY_TAG,
            input.idempotencyKey,
          ]);
          const existing = found.rows[0]?.version;
          if (existing !== undefined) return { version: await loadVersion(tx, id, name, existing), created: false };
        }
        const bumped = await tx.query<{ latest_version: number }>(
          'UPDATE registered_models SET latest_version = latest_version + 1, updated_at = now() WHERE id = $1 RETURNING latest_version',
          [id],
        );
        const version = bumped.rows[0]!.latest_version;
        await tx.query('INSERT INTO model_versions (model_id, tenant_id, version, source, run_id, description) VALUES ($1, $2, $3, $4, $5, $6)', [
          id,
          t.id,
          version,
          input.source,
          input.runId ?? null,
          input.description ?? '',
        ]);
        const tags = { ...input.tags, ...(input.idempotencyKey !== undefined ? { [IDEMPOTENCY_TAG]: input.idempotencyKey } : {}) };
        for (const [key, value] of Object.entries(tags)) {
          await tx.query('INSERT INTO model_version_tags (model_id, tenant_id, version, key, value) VALUES ($1, $2, $3, $4, $5)', [id, t.id, version, key, value]);
        }
        return { version: await loadVersion(tx, id, name, version), created: true };
      });
    },

    getVersion(t, name, version) {
      return db.withTenant(t.id, async (tx) => loadVersion(tx, await modelId(tx, t, name), name, version), { readOnly: true });
    },

    async searchVersions(t: TenantRef, name: string, input: SearchVersionsInput): Promise<Page<ModelVersion>> {
      const before = decodeToken(input.pageToken, 'number');
      return db.withTenant(
        t.id,
        async (tx) => {
          const id = await modelId(tx, t, name);
          const r = await tx.query<VersionRow>(`${VERSION_SELECT} WHERE v.model_id = $1 AND ($2::int IS NULL OR v.version < $2) ORDER BY v.version DESC LIMIT $3`, [
            id,
            before ?? null,
            input.maxResults + 1,
          ]);
          const rows = r.rows.slice(0, input.maxResults);
          const last = rows.at(-1);
          return { items: rows.map(toVersion), nextPageToken: r.rows.length > input.maxResults && last ? encodeToken(last.version) : null };
        },
        { readOnly: true },
      );
    },

    updateVersion(t, name, version, input) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        const r = await tx.query('UPDATE model_versions SET description = $3, updated_at = now() WHERE model_id = $1 AND version = $2', [id, version, input.description]);
        if (r.rowCount === 0) throw versionNotFound(name, version);
        return loadVersion(tx, id, name, version);
      });
    },

    deleteVersion(t, name, version) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        const r = await tx.query('DELETE FROM model_versions WHERE model_id = $1 AND version = $2', [id, version]);
        if (r.rowCount === 0) throw versionNotFound(name, version);
        await touch(tx, id);
      });
    },

    setVersionTag(t, name, version, key, value) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        await loadVersion(tx, id, name, version);
        await tx.query(
          `INSERT INTO model_version_tags (model_id, tenant_id, version, key, value) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value`,
          [id, t.id, version, key, value],
        );
      });
    },

    deleteVersionTag(t, name, version, key) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        await loadVersion(tx, id, name, version);
        await tx.query('DELETE FROM model_version_tags WHERE model_id = $1 AND version = $2 AND key = $3', [id, version, key]);
      });
    },

    setAlias(t, name, alias, version) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        const exists = await tx.query('SELECT 1 FROM model_versions WHERE model_id = $1 AND version = $2', [id, version]);
        if (exists.rowCount === 0) throw versionNotFound(name, version);
        await tx.query(
          `INSERT INTO model_aliases (model_id, tenant_id, alias, version) VALUES ($1, $2, $3, $4)
           ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version, updated_at = now()`,
          [id, t.id, alias, version],
        );
      });
    },

    deleteAlias(t, name, alias) {
      return db.withTenant(t.id, async (tx) => {
        const id = await modelId(tx, t, name);
        await tx.query('DELETE FROM model_aliases WHERE model_id = $1 AND alias = $2', [id, alias]);
      });
    },

    getVersionByAlias(t, name, alias) {
      return db.withTenant(
        t.id,
        async (tx) => {
          const id = await modelId(tx, t, name);
          const r = await tx.query<{ version: number }>('SELECT version FROM model_aliases WHERE model_id = $1 AND alias = $2', [id, alias]);
          const version = r.rows[0]?.version;
          if (version === undefined) throw new PlinthError('MODEL_ALIAS_NOT_FOUND', `Model "${name}" has no alias "${alias}".`, { model: name, alias });
          return loadVersion(tx, id, name, version);
        },
        { readOnly: true },
      );
    },

    getDownloadUri(t, name, version) {
      // Without a tracking server there is nothing to resolve runs:/ or models:/ against: the
      // source recorded at registration is where the artifacts are.
      return db.withTenant(t.id, async (tx) => (await loadVersion(tx, await modelId(tx, t, name), name, version)).source, { readOnly: true });
    },

    close() {
      return Promise.resolve();
    },
  };
}
