// MCP over Streamable HTTP at /mcp, plus the OAuth protected-resource metadata MCP clients use to
// discover how to authenticate. /mcp authenticates itself (not through the auth plugin) because it
// also accepts OAuth JWTs and its 401 must point at the metadata document.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuthenticationError } from '../../auth/index.js';
import { PlinthError } from '../../errors.js';
import { createMcpEndpoint, type McpEndpoint } from '../../mcp/http.js';
import type { Platform } from '../../platform.js';
import { attemptOf, bearerToken, countAuthFailure } from '../plugins/auth.js';

export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

const resourceMetadataOutput = z.object({
  resource: z.string(),
  authorization_servers: z.array(z.string()),
  bearer_methods_supported: z.array(z.string()),
  scopes_supported: z.array(z.string()),
  resource_name: z.string(),
});

export const mcpRoutes: FastifyPluginCallbackZod<{ platform: Platform }> = (app, { platform }, done) => {
  let endpoint: McpEndpoint;
  try {
    endpoint = createMcpEndpoint(platform);
  } catch (err) {
    done(err as Error); // e.g. incomplete OAuth settings: fail buildApp, not the process
    return;
  }
  app.addHook('onClose', () => endpoint.close());
  const publicUrl = platform.config.mcp.publicUrl;
  const baseUrl = (request: FastifyRequest) => publicUrl ?? `${request.protocol}://${request.host}`;

  app.get(
    PROTECTED_RESOURCE_PATH,
    {
      config: { public: true },
      schema: { tags: ['mcp'], summary: 'OAuth 2.0 Protected Resource Metadata (RFC 9728): how to obtain a bearer token for this server.', response: { 200: resourceMetadataOutput } },
    },
    (request) => endpoint.resourceMetadata(baseUrl(request)),
  );

  app.route({
    method: ['POST', 'GET', 'DELETE'],
    url: '/mcp',
    exposeHeadRoute: false,
    config: { public: true },
    schema: {
      tags: ['mcp'],
      summary: 'Model Context Protocol, Streamable HTTP transport (stateless). POST JSON-RPC messages; GET and DELETE answer 405.',
    },
    async handler(request, reply) {
      if (!endpoint.originAllowed(request.headers.origin, request.socket.localPort)) {
        throw new PlinthError('ORIGIN_NOT_ALLOWED', `Origin ${request.headers.origin ?? ''} may not call this server.`);
      }
      try {
        request.principal = await endpoint.authenticate(bearerToken(request), attemptOf(request));
      } catch (err) {
        countAuthFailure(platform.metrics, err);
        if (err instanceof AuthenticationError) {
          const invalid = err.reason === 'missing' ? '' : ', error="invalid_token"';
          reply.header('www-authenticate', `Bearer resource_metadata="${baseUrl(request)}${PROTECTED_RESOURCE_PATH}"${invalid}`);
        }
        throw err;
      }
      const response = await endpoint.handle(toWebRequest(request, reply), request.principal, {
        parsedBody: request.body,
        requestId: request.id,
      });
      return reply.send(response);
    },
  });

  done();
};

/** The Fastify request as a web Request (headers, method, URL) whose signal aborts if the client goes away. */
function toWebRequest(request: FastifyRequest, reply: FastifyReply): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    // The body is handed over parsed, so its length headers no longer apply; credentials are not needed past authentication.
    if (value === undefined || name.startsWith(':') || name === 'authorization' || name === 'cookie' || name === 'content-length' || name === 'transfer-encoding') continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const aborted = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) aborted.abort();
  });
  let url: URL;
  try {
    url = new URL(request.url, `${request.protocol}://${request.host}`);
  } catch {
    url = new URL(request.url, 'http://localhost'); // a garbled Host header: the SDK needs some absolute URL
  }
  return new Request(url, { method: request.method, headers, signal: aborted.signal });
}
