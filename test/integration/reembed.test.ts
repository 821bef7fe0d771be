// Switching embedders never mixes vector spaces: vectors from the old space are invisible to
// vector search until `reembed` moves them into the new one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform } from '../../src/platform.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { ADAPTER, freshEnv, LogCapture } from '../helpers/platform.js';

describe(`re-embedding after an embedder switch (${ADAPTER})`, () => {
  it('keeps spaces apart, then moves everything into the new space', async () => {
    const env = await freshEnv();
    const logger = createLogger({ level: 'warn', destination: new LogCapture() });
    try {
      const first = await startPlatform(loadConfig({ env: { ...env.env, EMBEDDINGS_PROVIDER: 'hashing', EMBEDDINGS_DIMENSIONS: '384' } }), { logger });
      const tenant = await first.auth.getTenant('default');
      await first.memory.add(tenant.id, { memories: [{ text: 'the launch code is in the blue binder' }, { text: 'coffee machine on floor two' }] }, { actor: 'test' });
      await first.documents.ingest(tenant.id, { name: 'n.txt', content: 'The blue binder sits in the archive room.' }, { actor: 'test' });
      assert.equal(await first.memory.staleVectors(), 0);
      await first.close();

      const second = await startPlatform(loadConfig({ env: { ...env.env, EMBEDDINGS_PROVIDER: 'hashing', EMBEDDINGS_DIMENSIONS: '256' } }), { logger });
      try {
        assert.notEqual(second.memory.space.id, first.memory.space.id);
        assert.equal(await second.memory.staleVectors(), 3);
        const before = await second.memory.search(tenant.id, { query: 'where is the launch code', mode: 'vector' });
        assert.equal(before.length, 0, 'no comparison across vector spaces');
        const text = await second.memory.search(tenant.id, { query: 'launch code', mode: 'fulltext' });
        assert.equal(text.length, 1, 'full text still works meanwhile');

        const moved = await second.memory.reembed({ batchSize: 1 });
        assert.deepEqual(moved, { memories: 2, chunks: 1 });
        assert.equal(await second.memory.staleVectors(), 0);
        const after = await second.memory.search(tenant.id, { query: 'where is the launch code', mode: 'vector', k: 1 });
        assert.match(after[0]?.text ?? '', /launch code/);
        assert.equal(after[0]?.embedding_model, second.embedder.model);
        assert.deepEqual(await second.memory.reembed(), { memories: 0, chunks: 0 }, 'idempotent');
      } finally {
        await second.close();
      }
    } finally {
      await env.cleanup();
    }
  });
});
