// Reading a local model directory: which files are used, pooling and sequence length from the
// sentence-transformers settings, and clear errors for incomplete or corrupt directories. The
// real model is exercised in test/services/embeddings-local.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLocalEmbedder } from '../../src/embeddings/index.js';
import { resolveLocalModel } from '../../src/embeddings/local-model.js';
import { expectCode } from '../helpers/embedder-contract.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'plinth-local-model-'));

function modelDir(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

describe('resolveLocalModel', () => {
  it('reads a sentence-transformers export: mean pooling, max_seq_length, tokenizer settings', () => {
    const dir = modelDir('st', {
      'model.onnx': 'x',
      'tokenizer.json': '{}',
      'tokenizer_config.json': JSON.stringify({ do_lower_case: true, model_max_length: 512 }),
      'sentence_bert_config.json': JSON.stringify({ max_seq_length: 256 }),
      'config.json': JSON.stringify({ max_position_embeddings: 512 }),
      '1_Pooling/config.json': JSON.stringify({ pooling_mode_mean_tokens: true, pooling_mode_cls_token: false }),
    });
    const files = resolveLocalModel(dir);
    assert.equal(files.modelFile, path.join(dir, 'model.onnx'));
    assert.equal(files.pooling, 'mean');
    assert.equal(files.maxTokens, 256);
    assert.deepEqual(files.tokenizerConfig, { do_lower_case: true, model_max_length: 512 });
  });

  it('finds onnx/model_quantized.onnx, honours CLS pooling and caps length at the position table', () => {
    const dir = modelDir('hf', {
      'onnx/model_quantized.onnx': 'x',
      'tokenizer.json': '{}',
      'tokenizer_config.json': JSON.stringify({ model_max_length: 1e30 }),
      'config.json': JSON.stringify({ max_position_embeddings: 384 }),
      '1_Pooling/config.json': JSON.stringify({ pooling_mode_cls_token: true }),
    });
    const files = resolveLocalModel(dir);
    assert.equal(files.modelFile, path.join(dir, 'onnx', 'model_quantized.onnx'));
    assert.equal(files.pooling, 'cls');
    assert.equal(files.maxTokens, 384, 'a sentinel model_max_length is ignored; the position table caps');
  });

  it('says what is missing', () => {
    assert.throws(() => resolveLocalModel(path.join(root, 'nowhere')), /does not exist/);
    assert.throws(() => resolveLocalModel(modelDir('no-onnx', { 'tokenizer.json': '{}' })), /No ONNX model in .*expected one of model\.onnx/);
    assert.throws(() => resolveLocalModel(modelDir('no-tok', { 'model.onnx': 'x' })), /No tokenizer\.json/);
    assert.throws(() => resolveLocalModel(modelDir('bad-json', { 'model.onnx': 'x', 'tokenizer.json': '{}', 'config.json': '{' })), /Cannot parse .*config\.json/);
  });
});

describe('createLocalEmbedder with a broken directory', () => {
  const tokenizer = JSON.stringify({
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: { '[UNK]': 0, hello: 1 }, unk_token: '[UNK]' },
  });

  it('fails with PLINTH_EMBEDDING_UNAVAILABLE naming a corrupt model file', async () => {
    const dir = modelDir('corrupt-model', { 'model.onnx': 'definitely not protobuf', 'tokenizer.json': tokenizer });
    const err = await expectCode(createLocalEmbedder({ modelDir: dir, threads: 1 }), 'PLINTH_EMBEDDING_UNAVAILABLE');
    assert.ok(err.message.startsWith(`The local embedding model in ${dir} is unavailable: Cannot load the ONNX model ${path.join(dir, 'model.onnx')}`), err.message);
    assert.deepEqual(err.extra, { provider: 'local' });
  });

  it('fails with PLINTH_EMBEDDING_UNAVAILABLE naming a tokenizer it cannot use', async () => {
    const dir = modelDir('corrupt-tokenizer', { 'model.onnx': 'x', 'tokenizer.json': JSON.stringify({ model: { type: 'Nonsense' } }) });
    const err = await expectCode(createLocalEmbedder({ modelDir: dir, threads: 1 }), 'PLINTH_EMBEDDING_UNAVAILABLE');
    assert.ok(err.message.includes(`Cannot load the tokenizer ${path.join(dir, 'tokenizer.json')}`), err.message);
  });
});
