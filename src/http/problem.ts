// RFC 9457 problem details from catalogue errors. Nothing from an unexpected error's message
// or stack reaches a client: those become a generic PLINTH_INTERNAL with the request id.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PlinthError } from '../errors.js';

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
