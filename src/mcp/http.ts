// The MCP Streamable HTTP endpoint, framework-free: authentication (API keys and, when configured,
// OAuth JWTs), the Origin check against DNS rebinding, and the SDK's stateless handler. The SDK
// serves the 2026-07-28 revision per request and falls back to stateless 2025-era serving
// (initialize handshake; GET/DELETE answered 405), so no session lives in this process.
import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import type { AuthAttempt, Principal } from '../auth/index.js';
import { PlinthError } from '../errors.js';
import type { Platform } from '../platform.js';
import { createJwtAuthenticator, jwtSettings, looksLikeJwt, protectedResourceMetadata } from './oauth.js';
import { createMcpServer } from './server.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const BOUND = 'plinth';

interface Bound {
  principal: Principal;
  requestId?: string;
}

export interface McpEndpoint {
  /** Resolve a bearer token (API key or JWT) to a principal, or throw AuthenticationError. */
  authenticate(token: string | undefined, attempt?: AuthAttempt): Promise<Principal>;
  /**
   * Whether a browser `Origin` may call the endpoint: absent (non-browser clients), configured in
   * MCP_ALLOWED_ORIGINS, the public URL's origin, or a loopback origin on the port that received
   * the request (same-origin for a local server).
   */
  originAllowed(origin: string | undefined, localPort: number | undefined): boolean;
  /** Serve one MCP HTTP request for an authenticated principal. */
  handle(request: Request, principal: Principal, options?: { parsedBody?: unknown; requestId?: string }): Promise<Response>;
  resourceMetadata(baseUrl: string): ReturnType<typeof protectedResourceMetadata>;
  close(): Promise<void>;
}

export function createMcpEndpoint(platform: Platform): McpEndpoint {
  const { config, logger } = platform;
  const jwt = jwtSettings(config);
  const authenticateJwt = jwt ? createJwtAuthenticator(jwt, { auth: platform.auth }) : undefined;
  const allowed = new Set(config.mcp.allowedOrigins);
  const publicOrigin = config.mcp.publicUrl ? new URL(config.mcp.publicUrl).origin : undefined;

  const handler = createMcpHandler(
    (ctx) => {
      const bound = ctx.authInfo?.extra?.[BOUND] as Bound | undefined;
      // Unreachable through handle(), which always binds a principal; refuse rather than serve anonymously.
      if (!bound) throw new PlinthError('UNAUTHENTICATED');
      return createMcpServer(platform, bound.principal, bound.requestId ? { requestId: bound.requestId } : {});
    },
    {
      maxRequestBodySize: config.server.bodyLimitBytes,
      // Rejected and malformed requests are the client's problem and already answered; keep them out of error logs.
      onerror: (err) => logger.debug({ err: { message: err.message } }, 'mcp request not served'),
    },
  );

  return {
    async authenticate(token, attempt) {
      if (authenticateJwt && token && !token.startsWith('plk_') && looksLikeJwt(token)) return authenticateJwt(token);
      return platform.auth.authenticate(token, attempt);
    },

    originAllowed(origin, localPort) {
      if (origin === undefined) return true;
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        return false; // includes the opaque "null" origin
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
      if (allowed.has(url.origin) || url.origin === publicOrigin) return true;
      const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
      return LOOPBACK_HOSTS.has(url.hostname) && localPort !== undefined && port === localPort;
    },

    handle(request, principal, options = {}) {
      const bound: Bound = { principal, ...(options.requestId ? { requestId: options.requestId } : {}) };
      // The token itself stays out of the handler context: tools get the principal, nothing to forward.
      const authInfo: AuthInfo = { token: '', clientId: principal.actor, scopes: [...principal.scopes], extra: { [BOUND]: bound } };
      return handler.fetch(request, { authInfo, ...(options.parsedBody !== undefined ? { parsedBody: options.parsedBody } : {}) });
    },

    resourceMetadata: (baseUrl) => protectedResourceMetadata(baseUrl, jwt),

    close: () => handler.close(),
  };
}
