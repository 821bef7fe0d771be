// Input and output shapes for tenants, keys and the audit log, shared by HTTP, MCP and CLI.
import { z } from 'zod';
import { scopeSchema } from './scopes.js';

export const tenantNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "-" and "_", 1 to 63 characters, starting with a letter or digit');

export const createTenantInput = z.object({ name: tenantNameSchema }).strict();
export type CreateTenantInput = z.infer<typeof createTenantInput>;

export const tenantOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  is_root: z.boolean(),
  created_at: z.string(),
});
export type Tenant = z.infer<typeof tenantOutput>;

export const createKeyInput = z
  .object({
    name: z.string().min(1).max(200),
    scopes: z.array(scopeSchema).min(1).max(16),
    expires_at: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time after which the key stops working.'),
  })
  .strict();
export type CreateKeyInput = z.infer<typeof createKeyInput>;

export const keyOutput = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
});
export type KeyRecord = z.infer<typeof keyOutput>;

export const createdKeyOutput = keyOutput.extend({
  key: z.string().describe('The secret key. Shown once; store it now.'),
});
export type CreatedKey = z.infer<typeof createdKeyOutput>;

export const auditEntryOutput = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  request_id: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntryOutput>;

export const auditQuery = z
  .object({
    after: z.coerce.number().int().min(0).optional().describe('Return entries with an id greater than this cursor.'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type AuditQuery = z.infer<typeof auditQuery>;
