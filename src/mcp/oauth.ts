// OAuth 2.1 resource-server side: validate bearer JWTs from the configured issuer and map their
// claims to a Plinth principal, and describe this server as a protected resource (RFC 9728) so
// MCP clients can discover the authorization server from a 401. Kept free of MCP specifics so it
// can move to auth/ when other doors accept JWTs too.
//
// The token is only ever verified here: it is never forwarded to another service.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuthenticationError, SCOPES, type AuthService, type Principal } from '../auth/index.js';
import type { Config } from '../config/index.js';
import { PlinthError, isPlinthError } from '../errors.js';

export interface JwtSettings {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Claim holding the tenant's name or id. */
  tenantClaim: string;
}

/** The JWT settings from config, or undefined when no issuer is configured. */
export function jwtSettings(config: Config): JwtSettings | undefined {
  const { issuer, jwksUrl, tenantClaim } = config.oauth;
  if (!issuer || !jwksUrl) return undefined;
  const audience = config.oauth.audience ?? config.mcp.publicUrl;
  if (!audience) {
    throw new PlinthError('CONFIG_INVALID', 'Invalid configuration:\n  - OAUTH_AUDIENCE (oauth.audience): required when OAUTH_ISSUER is set and PLINTH_PUBLIC_URL is not');
  }
  return { issuer, audience, jwksUrl, tenantClaim };
}

// Asymmetric only: a shared-secret algorithm would let anyone holding the public key mint tokens.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const TENANT_CACHE_MS = 30_000;

export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

export interface JwtAuthenticatorDeps {
  auth: Pick<AuthService, 'getTenant'>;
  /** Key source; defaults to the issuer's JWKS URL, fetched and cached by jose. */
  keys?: JWTVerifyGetKey;
  now?: () => number;
}

export type JwtAuthenticator = (token: string) => Promise<Principal>;

export function createJwtAuthenticator(settings: JwtSettings, deps: JwtAuthenticatorDeps): JwtAuthenticator {
  const keys = deps.keys ?? createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
  const now = deps.now ?? Date.now;
  const tenants = new Map<string, { tenant: { id: string; name: string; is_root: boolean }; until: number }>();

  async function tenantOf(ref: string) {
    const t = now();
    const hit = tenants.get(ref);
    if (hit && hit.until > t) return hit.tenant;
    try {
      const tenant = await deps.auth.getTenant(ref);
      tenants.set(ref, { tenant, until: t + TENANT_CACHE_MS });
      return tenant;
    } catch (err) {
      if (isPlinthError(err, 'TENANT_NOT_FOUND')) throw new AuthenticationError('unknown', 'The bearer token names no known tenant.');
      throw err;
    }
  }

  return async function authenticateJwt(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: 30,
        currentDate: new Date(now()),
      }));
    } catch (err) {
      throw tokenFailure(err);
    }
    const ref = payload[settings.tenantClaim];
    if (typeof ref !== 'string' || ref === '') throw new AuthenticationError('malformed', `The bearer token has no "${settings.tenantClaim}" claim.`);
    const tenant = await tenantOf(ref);
    const granted = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    const subject = payload.sub ?? 'unknown';
    return {
      tenantId: tenant.id,
      tenantName: tenant.name,
      isRootTenant: tenant.is_root,
      keyId: `oauth:${subject}`,
      keyPrefix: 'oauth',
      scopes: SCOPES.filter((s) => granted.includes(s)),
      actor: `oauth:${subject}`,
    };
  };
}

/** jose's verdict as a catalogue error: a bad token is 401, an unreachable issuer 503. */
function tokenFailure(err: unknown): PlinthError {
  if (err instanceof joseErrors.JWTExpired) return new AuthenticationError('expired', 'The bearer token has expired.');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new AuthenticationError('mismatch', `The bearer token's "${err.claim}" claim is not valid for this server.`);
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || !(err instanceof joseErrors.JOSEError) || err.code === 'ERR_JOSE_GENERIC') {
    return new PlinthError('TOKEN_ISSUER_UNAVAILABLE', undefined, {}, { cause: err });
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return new AuthenticationError('malformed', 'The bearer token is malformed.');
  return new AuthenticationError('mismatch', 'The bearer token is not valid.');
}

/** RFC 9728 Protected Resource Metadata for the resource at `resource` (this server's base URL). */
export function protectedResourceMetadata(resource: string, settings: JwtSettings | undefined) {
  return {
    resource,
    authorization_servers: settings ? [settings.issuer] : [],
    bearer_methods_supported: ['header'],
    scopes_supported: [...SCOPES],
    resource_name: 'Plinth',
  };
}
