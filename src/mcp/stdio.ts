// MCP over stdio, for `plinth mcp`: a local agent host starts Plinth as a subprocess and talks
// JSON-RPC on its stdin/stdout. The caller is identified by an API key (PLINTH_API_KEY or
// --key-file), authenticated once when the connection opens.
//
// For the command that calls this: stdout is the protocol channel. Anything else written there —
// a log line, a banner, a console.log — corrupts the stream. Create the platform's logger on
// stderr (createLogger({ destination: pino.destination(2) })) before startPlatform, and print
// nothing to stdout. Resolve `closed`, then close the platform, when the client hangs up.
import type { Readable, Writable } from 'node:stream';
import { serveStdio, StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import type { Principal } from '../auth/index.js';
import type { Platform } from '../platform.js';
import { createMcpServer } from './server.js';

export interface StdioServerOptions {
  /** Defaults to process.stdin / process.stdout. */
  stdin?: Readable;
  stdout?: Writable;
}

export interface RunningStdioServer {
  principal: Principal;
  /** Resolves when the client closes the connection (stdin ends). */
  closed: Promise<void>;
  close(): Promise<void>;
}

/** Authenticate `apiKey`, then serve MCP on stdio for that principal until the client hangs up. */
export async function runStdioServer(platform: Platform, apiKey: string, options: StdioServerOptions = {}): Promise<RunningStdioServer> {
  const principal = await platform.auth.authenticate(apiKey.trim());
  const wire = new StdioServerTransport(options.stdin, options.stdout);
  const handle = serveStdio(() => createMcpServer(platform, principal), {
    transport: wire,
    onerror: (err) => platform.logger.warn({ err: { message: err.message } }, 'mcp stdio error'),
  });
  // serveStdio takes over the transport's onclose when it starts; chain onto it to learn of hang-ups.
  const closed = new Promise<void>((resolve) => {
    const inner = wire.onclose;
    wire.onclose = () => {
      inner?.();
      resolve();
    };
  });
  platform.logger.info({ tenant: principal.tenantName, key_prefix: principal.keyPrefix }, 'serving MCP on stdio');
  return { principal, closed, close: () => handle.close() };
}
