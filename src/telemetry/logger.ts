// Structured JSON logs (pino). Credentials are redacted by path, and any string that looks
// like a Plinth API key is scrubbed wherever it appears, as a second line of defence. Lines
// written while a trace span is active carry trace_id and span_id. A process may add one extra
// destination that receives every logger's lines at its own level (setLogTee), so a test run can
// keep all logs and scan them for credentials.
import { pino, type Logger, type DestinationStream } from 'pino';
import { currentTraceIds } from './trace-context.js';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'databaseUrl',
  '*.databaseUrl',
];

/** Matches Plinth API keys (see auth/keys.ts) so they can be scrubbed from free text. */
const API_KEY_PATTERN = /plk_[a-z0-9]{12}_[A-Za-z0-9_-]{20,}/g;

export function scrubKeys(text: string): string {
  return text.replace(API_KEY_PATTERN, 'plk_****');
}

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  name?: string;
}

export interface LogTee {
  /** The lowest level this destination receives, whatever the level of each logger. */
  level: string;
  stream: DestinationStream;
}

let tee: LogTee | undefined;

/**
 * Sends the lines of every logger created from now on in this process also to `next` (or stops
 * doing so with `undefined`); returns the previous one. Each logger keeps writing to its own
 * destination at its own level.
 */
export function setLogTee(next: LogTee | undefined): LogTee | undefined {
  const previous = tee;
  tee = next;
  return previous;
}

function destinationFor(level: string, destination: DestinationStream | undefined): { level: string; destination: DestinationStream | undefined } {
  if (!tee) return { level, destination };
  const own = destination ?? pino.destination(1);
  const streams: Array<{ level: pino.Level; stream: DestinationStream }> = [{ level: tee.level as pino.Level, stream: tee.stream }];
  if (level !== 'silent') streams.push({ level: level as pino.Level, stream: own });
  const values = pino.levels.values;
  const lowest = (values[level] ?? Infinity) < (values[tee.level] ?? Infinity) ? level : tee.level;
  return { level: lowest, destination: pino.multistream(streams) };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const { level, destination } = destinationFor(options.level ?? 'info', options.destination);
  return pino(
    {
      name: options.name ?? 'plinth',
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Lines written inside a span carry its ids, so logs and traces join on trace_id.
      mixin: () => currentTraceIds() ?? {},
      hooks: {
        // Scrub key-shaped strings from messages; structured fields are covered by `redact`.
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubKeys(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
      serializers: {
        err: (err: Error) => {
          const s = pino.stdSerializers.err(err);
          if (typeof s.message === 'string') s.message = scrubKeys(s.message);
          if (typeof s.stack === 'string') s.stack = scrubKeys(s.stack);
          return s;
        },
      },
    },
    destination,
  );
}
