// The MCP door: a server factory with tools, resources and prompts per domain, the Streamable
// HTTP endpoint (mounted by http/routes/mcp.ts) and the stdio entry (for `plinth mcp`).
export { createMcpServer, TOOLS } from './server.js';
export type { CreateMcpServerOptions } from './server.js';
export { defineTool, auditOf } from './tools.js';
export type { McpContext, McpTool, ToolHints, ToolSpec } from './tools.js';
export { MEMORY_TOOLS, MEMORY_URI_TEMPLATE, memoryUri } from './memory.js';
export { createMcpEndpoint } from './http.js';
export type { McpEndpoint } from './http.js';
export { runStdioServer } from './stdio.js';
export type { RunningStdioServer, StdioServerOptions } from './stdio.js';
export { createJwtAuthenticator, jwtSettings, looksLikeJwt, protectedResourceMetadata } from './oauth.js';
export type { JwtAuthenticator, JwtAuthenticatorDeps, JwtSettings } from './oauth.js';
export { ERROR_META_KEY } from './errors.js';
