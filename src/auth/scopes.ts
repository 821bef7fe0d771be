// The scopes an API key can carry. `admin` implies every other scope within its tenant.
import { z } from 'zod';

export const SCOPES = [
  'memory:read',
  'memory:write',
  'llm:invoke',
  'models:read',
  'models:write',
  'drift:run',
  'workflows:run',
  'admin',
] as const;

export type Scope = (typeof SCOPES)[number];

export const scopeSchema = z.enum(SCOPES);

export function hasScope(granted: readonly string[], required: Scope): boolean {
  return granted.includes('admin') || granted.includes(required);
}
