// Shapes shared by the tenant-scoped route files: who is calling (tenant and audit record of the
// request), the 204 answer of a delete, the 200-or-201 answer of an idempotent create, and a page
// of items with its next page token.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Audit } from '../../auth/index.js';
import { principalOf } from '../plugins/auth.js';

export interface Caller {
  tenantId: string;
  /** Who to record in the audit log for what this request changes. */
  audit: Audit;
}

/** The tenant of the authenticated request and its audit record (actor and request id). */
export function callerOf(request: FastifyRequest): Caller {
  const p = principalOf(request);
  return { tenantId: p.tenantId, audit: { actor: p.actor, requestId: request.id } };
}

/** Response schema of a route that answers 204 with no body. */
export const noContentResponse = { 204: z.null() };

/** Answers 204 with no body. */
export function sendNoContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send(null);
}

/** Response schemas of an idempotent create: 201 when created, 200 when it already existed. */
export function createdOrExistingResponse<T extends z.ZodObject>(output: T) {
  return { 200: output.extend({ created: z.boolean() }), 201: output.extend({ created: z.boolean() }) };
}

/** Answers 201 when `created`, else 200, with `body`. */
export function sendCreatedOrExisting(reply: FastifyReply, created: boolean, body: unknown): FastifyReply {
  return reply.code(created ? 201 : 200).send(body);
}

/** `{ [key]: item[], next_page_token }`: one page of a listing. */
export function pageOf<K extends string, T extends z.ZodType>(key: K, item: T) {
  return z.object({ [key]: z.array(item), next_page_token: z.string().nullable() } as { [P in K]: z.ZodArray<T> } & { next_page_token: z.ZodNullable<z.ZodString> });
}
