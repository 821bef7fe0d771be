// Tenants, API keys, authentication and the audit log.
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { generateKey, keyMatches, parseKey } from './keys.js';
import type { AuditEntry, AuditQuery, CreatedKey, CreateKeyInput, KeyRecord, Tenant } from './schema.js';
import { createAuthFailureLimiter, type AuthFailureLimitOptions } from './failures.js';
import { SCOPES, hasScope, type Scope } from './scopes.js';
import * as store from './store.js';

/** Who is calling: resolved from an API key (or, later, a bearer token). */
export interface Principal {
  tenantId: string;
  tenantName: string;
  /** Admins of the root tenant may manage other tenants. */
  isRootTenant: boolean;
  keyId: string;
  keyPrefix: string;
  scopes: readonly string[];
  /** How this caller appears in the audit log. */
  actor: string;
}

export interface AuthServiceDeps {
  db: Database;
  logger?: Logger;
  /** How long a verified key is trusted without asking the database again (ms). 0 disables. */
  cacheTtlMs?: number;
  now?: () => number;
  /** Brute-force protection per source (defaults in failures.ts). */
  failureLimit?: AuthFailureLimitOptions;
}

/** Where an authentication attempt comes from: the client address, for brute-force limits and the audit log. */
export interface AuthAttempt {
  source?: string;
  requestId?: string;
}

export type AuthFailureReason = 'missing' | 'malformed' | 'unknown' | 'mismatch' | 'revoked' | 'expired';

export class AuthenticationError extends PlinthError {
  constructor(
    readonly reason: AuthFailureReason,
    detail: string,
  ) {
    super('UNAUTHENTICATED', detail);
  }
}

export interface Audit {
  actor: string;
  requestId?: string | null;
}

const LAST_USED_RESOLUTION_MS = 60_000;

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService(deps: AuthServiceDeps) {
  const { db, logger } = deps;
  const now = deps.now ?? Date.now;
  const cacheTtlMs = deps.cacheTtlMs ?? 5_000;
  const cache = new Map<string, { row: store.KeyLookupRow; until: number }>();
  const failures = createAuthFailureLimiter(deps.failureLimit, now);

  /**
   * Count a failed attempt against its source and audit it: in the key's tenant when the key
   * prefix names a real key (a guessed or stolen prefix), and in the root tenant when the source
   * gets blocked. Audit writes are bounded by the limiter and never fail the request.
   */
  async function recordFailure(err: AuthenticationError, attempt: AuthAttempt, key: store.KeyLookupRow | undefined): Promise<void> {
    if (err.reason === 'missing') return;
    const outcome = failures.fail(attempt.source);
    const audit = { actor: `source:${attempt.source ?? 'unknown'}`, requestId: attempt.requestId ?? null };
    try {
      if (key) {
        await db.withTenant(key.tenant_id, (tx) =>
          recordAudit(tx, key.tenant_id, audit, 'auth.failed', key.prefix, { reason: err.reason, source: attempt.source ?? null }),
        );
      }
      if (outcome.blockedNow) {
        logger?.warn({ source: attempt.source, failures: outcome.failures, block_s: outcome.blockSeconds }, 'authentication failures over the limit: source blocked');
        await db.withSystem(async (tx) => {
          const root = await tx.query<{ id: string }>('SELECT id FROM tenants WHERE is_root ORDER BY created_at LIMIT 1');
          const rootId = root.rows[0]?.id;
          if (rootId) {
            await recordAudit(tx, rootId, audit, 'auth.source_blocked', attempt.source, {
              failures: outcome.failures,
              window_s: Math.ceil(failures.options.windowMs / 1000),
              block_s: outcome.blockSeconds,
              last_reason: err.reason,
            });
          }
        });
      }
    } catch (auditErr) {
      logger?.warn({ err: { message: (auditErr as Error).message } }, 'could not audit a failed authentication');
    }
  }

  function requireScope(principal: Principal, scope: Scope): void {
    if (!hasScope(principal.scopes, scope)) {
      throw new PlinthError('FORBIDDEN', `This operation needs the "${scope}" scope.`, { required_scope: scope });
    }
  }

  function requireRootAdmin(principal: Principal): void {
    requireScope(principal, 'admin');
    if (!principal.isRootTenant) throw new PlinthError('FORBIDDEN', 'Only admins of the root tenant can manage tenants.');
  }

  async function recordAudit(tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) {
    await store.insertAudit(tx, { tenantId, actor: audit.actor, action, target: target ?? null, details, requestId: audit.requestId ?? null });
  }

  async function createKeyIn(tx: Tx, tenantId: string, input: CreateKeyInput, audit: Audit): Promise<CreatedKey> {
    const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= now()) throw new PlinthError('VALIDATION_FAILED', 'expires_at must be in the future.');
    const generated = generateKey();
    const scopes = [...new Set(input.scopes)].sort();
    const record = await store.insertKey(tx, {
      tenantId,
      name: input.name,
      prefix: generated.prefix,
      hash: generated.hash,
      scopes,
      expiresAt: expiresAt?.toISOString() ?? null,
    });
    await recordAudit(tx, tenantId, audit, 'key.created', record.prefix, { name: record.name, scopes, expires_at: record.expires_at });
    return { ...record, key: generated.key };
  }

  /** Check a presented key; `seen` gets the stored key when the prefix names one (for the audit log). */
  async function verify(presented: string, seen: (row: store.KeyLookupRow) => void): Promise<Principal> {
    const parsed = parseKey(presented);
    if (!parsed) throw new AuthenticationError('malformed', 'The API key is malformed.');
    const t = now();
    let row = cache.get(parsed.prefix);
    if (!row || row.until <= t) {
      const found = await db.withSystem((tx) => store.lookupKey(tx, parsed.prefix), { readOnly: true });
      if (!found) {
        cache.delete(parsed.prefix);
        throw new AuthenticationError('unknown', 'The API key is not valid.');
      }
      row = { row: found, until: t + cacheTtlMs };
      if (cacheTtlMs > 0) cache.set(parsed.prefix, row);
    }
    const k = row.row;
    seen(k);
    if (!keyMatches(presented, k.hash)) throw new AuthenticationError('mismatch', 'The API key is not valid.');
    if (k.revoked_at) throw new AuthenticationError('revoked', 'The API key has been revoked.');
    if (k.expires_at && k.expires_at.getTime() <= t) throw new AuthenticationError('expired', 'The API key has expired.');
    if (!k.last_used_at || t - k.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
      k.last_used_at = new Date(t);
      // Best effort, off the request path: a failed touch must not fail the request.
      db.withSystem((tx) => store.touchKey(tx, k.id)).catch((err: unknown) =>
        logger?.warn({ err: { message: (err as Error).message } }, 'could not record key use'),
      );
    }
    return {
      tenantId: k.tenant_id,
      tenantName: k.tenant_name,
      isRootTenant: k.is_root,
      keyId: k.id,
      keyPrefix: k.prefix,
      scopes: k.scopes,
      actor: `key:${k.prefix}`,
    };
  }

  return {
    requireScope,
    requireRootAdmin,

    /** Resolve a presented API key to a principal, or throw AuthenticationError. */
    async authenticate(presented: string | undefined, attempt: AuthAttempt = {}): Promise<Principal> {
      if (!presented) throw new AuthenticationError('missing', 'Send an API key as "Authorization: Bearer <key>".');
      failures.check(attempt.source);
      let key: store.KeyLookupRow | undefined;
      try {
        return await verify(presented, (row) => {
          key = row;
        });
      } catch (err) {
        if (err instanceof AuthenticationError) await recordFailure(err, attempt, key);
        throw err;
      }
    },

    /** Brute-force limits per source (reset by tests and operators). */
    failures,

    /** Forget cached verifications (after a revocation on this replica). */
    invalidate(prefix?: string): void {
      if (prefix) cache.delete(prefix);
      else cache.clear();
    },

    async createTenant(name: string, audit: Audit, options: { isRoot?: boolean } = {}): Promise<Tenant> {
      return db.withSystem(async (tx) => {
        const tenant = await store.insertTenant(tx, name, options.isRoot ?? false);
        if (!tenant) throw new PlinthError('TENANT_EXISTS', `A tenant named "${name}" already exists.`);
        await recordAudit(tx, tenant.id, audit, 'tenant.created', tenant.name);
        return tenant;
      });
    },

    async listTenants(): Promise<Tenant[]> {
      return db.withSystem((tx) => store.listTenants(tx), { readOnly: true });
    },

    async getTenant(idOrName: string): Promise<Tenant> {
      const tenant = await db.withSystem((tx) => store.findTenant(tx, idOrName), { readOnly: true });
      if (!tenant) throw new PlinthError('TENANT_NOT_FOUND', `No tenant "${idOrName}".`);
      return tenant;
    },

    async createKey(tenantId: string, input: CreateKeyInput, audit: Audit): Promise<CreatedKey> {
      return db.withTenant(tenantId, (tx) => createKeyIn(tx, tenantId, input, audit));
    },

    async listKeys(tenantId: string): Promise<KeyRecord[]> {
      return db.withTenant(tenantId, (tx) => store.listKeys(tx, tenantId), { readOnly: true });
    },

    async revokeKey(tenantId: string, idOrPrefix: string, audit: Audit): Promise<KeyRecord> {
      const key = await db.withTenant(tenantId, async (tx) => {
        const revoked = await store.revokeKey(tx, tenantId, idOrPrefix);
        if (!revoked) throw new PlinthError('KEY_NOT_FOUND', `No key "${idOrPrefix}" in this tenant.`);
        if (revoked.changed) await recordAudit(tx, tenantId, audit, 'key.revoked', revoked.key.prefix);
        return revoked.key;
      });
      cache.delete(key.prefix);
      return key;
    },

    async listAudit(tenantId: string, query: AuditQuery): Promise<AuditEntry[]> {
      return db.withTenant(tenantId, (tx) => store.listAudit(tx, tenantId, query.after ?? 0, query.limit), { readOnly: true });
    },

    /** Append to the audit log in its own transaction (for actions outside a write transaction). */
    async audit(tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>): Promise<void> {
      await db.withTenant(tenantId, (tx) => recordAudit(tx, tenantId, audit, action, target, details));
    },

    recordAudit,

    /**
     * First start on an empty database: create the root `default` tenant and an admin key, and
     * write the key to `<dataDir>/admin.key` (mode 0600). Replicas racing here are serialised by
     * a transaction-scoped advisory lock; only one creates anything.
     */
    async bootstrap(dataDir: string): Promise<{ created: false } | { created: true; keyFile: string; tenant: Tenant }> {
      return db.withSystem(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [0x626f6f74]); // "boot"
        if ((await store.countTenants(tx)) > 0) return { created: false as const };
        const tenant = await store.insertTenant(tx, 'default', true);
        if (!tenant) return { created: false as const };
        const audit = { actor: 'system:bootstrap' };
        await recordAudit(tx, tenant.id, audit, 'tenant.created', tenant.name);
        const key = await createKeyIn(tx, tenant.id, { name: 'bootstrap admin', scopes: ['admin'] }, audit);
        // Write the file before the transaction commits: if writing fails, nothing was created.
        const keyFile = writeSecretFile(path.join(dataDir, 'admin.key'), `${key.key}\n`);
        return { created: true as const, keyFile, tenant };
      });
    },
  };
}

/** Atomically write a file readable only by its owner. */
export function writeSecretFile(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

export { SCOPES };
