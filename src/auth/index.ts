// Tenants, API keys, scopes and the audit log.
export { createAuthService, AuthenticationError, writeSecretFile } from './service.js';
export type { AuthService, Principal, Audit, AuthFailureReason, AuthAttempt } from './service.js';
export { createAuthFailureLimiter, authFailureLimitSchema } from './failures.js';
export type { AuthFailureLimiter, AuthFailureLimitOptions } from './failures.js';
export { SCOPES, hasScope, scopeSchema } from './scopes.js';
export type { Scope } from './scopes.js';
export { generateKey, hashKey, parseKey, keyMatches } from './keys.js';
export * from './schema.js';
