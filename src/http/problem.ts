// RFC 9457 problem details from catalogue errors. Nothing from an unexpected error's message
// or stack reaches a client: those become a generic PLINTH_INTERNAL with the request id.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PlinthError } from '../errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  request_id: string;
  [extra: string]: unknown;
}

export function problemOf(err: PlinthError, request: FastifyRequest): Problem {
  return {
    ...err.extra,
    type: `urn:plinth:error:${err.code}`,
    title: err.title,
    status: err.status,
    detail: err.message,
    code: err.code,
    instance: request.url.split('?')[0] ?? request.url,
    request_id: request.id,
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: PlinthError): FastifyReply {
  return reply.code(err.status).type('application/problem+json').send(problemOf(err, request));
}

/**
 * A PostgreSQL data exception (SQLSTATE class 22: a number out of range, a date the database
 * cannot represent, a NUL character in text) raised by a value the client sent. It is the
 * client's input that cannot be stored, not a server failure: 400 instead of 500.
 */
export function dataExceptionOf(err: unknown): PlinthError | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) {
      return new PlinthError('VALIDATION_FAILED', 'A value in the request cannot be stored (a number out of range, a date outside the supported range or a NUL character).', {}, { cause: err });
    }
  }
  return undefined;
}
