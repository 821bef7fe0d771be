// Every error leaves as application/problem+json with a stable code from the catalogue.
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { PlinthError, toPlinthError, type ErrorName } from '../../errors.js';
import { sendProblem } from '../problem.js';

const FASTIFY_CODES: Record<string, ErrorName> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

function classify(error: FastifyError | Error): PlinthError {
  if (error instanceof PlinthError) return toPlinthError(error);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      location: error.validationContext ?? 'body',
      path: v.instancePath || '/',
      message: v.message ?? 'invalid',
    }));
    const first = issues[0];
    return new PlinthError(
      'VALIDATION_FAILED',
      first ? `${first.location} ${first.path}: ${first.message}` : undefined,
      { errors: issues },
    );
  }
  if (isResponseSerializationError(error)) return new PlinthError('INTERNAL', undefined, {}, { cause: error });
  const code = (error as FastifyError).code;
  const mapped = code ? FASTIFY_CODES[code] : undefined;
  if (mapped) return new PlinthError(mapped, mapped === 'BAD_REQUEST' && /JSON/i.test(error.message) ? 'The body is not valid JSON.' : undefined);
  const status = (error as FastifyError).statusCode;
  if (status === 400 || (error instanceof SyntaxError && /JSON/.test(error.message))) return new PlinthError('BAD_REQUEST', 'The request is malformed.');
  if (status === 413) return new PlinthError('PAYLOAD_TOO_LARGE');
  if (status === 415) return new PlinthError('UNSUPPORTED_MEDIA_TYPE');
  if (status === 503 && code === 'FST_ERR_REP_ALREADY_SENT') return new PlinthError('INTERNAL');
  return toPlinthError(error);
}

export const errorsPlugin = fp(
  (app: FastifyInstance) => {
    app.setErrorHandler((error, request, reply) => {
      const problem = classify(error as FastifyError);
      if (problem.status >= 500) {
        request.log.error({ err: error, code: problem.code }, 'request failed');
      } else if (problem.status !== 401 && problem.status !== 403 && problem.status !== 404) {
        request.log.info({ code: problem.code, detail: problem.message }, 'request rejected');
      }
      if (problem.code === 'PLINTH_RATE_LIMITED' || problem.status === 503) {
        const retry = problem.extra.retry_after_s;
        reply.header('retry-after', typeof retry === 'number' ? String(Math.ceil(retry)) : '1');
      }
      return sendProblem(reply, request, problem);
    });
    app.setNotFoundHandler((request, reply) => {
      return sendProblem(reply, request, new PlinthError('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0] ?? ''}.`));
    });
  },
  { name: 'plinth-errors' },
);
