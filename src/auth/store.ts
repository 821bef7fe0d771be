// SQL for tenants, API keys and the audit log. Every function takes the transaction it runs in;
// the caller decides whether that is a tenant-scoped (RLS) or a system transaction.
import type { Tx } from '../db/index.js';
import type { AuditEntry, KeyRecord, Tenant } from './schema.js';

interface TenantRow {
  id: string;
  name: string;
  is_root: boolean;
  created_at: Date;
}

interface KeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const KEY_COLUMNS = 'id, tenant_id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function toTenant(r: TenantRow): Tenant {
  return { id: r.id, name: r.name, is_root: r.is_root, created_at: r.created_at.toISOString() };
}

function toKey(r: KeyRow): KeyRecord {
  return {
    id: r.id,
    tenant_id: r.tenant_id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes,
    created_at: r.created_at.toISOString(),
    expires_at: iso(r.expires_at),
    revoked_at: iso(r.revoked_at),
    last_used_at: iso(r.last_used_at),
  };
}

export async function insertTenant(tx: Tx, name: string, isRoot: boolean): Promise<Tenant | undefined> {
  const res = await tx.query<TenantRow>(
    `INSERT INTO tenants (name, is_root) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id, name, is_root, created_at`,
    [name, isRoot],
  );
  return res.rows[0] ? toTenant(res.rows[0]) : undefined;
}

export async function listTenants(tx: Tx): Promise<Tenant[]> {
  const res = await tx.query<TenantRow>('SELECT id, name, is_root, created_at FROM tenants ORDER BY created_at, name');
  return res.rows.map(toTenant);
}

export async function findTenant(tx: Tx, idOrName: string): Promise<Tenant | undefined> {
  const res = await tx.query<TenantRow>(
    `SELECT id, name, is_root, created_at FROM tenants WHERE name = $1 OR id::text = $1 LIMIT 1`,
    [idOrName],
  );
  return res.rows[0] ? toTenant(res.rows[0]) : undefined;
}

export async function countTenants(tx: Tx): Promise<number> {
  const res = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
  return res.rows[0]?.n ?? 0;
}

export interface NewKey {
  tenantId: string;
  name: string;
  prefix: string;
  hash: Buffer;
  scopes: readonly string[];
  expiresAt: string | null;
}

export async function insertKey(tx: Tx, k: NewKey): Promise<KeyRecord> {
  const res = await tx.query<KeyRow>(
    `INSERT INTO api_keys (tenant_id, name, prefix, hash, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${KEY_COLUMNS}`,
    [k.tenantId, k.name, k.prefix, k.hash, k.scopes, k.expiresAt],
  );
  return toKey(res.rows[0]!);
}

export async function listKeys(tx: Tx, tenantId: string): Promise<KeyRecord[]> {
  const res = await tx.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return res.rows.map(toKey);
}

/** Revoke by id or prefix. `changed` is false when the key was already revoked (returned unchanged). */
export async function revokeKey(tx: Tx, tenantId: string, idOrPrefix: string): Promise<{ key: KeyRecord; changed: boolean } | undefined> {
  const res = await tx.query<KeyRow & { changed: boolean }>(
    `WITH target AS (
       SELECT id, revoked_at IS NULL AS changed FROM api_keys
        WHERE tenant_id = $1 AND (prefix = $2 OR id::text = $2) FOR UPDATE
     )
     UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now())
       FROM target WHERE k.id = target.id
     RETURNING ${KEY_COLUMNS.split(', ').map((c) => `k.${c}`).join(', ')}, target.changed`,
    [tenantId, idOrPrefix],
  );
  const row = res.rows[0];
  return row ? { key: toKey(row), changed: row.changed } : undefined;
}

export interface KeyLookupRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  is_root: boolean;
  prefix: string;
  hash: Buffer;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** Platform-level lookup (the tenant is not known yet): run on a system connection. */
export async function lookupKey(tx: Tx, prefix: string): Promise<KeyLookupRow | undefined> {
  const res = await tx.query<KeyLookupRow>(
    `SELECT k.id, k.tenant_id, t.name AS tenant_name, t.is_root, k.prefix, k.hash, k.scopes,
            k.expires_at, k.revoked_at, k.last_used_at
       FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
      WHERE k.prefix = $1`,
    [prefix],
  );
  return res.rows[0];
}

export async function touchKey(tx: Tx, id: string): Promise<void> {
  await tx.query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [id]);
}

export interface NewAuditEntry {
  tenantId: string;
  actor: string;
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
  requestId?: string | null;
}

export async function insertAudit(tx: Tx, e: NewAuditEntry): Promise<void> {
  await tx.query(
    `INSERT INTO audit_log (tenant_id, actor, action, target, details, request_id) VALUES ($1, $2, $3, $4, $5, $6)`,
    [e.tenantId, e.actor, e.action, e.target ?? null, JSON.stringify(e.details ?? {}), e.requestId ?? null],
  );
}

export async function listAudit(tx: Tx, tenantId: string, after: number, limit: number): Promise<AuditEntry[]> {
  const res = await tx.query<{
    id: string;
    at: Date;
    actor: string;
    action: string;
    target: string | null;
    details: Record<string, unknown>;
    request_id: string | null;
  }>(
    `SELECT id::text, at, actor, action, target, details, request_id FROM audit_log
      WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    [tenantId, after, limit],
  );
  return res.rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}
