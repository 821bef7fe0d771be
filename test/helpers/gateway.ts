// Fixtures for the gateway limit and budget tests: a platform with its HTTP app started before the
// tests of the enclosing suite and closed after them, llm:invoke keys on the default tenant, and
// the environment of a platform whose Redis limiter store cannot be reached.
import net from 'node:net';
import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import type { CreatedKey } from '../../src/auth/index.js';
import { startTestPlatform, type TestPlatform } from './platform.js';

/** A loopback port with nothing listening on it. */
export async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** REDIS_URL pointing at a loopback port with no Redis behind it. */
export async function unreachableRedisEnv(): Promise<{ REDIS_URL: string }> {
  return { REDIS_URL: `redis://127.0.0.1:${await deadPort()}` };
}

/** A new key with the llm:invoke scope on the default tenant. */
export async function invokeKey(t: TestPlatform, name: string): Promise<CreatedKey> {
  const tenant = await t.platform.auth.getTenant('default');
  return t.platform.auth.createKey(tenant.id, { name, scopes: ['llm:invoke'] }, { actor: 'test' });
}

export interface GatewayApp {
  t: TestPlatform;
  app: FastifyInstance;
}

/**
 * A platform started with the environment `env` returns (called in the suite's `before` hook, so
 * it may use what earlier hooks started) and its HTTP app; both closed after the suite's tests.
 * The returned object is filled in once the `before` hook has run.
 */
export function useGatewayApp(env: () => Record<string, string> | Promise<Record<string, string>>): GatewayApp {
  const holder = {} as GatewayApp;
  before(async () => {
    holder.t = await startTestPlatform(await env());
    holder.app = await buildApp(holder.t.platform);
  });
  after(async () => {
    await holder.app?.close();
    await holder.t?.close();
  });
  return holder;
}
