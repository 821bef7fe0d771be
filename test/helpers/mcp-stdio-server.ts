// A stdio MCP server process for tests, as `plinth mcp` runs one: a fresh platform on a fresh
// database, logs on stderr, MCP on stdin/stdout with the bootstrap admin key. Exits when the
// client closes stdin.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { runStdioServer } from '../../src/mcp/stdio.js';
import { startPlatform } from '../../src/platform.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { freshEnv } from './platform.js';

async function main(): Promise<void> {
  const env = await freshEnv();
  try {
    const logger = createLogger({ level: 'info', destination: process.stderr });
    const platform = await startPlatform(loadConfig({ env: env.env }), { logger });
    try {
      const key = readFileSync(path.join(env.dataDir, 'admin.key'), 'utf8');
      const server = await runStdioServer(platform, key);
      await server.closed;
      await server.close();
    } finally {
      await platform.close();
    }
  } finally {
    await env.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`mcp stdio test server failed: ${String(err)}\n`);
  process.exit(1);
});
