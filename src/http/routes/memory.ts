// Agent memory over HTTP. Thin: validate with the shared schemas, call the memory service, shape.
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../auth/index.js';
import {
  addMemoriesInput,
  addResultOutput,
  listInput,
  memoryOutput,
  searchInput,
  searchResultOutput,
  updateMemoryInput,
  versionOutput,
} from '../../memory/schema.js';
import { eraseOutput, subjectInput, type RightsService } from '../../memory/rights.js';
import type { MemoryService } from '../../memory/service.js';
import { principalOf } from '../plugins/auth.js';

const idParams = z.object({ id: z.uuid() });
const audit = (p: Principal, requestId: string) => ({ actor: p.actor, requestId });

export const memoryRoutes: FastifyPluginCallbackZod<{ memory: MemoryService; rights: RightsService; requireAdmin: (p: Principal) => void }> = (
  app,
  { memory, rights, requireAdmin },
  done,
) => {
  app.post(
    '/v1/memories',
    {
      config: { scope: 'memory:write' },
      schema: {
        tags: ['memory'],
        summary: 'Store one or more memories atomically. The same content in the same scope (or a repeated idempotency_key) returns the existing memory.',
        body: addMemoriesInput,
        response: { 201: addResultOutput },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const memories = await memory.add(p.tenantId, request.body, audit(p, request.id));
      return reply.code(201).send({ memories });
    },
  );

  app.get(
    '/v1/memories',
    {
      config: { scope: 'memory:read' },
      schema: {
        tags: ['memory'],
        summary: 'List memories, newest first, with scope filters and cursor pagination.',
        querystring: listInput,
        response: { 200: z.object({ memories: z.array(memoryOutput), next_cursor: z.string().nullable() }) },
      },
    },
    (request) => memory.list(principalOf(request).tenantId, request.query),
  );

  app.get(
    '/v1/memories/:id',
    { config: { scope: 'memory:read' }, schema: { tags: ['memory'], summary: 'Get a memory.', params: idParams, response: { 200: memoryOutput } } },
    (request) => memory.get(principalOf(request).tenantId, request.params.id),
  );

  app.patch(
    '/v1/memories/:id',
    {
      config: { scope: 'memory:write' },
      schema: {
        tags: ['memory'],
        summary: 'Update a memory: writes a new version and closes the previous one.',
        params: idParams,
        body: updateMemoryInput,
        response: { 200: memoryOutput },
      },
    },
    (request) => {
      const p = principalOf(request);
      return memory.update(p.tenantId, request.params.id, request.body, audit(p, request.id));
    },
  );

  app.delete(
    '/v1/memories/:id',
    { config: { scope: 'memory:write' }, schema: { tags: ['memory'], summary: 'Delete a memory and its history.', params: idParams, response: { 204: z.null() } } },
    async (request, reply) => {
      const p = principalOf(request);
      await memory.delete(p.tenantId, request.params.id, audit(p, request.id));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/memories/:id/history',
    {
      config: { scope: 'memory:read' },
      schema: { tags: ['memory'], summary: 'Every version of a memory, oldest first.', params: idParams, response: { 200: z.object({ versions: z.array(versionOutput) }) } },
    },
    async (request) => ({ versions: await memory.history(principalOf(request).tenantId, request.params.id) }),
  );

  app.post(
    '/v1/memories/search',
    {
      config: { scope: 'memory:read' },
      schema: {
        tags: ['memory'],
        summary: 'Hybrid search (HNSW cosine + full text, fused by reciprocal rank) with scope and metadata filters.',
        body: searchInput,
        response: { 200: searchResultOutput },
      },
    },
    async (request) => {
      const results = await memory.search(principalOf(request).tenantId, request.body);
      const e = memory.embedder;
      return { results, embedding: { provider: e.provider, model: e.model, dimensions: e.dimensions, quality: e.quality } };
    },
  );

  app.post(
    '/v1/export',
    {
      config: { scope: 'memory:read' },
      schema: {
        tags: ['memory'],
        summary: 'Everything held about a scope (memories with history, documents with chunks) as JSON Lines. Audited.',
        body: subjectInput,
        produces: ['application/x-ndjson'],
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      if (request.body.all) requireAdmin(p);
      const lines = await rights.export(p.tenantId, request.body, audit(p, request.id));
      return reply.type('application/x-ndjson').send(lines.length ? `${lines.join('\n')}\n` : '');
    },
  );

  app.post(
    '/v1/erase',
    {
      config: { scope: 'memory:write' },
      schema: {
        tags: ['memory'],
        summary: 'Erase everything held about a scope (a user_id, agent_id or session_id; all: true needs admin). Audited.',
        body: subjectInput,
        response: { 200: z.object({ erased: eraseOutput }) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      if (request.body.all) requireAdmin(p);
      return { erased: await rights.erase(p.tenantId, request.body, audit(p, request.id)) };
    },
  );

  done();
};
