// Documents and combined search over MCP: the same use cases and schemas as /v1/documents and
// /v1/search, as tools and a resource template.
import { ResourceTemplate, ResourceNotFoundError, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { hasScope } from '../auth/index.js';
import { combinedResult, combinedSearchInput, ingestInput, ingestOutput } from '../memory/documents-schema.js';
import { asPlinthError, protocolError } from './errors.js';
import { auditOf, defineTool, type McpContext, type McpTool } from './tools.js';

export const DOCUMENT_URI_TEMPLATE = 'plinth://documents/{id}';
export const documentUri = (id: string) => `plinth://documents/${id}`;

export const documentIngest = defineTool({
  name: 'document_ingest',
  title: 'Ingest document',
  description:
    'Add a text, Markdown, HTML or PDF (content_base64) document to the knowledge base. It is split into chunks that follow its ' +
    'headings and kept searchable with `search`. Ingesting the same key (default: name) again replaces its chunks.',
  scope: 'memory:write',
  input: ingestInput,
  output: ingestOutput,
  // Unchanged content is a no-op; changed content replaces the document's chunks.
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: (ctx, args) => ctx.platform.documents.ingest(ctx.principal.tenantId, args, auditOf(ctx)),
});

export const search = defineTool({
  name: 'search',
  title: 'Search knowledge',
  description:
    'Search memories and document chunks together (hybrid semantic + keyword), best first. Each result says whether it is a memory ' +
    'or a chunk, and a chunk carries its document and heading path.',
  scope: 'memory:read',
  input: combinedSearchInput,
  output: z.object({ results: z.array(combinedResult) }),
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: async (ctx, args) => ({ results: await ctx.platform.documents.search(ctx.principal.tenantId, args) }),
});

export const DOCUMENT_TOOLS: readonly McpTool[] = [documentIngest, search];

/** `plinth://documents/{id}`: a document with its chunks as JSON; listing shows the most recent ones. */
export function registerDocumentResources(server: McpServer, ctx: McpContext): void {
  const { platform, principal } = ctx;
  const LIST_LIMIT = 50;
  server.registerResource(
    'document',
    new ResourceTemplate(DOCUMENT_URI_TEMPLATE, {
      list: async () => {
        if (!hasScope(principal.scopes, 'memory:read')) return { resources: [] };
        try {
          const docs = await platform.documents.list(principal.tenantId, LIST_LIMIT);
          return { resources: docs.map((d) => ({ uri: documentUri(d.id), name: d.title ?? d.name, mimeType: 'application/json' })) };
        } catch (err) {
          throw protocolError(asPlinthError(err, platform.logger));
        }
      },
    }),
    { title: 'Document', description: `One document with its chunks as JSON (the ${LIST_LIMIT} most recent are listed).`, mimeType: 'application/json' },
    async (uri, variables) => {
      const id = variables.id;
      if (typeof id !== 'string' || !z.uuid().safeParse(id).success) throw new ResourceNotFoundError(uri.href);
      try {
        platform.auth.requireScope(principal, 'memory:read');
        const doc = await platform.documents.get(principal.tenantId, id, true);
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(doc) }] };
      } catch (err) {
        const e = asPlinthError(err, platform.logger);
        throw e.is('NOT_FOUND') ? new ResourceNotFoundError(uri.href) : protocolError(e);
      }
    },
  );
}
