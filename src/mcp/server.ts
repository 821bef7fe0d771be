// The MCP server factory. One McpServer per HTTP request (or per stdio connection), bound to the
// caller's principal: nothing is kept between requests, so any replica can answer any request.
import { McpServer } from '@modelcontextprotocol/server';
import { hasScope, type Principal } from '../auth/index.js';
import type { Platform } from '../platform.js';
import { VERSION } from '../version.js';
import { DOCUMENT_TOOLS, registerDocumentResources } from './documents.js';
import { DRIFT_TOOLS } from './drift.js';
import { GATEWAY_TOOLS } from './gateway.js';
import { MEMORY_TOOLS, registerMemoryPrompts, registerMemoryResources } from './memory.js';
import { REGISTRY_TOOLS } from './registry.js';
import type { McpContext, McpTool } from './tools.js';
import { WORKFLOW_TOOLS } from './workflows.js';

/** Every tool the server offers; a new domain appends its definitions here. */
export const TOOLS: readonly McpTool[] = [...MEMORY_TOOLS, ...DOCUMENT_TOOLS, ...DRIFT_TOOLS, ...REGISTRY_TOOLS, ...GATEWAY_TOOLS, ...WORKFLOW_TOOLS];

const INSTRUCTIONS = [
  'Plinth gives you long-term memory.',
  'Before a task, call memory_search (or the recall_context prompt) for what you already know;',
  'when you learn a durable fact, preference or decision, store it with memory_add, scoped with user_id, agent_id or session_id.',
  'When a fact changes, use memory_update (set valid_to when it stopped being true) rather than adding a contradicting memory.',
  'Documents added with document_ingest are searched together with memories by the search tool.',
].join(' ');

// Memory and document tools are always listed (a read-only key sees the write tools and is refused
// with a scope error when it calls one). Every other domain's tools are listed only to keys that may
// run them, so a memory-only agent keeps a memory-only tool list.
const MEMORY_DOORS: readonly McpTool[] = [...MEMORY_TOOLS, ...DOCUMENT_TOOLS];

function listedFor(tool: McpTool, principal: Principal): boolean {
  if (MEMORY_DOORS.includes(tool)) return true;
  // The registry's tools go together: a reader sees model_promote and is refused with a scope error.
  if (REGISTRY_TOOLS.includes(tool)) return hasScope(principal.scopes, 'models:read') || hasScope(principal.scopes, 'models:write');
  return hasScope(principal.scopes, tool.scope);
}

export interface CreateMcpServerOptions {
  /** The HTTP request id, recorded in the audit log. */
  requestId?: string;
}

export function createMcpServer(platform: Platform, principal: Principal, options: CreateMcpServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'plinth', title: 'Plinth', version: VERSION }, { instructions: INSTRUCTIONS });
  const ctx: McpContext = { platform, principal, ...(options.requestId ? { requestId: options.requestId } : {}) };
  for (const tool of TOOLS) if (listedFor(tool, principal)) tool.register(server, ctx);
  registerMemoryResources(server, ctx);
  registerDocumentResources(server, ctx);
  registerMemoryPrompts(server, ctx);
  return server;
}
