// Redis command spans without patching ioredis: ioredis publishes every command it writes on the
// `ioredis:command` diagnostics tracing channel, and each command issued inside an active span
// becomes a client span named by the command (`EVALSHA` for the limiter's Lua scripts, `GET`,
// `HSET`, …). Keys and values are never recorded: keys name tenants, values may hold prompts and
// completions. Subscribed only while tracing is on; with no subscriber ioredis skips the channel.
//
// Commands rejected before they are written (Redis unreachable: no offline queue) make no span.
import diagnosticsChannel from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api';

/** What ioredis publishes per command (the parts used here; `args` is deliberately ignored). */
interface CommandMessage {
  command: string;
  database?: number;
  serverAddress?: string;
  serverPort?: number;
  error?: unknown;
}

/** The span name and `db.operation.name`: the command in upper case. */
export function redisOperation(command: string): string {
  return command.toUpperCase();
}

/** `error.type` of a Redis error reply: its prefix (NOSCRIPT, WRONGTYPE, READONLY, …), else the class name. */
export function redisErrorType(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const prefix = /^([A-Z][A-Z_]+)\b/.exec(message)?.[1];
  if (prefix && prefix !== 'ERR') return prefix;
  return err instanceof Error ? err.name : 'Error';
}

// Several tracing platforms in one process each subscribe; the first one takes the command.
const handled = new WeakSet<object>();

export function traceRedisCommands(tracer: Tracer): () => void {
  const channel = diagnosticsChannel.tracingChannel<object, CommandMessage>('ioredis:command');
  const spans = new WeakMap<object, Span>();
  const finish = (message: CommandMessage) => {
    const span = spans.get(message);
    if (!span) return;
    spans.delete(message);
    if (message.error !== undefined) {
      // The reply's class and prefix only: an error message may quote a key.
      span.setAttribute('error.type', redisErrorType(message.error));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };
  const subscribers = {
    start(message: CommandMessage) {
      // Only inside an active span: background commands (Sentinel, reconnects) start no traces.
      if (handled.has(message) || !trace.getSpan(context.active())) return;
      handled.add(message);
      const operation = redisOperation(message.command);
      spans.set(
        message,
        tracer.startSpan(operation, {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'redis',
            'db.system': 'redis',
            'db.operation.name': operation,
            ...(message.database !== undefined ? { 'db.namespace': String(message.database) } : {}),
            ...(message.serverAddress ? { 'server.address': message.serverAddress } : {}),
            ...(message.serverPort ? { 'server.port': message.serverPort } : {}),
          },
        }),
      );
    },
    end(message: CommandMessage) {
      // A synchronous throw publishes error and end, no asyncEnd.
      if (message.error !== undefined) finish(message);
    },
    asyncStart() {},
    asyncEnd: finish,
    error() {},
  };
  channel.subscribe(subscribers);
  return () => channel.unsubscribe(subscribers);
}
