// Liveness (the process answers) and readiness (it can do useful work). No credentials.
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Platform } from '../../platform.js';
import { checkDatabase, checkMigrations, checkOptional, type DependencyState } from '../../ops/dependencies.js';

const dependency = z.object({
  name: z.string(),
  mode: z.enum(['embedded', 'external']),
  required: z.boolean(),
  ok: z.boolean(),
  location: z.string().optional(),
  latency_ms: z.number().optional(),
  detail: z.string().optional(),
  fix: z.string().optional(),
});

const readyBody = z.object({ status: z.enum(['ok', 'fail']), checks: z.array(dependency) });

export const healthRoutes: FastifyPluginCallbackZod<{ platform: Platform; isDraining: () => boolean }> = (app, { platform, isDraining }, done) => {
  app.get(
    '/livez',
    {
      config: { public: true },
      schema: { tags: ['health'], summary: 'Liveness: the process is up.', response: { 200: z.object({ status: z.literal('ok') }) } },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Readiness: database reachable, migrations current, and the state of each dependency.',
        response: { 200: readyBody, 503: readyBody },
      },
    },
    async (_request, reply) => {
      const [database, migrations, optional] = await Promise.all([
        checkDatabase(platform.db),
        checkMigrations(platform.db),
        checkOptional(platform.config),
      ]);
      const e = platform.embedder;
      const embeddings: DependencyState = {
        name: 'embeddings',
        mode: e.provider === 'hashing' || e.provider === 'local' ? ('embedded' as const) : ('external' as const),
        required: false,
        ok: true,
        detail:
          `${e.provider}:${e.model} (${e.dimensions} dimensions)` +
          (e.quality === 'low' ? ' — LOW QUALITY: lexical hashing, no semantic similarity; configure OLLAMA_URL, OPENAI_BASE_URL or EMBEDDINGS_LOCAL_MODEL_DIR' : ''),
      };
      const checks = [database, migrations, ...optional, embeddings];
      if (isDraining()) checks.push({ name: 'server', mode: 'embedded', required: true, ok: false, detail: 'shutting down' } satisfies DependencyState);
      const ok = checks.every((c) => c.ok || !c.required);
      // This endpoint is unauthenticated: no locations, and no error text (it can name hosts).
      // `plinth doctor` shows everything to an operator.
      const visible = checks.map(({ location: _location, fix: _fix, detail, ...c }) => ({ ...c, ...(detail !== undefined ? { detail: c.ok ? detail : 'unavailable' } : {}) }));
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'fail', checks: visible });
    },
  );
  done();
};
