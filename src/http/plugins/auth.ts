// Authentication for every route not marked `config: { public: true }`, and scope checks for
// routes declaring `config: { scope }`. Missing or bad credentials → 401, missing scope → 403,
// a source over the failed-authentication limit → 429 (PLINTH_RATE_LIMITED, Retry-After).
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthenticationError, type AuthAttempt, type AuthService, type Principal, type Scope } from '../../auth/index.js';
import { PlinthError } from '../../errors.js';
import type { Metrics } from '../../telemetry/metrics.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No credentials needed (liveness and readiness only, plus docs when PLINTH_PUBLIC_DOCS). */
    public?: boolean;
    /** Scope the caller's key must carry. */
    scope?: Scope;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : '';
}

/** Where an authentication attempt comes from (the client address honours PLINTH_TRUST_PROXY). */
export function attemptOf(request: FastifyRequest): AuthAttempt {
  return { source: request.ip, requestId: request.id };
}

/** Count a refused authentication in plinth_auth_failures_total; a blocked source counts as "blocked". */
export function countAuthFailure(metrics: Metrics, err: unknown): void {
  if (err instanceof AuthenticationError) metrics.authFailures.inc({ reason: err.reason });
  else if (err instanceof PlinthError && err.code === 'PLINTH_RATE_LIMITED') metrics.authFailures.inc({ reason: 'blocked' });
}

/** The authenticated caller; routes behind the auth plugin always have one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new PlinthError('UNAUTHENTICATED');
  return request.principal;
}

export const authPlugin = fp(
  (app: FastifyInstance, opts: { auth: AuthService; metrics: Metrics; isPublicPath?: (path: string) => boolean }) => {
    app.decorateRequest('principal', undefined);
    app.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions.config;
      if (config.public || opts.isPublicPath?.(request.url.split('?')[0] ?? '')) return;
      try {
        request.principal = await opts.auth.authenticate(bearerToken(request), attemptOf(request));
      } catch (err) {
        countAuthFailure(opts.metrics, err);
        if (err instanceof AuthenticationError) {
          reply.header('www-authenticate', `Bearer realm="plinth"${err.reason === 'missing' ? '' : ', error="invalid_token"'}`);
        }
        throw err;
      }
      if (config.scope) opts.auth.requireScope(request.principal, config.scope);
    });
  },
  { name: 'plinth-auth' },
);
