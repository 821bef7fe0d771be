// Agent memory over MCP: the same use cases and schemas as /v1/memories, as tools, a resource
// template and a prompt. Thin, like every door: validate, call platform.memory, shape.
import { ResourceTemplate, ResourceNotFoundError, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { hasScope } from '../auth/index.js';
import { PlinthError } from '../errors.js';
import {
  addMemoriesInput,
  addResultOutput,
  listInput,
  memoryOutput,
  newMemorySchema,
  searchInput,
  searchResultOutput,
  updateMemoryInput,
  versionOutput,
} from '../memory/schema.js';
import { asPlinthError, protocolError } from './errors.js';
import { auditOf, defineTool, type McpContext, type McpTool } from './tools.js';

const memoryId = z.uuid().describe('The memory id.');
const byId = z.object({ id: memoryId }).strict();

export const MEMORY_URI_TEMPLATE = 'plinth://memories/{id}';
export const memoryUri = (id: string) => `plinth://memories/${id}`;

// One memory's fields at the top level (the common case for an agent), or `memories` for a batch.
const addInput = z
  .object({
    ...newMemorySchema.shape,
    text: newMemorySchema.shape.text.optional().describe('The fact to remember. Omit it when sending `memories`.'),
    memories: addMemoriesInput.shape.memories.optional().describe('Several memories stored atomically, instead of the single-memory fields.'),
  })
  .strict();

export const memoryAdd = defineTool({
  name: 'memory_add',
  title: 'Remember',
  description:
    'Store a memory (a fact, preference or event) so it can be recalled later. Scope it with agent_id, user_id or session_id. ' +
    'The same text in the same scope, or a repeated idempotency_key, returns the existing memory (deduplicated: true). ' +
    'For several at once, send `memories` instead of the single-memory fields.',
  scope: 'memory:write',
  input: addInput,
  output: addResultOutput,
  // Repeating a call returns the memory the first call stored: content and idempotency keys deduplicate.
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, { memories, ...single }) {
    let batch;
    if (memories) {
      if (Object.values(single).some((v) => v !== undefined)) {
        throw new PlinthError('VALIDATION_FAILED', 'Send either one memory (text and its fields) or `memories`, not both.');
      }
      batch = addMemoriesInput.parse({ memories });
    } else {
      if (single.text === undefined) throw new PlinthError('VALIDATION_FAILED', 'text: required (or send `memories`).');
      batch = { memories: [newMemorySchema.parse(single)] };
    }
    return { memories: await ctx.platform.memory.add(ctx.principal.tenantId, batch, auditOf(ctx)) };
  },
});

export const memorySearch = defineTool({
  name: 'memory_search',
  title: 'Recall',
  description:
    'Find stored memories relevant to a query: hybrid semantic + keyword search, best first, with optional scope ' +
    '(agent_id, user_id, session_id), metadata and tag filters, a point in time (as_of) and recency weighting.',
  scope: 'memory:read',
  input: searchInput,
  output: searchResultOutput,
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, args) {
    const { memory } = ctx.platform;
    const results = await memory.search(ctx.principal.tenantId, args);
    const e = memory.embedder;
    return { results, embedding: { provider: e.provider, model: e.model, dimensions: e.dimensions, quality: e.quality } };
  },
});

export const memoryGet = defineTool({
  name: 'memory_get',
  title: 'Get memory',
  description: 'Get one memory by id.',
  scope: 'memory:read',
  input: byId,
  output: memoryOutput,
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: (ctx, { id }) => ctx.platform.memory.get(ctx.principal.tenantId, id),
});

export const memoryUpdate = defineTool({
  name: 'memory_update',
  title: 'Update memory',
  description:
    'Change a memory: writes a new version and keeps the previous ones in its history. Set valid_to to record that a fact ' +
    'stopped being true; pass expected_version to fail instead of overwriting a concurrent change.',
  scope: 'memory:write',
  input: z.object({ id: memoryId, ...updateMemoryInput.shape }).strict(),
  output: memoryOutput,
  // Additive: every version stays in the history.
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  // Parsed again so the HTTP body's cross-field rules (e.g. "nothing to update") hold here too.
  run: (ctx, { id, ...changes }) => ctx.platform.memory.update(ctx.principal.tenantId, id, updateMemoryInput.parse(changes), auditOf(ctx)),
});

export const memoryDelete = defineTool({
  name: 'memory_delete',
  title: 'Forget memory',
  description: 'Delete a memory and all its versions. This cannot be undone.',
  scope: 'memory:write',
  input: byId,
  output: z.object({ id: z.uuid(), deleted: z.literal(true) }),
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(ctx, { id }) {
    await ctx.platform.memory.delete(ctx.principal.tenantId, id, auditOf(ctx));
    return { id, deleted: true as const };
  },
});

export const memoryHistory = defineTool({
  name: 'memory_history',
  title: 'Memory history',
  description: 'Every version of a memory, oldest first, with who changed it and when each version was superseded.',
  scope: 'memory:read',
  input: byId,
  output: z.object({ versions: z.array(versionOutput) }),
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run: async (ctx, { id }) => ({ versions: await ctx.platform.memory.history(ctx.principal.tenantId, id) }),
});

export const MEMORY_TOOLS: readonly McpTool[] = [memoryAdd, memorySearch, memoryGet, memoryUpdate, memoryDelete, memoryHistory];

/** `plinth://memories/{id}`: one memory as JSON; listing shows the most recent ones. */
export function registerMemoryResources(server: McpServer, ctx: McpContext): void {
  const { platform, principal } = ctx;
  const LIST_LIMIT = 50;
  server.registerResource(
    'memory',
    new ResourceTemplate(MEMORY_URI_TEMPLATE, {
      list: async () => {
        // Listing is discovery: a key that cannot read memories sees none rather than an error.
        if (!hasScope(principal.scopes, 'memory:read')) return { resources: [] };
        try {
          const page = await platform.memory.list(principal.tenantId, listInput.parse({ limit: LIST_LIMIT }));
          return {
            resources: page.memories.map((m) => ({
              uri: memoryUri(m.id),
              name: m.text.length > 80 ? `${m.text.slice(0, 79)}…` : m.text,
              mimeType: 'application/json',
            })),
          };
        } catch (err) {
          throw protocolError(asPlinthError(err, platform.logger));
        }
      },
    }),
    { title: 'Memory', description: `One stored memory as JSON (the ${LIST_LIMIT} most recent are listed).`, mimeType: 'application/json' },
    async (uri, variables) => {
      const id = variables.id;
      if (typeof id !== 'string' || !z.uuid().safeParse(id).success) throw new ResourceNotFoundError(uri.href);
      try {
        platform.auth.requireScope(principal, 'memory:read');
        const m = await platform.memory.get(principal.tenantId, id);
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(m) }] };
      } catch (err) {
        const e = asPlinthError(err, platform.logger);
        throw e.is('NOT_FOUND') ? new ResourceNotFoundError(uri.href) : protocolError(e);
      }
    },
  );
}

/** `recall_context`: the memories relevant to a task, as a message to start work from. */
export function registerMemoryPrompts(server: McpServer, ctx: McpContext): void {
  const { platform, principal } = ctx;
  server.registerPrompt(
    'recall_context',
    {
      title: 'Recall context for a task',
      description: 'Search memory for what is relevant to a task and return it as context to start from.',
      argsSchema: z.object({
        task: z.string().trim().min(1).max(4_000).describe('What you are about to do.'),
        user_id: z.string().min(1).max(200).optional().describe('Only memories about this user.'),
        agent_id: z.string().min(1).max(200).optional().describe("Only this agent's memories."),
      }),
    },
    async ({ task, user_id, agent_id }) => {
      try {
        platform.auth.requireScope(principal, 'memory:read');
        const hits = await platform.memory.search(principal.tenantId, { query: task, k: 8, user_id, agent_id });
        const listed = hits.map((m, i) => `${i + 1}. ${m.text} (${memoryUri(m.id)}${m.tags.length > 0 ? `; tags: ${m.tags.join(', ')}` : ''})`);
        const text =
          hits.length === 0
            ? `Task: ${task}\n\nNo stored memories matched this task.`
            : `Task: ${task}\n\nStored memories that may be relevant, most relevant first. Use them where they apply and ignore the rest:\n\n${listed.join('\n')}`;
        return { description: `Memories relevant to: ${task.slice(0, 100)}`, messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] };
      } catch (err) {
        throw protocolError(asPlinthError(err, platform.logger));
      }
    },
  );
}
