// How failures leave the MCP door. A tool failure is an `isError` result the model can read and
// act on; a resource or prompt failure is a JSON-RPC error. Either way the client sees a catalogue
// code and its safe message — never an unexpected error's message or stack, which the SDK would
// otherwise copy onto the wire.
import { ProtocolError, ProtocolErrorCode, type CallToolResult } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { PlinthError, toPlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';

/** `_meta` key under which error results carry the machine-readable code. */
export const ERROR_META_KEY = 'plinth/error';

/** Any thrown value as a catalogue error; unexpected ones are logged here, once, with their stack. */
export function asPlinthError(err: unknown, logger?: Logger): PlinthError {
  if (err instanceof z.ZodError) {
    const first = err.issues[0];
    const where = first && first.path.length > 0 ? first.path.join('.') : 'input';
    return new PlinthError('VALIDATION_FAILED', first ? `${where}: ${first.message}` : undefined);
  }
  const e = toPlinthError(err);
  if (e.status >= 500) logger?.error({ err, code: e.code }, 'mcp request failed');
  return e;
}

export function toolError(err: PlinthError): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `${err.code}: ${err.message}` }],
    _meta: { [ERROR_META_KEY]: { ...err.extra, code: err.code, status: err.status } },
  };
}

export function protocolError(err: PlinthError): ProtocolError {
  const code =
    err.status >= 500 ? ProtocolErrorCode.InternalError : err.status === 401 || err.status === 403 ? ProtocolErrorCode.InvalidRequest : ProtocolErrorCode.InvalidParams;
  return new ProtocolError(code, `${err.code}: ${err.message}`, { code: err.code, status: err.status });
}
