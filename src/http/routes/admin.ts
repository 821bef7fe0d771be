// Identity, tenants, API keys and the audit log over HTTP. Thin: parse, call the auth service, shape.
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  auditEntryOutput,
  auditQuery,
  createdKeyOutput,
  createKeyInput,
  createTenantInput,
  keyOutput,
  tenantOutput,
  type Principal,
} from '../../auth/index.js';
import { limitsInputSchema, limitsOutputSchema } from '../../gateway/index.js';
import type { Platform } from '../../platform.js';
import { principalOf } from '../plugins/auth.js';

const audit = (p: Principal, requestId: string) => ({ actor: p.actor, requestId });

export const adminRoutes: FastifyPluginCallbackZod<{ platform: Platform }> = (app, { platform }, done) => {
  const { auth } = platform;

  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['auth'],
        summary: 'The tenant, key and scopes of the presented credentials.',
        response: {
          200: z.object({ tenant_id: z.uuid(), tenant: z.string(), key_prefix: z.string(), scopes: z.array(z.string()), root: z.boolean() }),
        },
      },
    },
    (request) => {
      const p = principalOf(request);
      return { tenant_id: p.tenantId, tenant: p.tenantName, key_prefix: p.keyPrefix, scopes: [...p.scopes], root: p.isRootTenant };
    },
  );

  app.post(
    '/v1/tenants',
    {
      config: { scope: 'admin' },
      schema: { tags: ['tenants'], summary: 'Create a tenant (root tenant admins only).', body: createTenantInput, response: { 201: tenantOutput } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      auth.requireRootAdmin(p);
      const tenant = await auth.createTenant(request.body.name, audit(p, request.id));
      await auth.audit(p.tenantId, audit(p, request.id), 'admin.tenant_created', tenant.name, { tenant_id: tenant.id });
      return reply.code(201).send(tenant);
    },
  );

  app.get(
    '/v1/tenants',
    {
      config: { scope: 'admin' },
      schema: { tags: ['tenants'], summary: 'List tenants (root tenant admins only).', response: { 200: z.object({ tenants: z.array(tenantOutput) }) } },
    },
    async (request) => {
      auth.requireRootAdmin(principalOf(request));
      return { tenants: await auth.listTenants() };
    },
  );

  app.get(
    '/v1/admin/tenants/:id/limits',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['tenants'],
        summary: "A tenant's LLM gateway limits and budgets (root tenant admins only).",
        params: z.object({ id: z.string().min(1).max(200) }),
        response: { 200: limitsOutputSchema },
      },
    },
    async (request) => {
      auth.requireRootAdmin(principalOf(request));
      const tenant = await auth.getTenant(request.params.id);
      return platform.gateway.limits.get(tenant.id);
    },
  );

  app.put(
    '/v1/admin/tenants/:id/limits',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['tenants'],
        summary: "Replace a tenant's LLM gateway limit overrides (root tenant admins only); left out or null = the configured default, 0 = unlimited.",
        params: z.object({ id: z.string().min(1).max(200) }),
        body: limitsInputSchema,
        response: { 200: limitsOutputSchema },
      },
    },
    async (request) => {
      const p = principalOf(request);
      auth.requireRootAdmin(p);
      const tenant = await auth.getTenant(request.params.id);
      return platform.gateway.limits.set(tenant.id, request.body, audit(p, request.id));
    },
  );

  app.post(
    '/v1/keys',
    {
      config: { scope: 'admin' },
      schema: { tags: ['keys'], summary: 'Create an API key in the caller\'s tenant. The key is returned once.', body: createKeyInput, response: { 201: createdKeyOutput } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const created = await auth.createKey(p.tenantId, request.body, audit(p, request.id));
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/v1/keys',
    {
      config: { scope: 'admin' },
      schema: { tags: ['keys'], summary: 'List the API keys of the caller\'s tenant (never the secrets).', response: { 200: z.object({ keys: z.array(keyOutput) }) } },
    },
    async (request) => ({ keys: await auth.listKeys(principalOf(request).tenantId) }),
  );

  app.delete(
    '/v1/keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key by id or prefix. Idempotent.',
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: keyOutput },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return auth.revokeKey(p.tenantId, request.params.id, audit(p, request.id));
    },
  );

  app.get(
    '/v1/audit',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['audit'],
        summary: 'The caller\'s tenant audit log, oldest first; page with `after`.',
        querystring: auditQuery,
        response: { 200: z.object({ entries: z.array(auditEntryOutput), next_after: z.string().nullable() }) },
      },
    },
    async (request) => {
      const entries = await auth.listAudit(principalOf(request).tenantId, request.query);
      const last = entries.at(-1);
      return { entries, next_after: entries.length === request.query.limit && last ? last.id : null };
    },
  );
  done();
};
