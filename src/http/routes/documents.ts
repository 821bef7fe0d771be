// Documents and combined search over HTTP. Thin: validate, call the document service, shape.
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../auth/index.js';
import { chunkOutput, combinedResult, combinedSearchInput, documentOutput, ingestInput, ingestOutput } from '../../memory/documents-schema.js';
import type { DocumentService } from '../../memory/documents.js';
import { principalOf } from '../plugins/auth.js';

const idParams = z.object({ id: z.uuid() });
const audit = (p: Principal, requestId: string) => ({ actor: p.actor, requestId });

export const documentRoutes: FastifyPluginCallbackZod<{ documents: DocumentService; bodyLimit: number }> = (app, { documents, bodyLimit }, done) => {
  app.post(
    '/v1/documents',
    {
      bodyLimit,
      config: { scope: 'memory:write' },
      schema: {
        tags: ['documents'],
        summary: 'Ingest a text, Markdown, HTML or PDF document; re-ingesting the same key replaces its chunks atomically.',
        body: ingestInput,
        response: { 200: ingestOutput, 201: ingestOutput },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const result = await documents.ingest(p.tenantId, request.body, audit(p, request.id));
      return reply.code(result.status === 'created' ? 201 : 200).send(result);
    },
  );

  app.get(
    '/v1/documents',
    {
      config: { scope: 'memory:read' },
      schema: {
        tags: ['documents'],
        summary: 'List documents, newest first.',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
        response: { 200: z.object({ documents: z.array(documentOutput) }) },
      },
    },
    async (request) => ({ documents: await documents.list(principalOf(request).tenantId, request.query.limit) }),
  );

  app.get(
    '/v1/documents/:id',
    {
      config: { scope: 'memory:read' },
      schema: {
        tags: ['documents'],
        summary: 'Get a document, with its chunks when chunks=true.',
        params: idParams,
        querystring: z.object({ chunks: z.enum(['true', 'false']).default('false') }).strict(),
        response: { 200: z.object({ document: documentOutput, chunks: z.array(chunkOutput).optional() }) },
      },
    },
    (request) => documents.get(principalOf(request).tenantId, request.params.id, request.query.chunks === 'true'),
  );

  app.delete(
    '/v1/documents/:id',
    { config: { scope: 'memory:write' }, schema: { tags: ['documents'], summary: 'Delete a document and its chunks.', params: idParams, response: { 204: z.null() } } },
    async (request, reply) => {
      const p = principalOf(request);
      await documents.delete(p.tenantId, request.params.id, audit(p, request.id));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/search',
    {
      config: { scope: 'memory:read' },
      schema: {
        tags: ['documents', 'memory'],
        summary: 'Search memories and document chunks together; each result carries its provenance and per-retriever scores.',
        body: combinedSearchInput,
        response: { 200: z.object({ results: z.array(combinedResult) }) },
      },
    },
    async (request) => ({ results: await documents.search(principalOf(request).tenantId, request.body) }),
  );

  done();
};
