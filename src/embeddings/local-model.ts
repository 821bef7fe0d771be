// A sentence-transformers model exported to ONNX, run with onnxruntime-web (WebAssembly) and
// tokenised with the model's own tokenizer.json, both from a local directory: nothing is ever
// fetched from a model hub. Pooling, truncation and normalisation follow sentence-transformers,
// so the vectors match the Python library's up to quantisation.
//
// The WebAssembly build of ONNX Runtime is used rather than the native binding because the
// native package downloads extra binaries when it is installed, which fails on machines without
// general internet access and bloats images; the WebAssembly build is a plain npm package.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PlinthError } from '../errors.js';

/** Where the model's parts live, and how its vectors are pooled. */
export interface LocalModelFiles {
  dir: string;
  modelFile: string;
  tokenizerFile: string;
  tokenizerConfig: Record<string, unknown>;
  pooling: 'mean' | 'cls';
  /** Longest token sequence (special tokens included) the model is run on; longer input is truncated. */
  maxTokens: number;
}

export interface LocalModel {
  readonly dimensions: number;
  /** Vectors in input order, pooled and L2-normalised. */
  embed(texts: readonly string[], batchSize: number): Promise<Float32Array[]>;
  release(): Promise<void>;
}

/** Layouts seen in the wild: sentence-transformers exports and Hugging Face `onnx/` folders. */
const MODEL_CANDIDATES = ['model.onnx', 'onnx/model.onnx', 'model_quantized.onnx', 'onnx/model_quantized.onnx', 'model_int8.onnx', 'onnx/model_int8.onnx'];
const DEFAULT_MAX_TOKENS = 512;

function unavailable(message: string): PlinthError {
  return new PlinthError('EMBEDDING_UNAVAILABLE', message, { provider: 'local' });
}

function readJson(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    throw unavailable(`Cannot parse ${file} as JSON.`);
  }
}

const positiveInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/** Finds the ONNX file, the tokenizer and the pooling settings in `dir`, or says what is missing. */
export function resolveLocalModel(dir: string): LocalModelFiles {
  const root = path.resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw unavailable(`The local embedding model directory ${root} does not exist.`);
  const modelFile = MODEL_CANDIDATES.map((c) => path.join(root, c)).find((f) => existsSync(f));
  if (!modelFile) throw unavailable(`No ONNX model in ${root}: expected one of ${MODEL_CANDIDATES.join(', ')}.`);
  const tokenizerFile = path.join(root, 'tokenizer.json');
  if (!existsSync(tokenizerFile)) throw unavailable(`No tokenizer.json in ${root}.`);

  const tokenizerConfig = readJson(path.join(root, 'tokenizer_config.json')) ?? {};
  const poolingConfig = readJson(path.join(root, '1_Pooling', 'config.json'));
  const sbertConfig = readJson(path.join(root, 'sentence_bert_config.json'));
  const modelConfig = readJson(path.join(root, 'config.json'));

  // sentence-transformers' own max_seq_length wins; the tokenizer's model_max_length is often a
  // huge sentinel, and the position-embedding table is the hard limit either way.
  const hardLimit = positiveInt(modelConfig?.max_position_embeddings) ?? DEFAULT_MAX_TOKENS;
  const tokenizerMax = positiveInt(tokenizerConfig.model_max_length);
  const wanted = positiveInt(sbertConfig?.max_seq_length) ?? (tokenizerMax !== undefined && tokenizerMax <= 100_000 ? tokenizerMax : DEFAULT_MAX_TOKENS);
  const pooling = poolingConfig?.pooling_mode_cls_token === true && poolingConfig.pooling_mode_mean_tokens !== true ? 'cls' : 'mean';
  return { dir: root, modelFile, tokenizerFile, tokenizerConfig, pooling, maxTokens: Math.min(wanted, hardLimit) };
}

// The tokenizer package's bundled declarations do not resolve under NodeNext module resolution,
// so the small part used here is typed locally.
interface Tokenizer {
  encode(text: string): { ids: number[] };
}
type TokenizerConstructor = new (tokenizerJson: object, tokenizerConfig: object) => Tokenizer;

/**
 * Loads the model. The runtime and tokenizer libraries are imported here, not at module load, so
 * processes that never use the local model do not pay for them.
 */
export async function loadLocalModel(files: LocalModelFiles, options: { threads: number }): Promise<LocalModel> {
  const [ort, tokenizers] = await Promise.all([import('onnxruntime-web'), import('@huggingface/tokenizers')]);
  const Tokenizer = (tokenizers as unknown as { Tokenizer: TokenizerConstructor }).Tokenizer;
  ort.env.wasm.numThreads = options.threads;
  ort.env.logLevel = 'error';

  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(JSON.parse(readFileSync(files.tokenizerFile, 'utf8')) as object, files.tokenizerConfig);
  } catch (err) {
    throw new PlinthError('EMBEDDING_UNAVAILABLE', `Cannot load the tokenizer ${files.tokenizerFile}: ${(err as Error).message}`, { provider: 'local' }, { cause: err });
  }
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(readFileSync(files.modelFile), { graphOptimizationLevel: 'all' });
  } catch (err) {
    throw new PlinthError('EMBEDDING_UNAVAILABLE', `Cannot load the ONNX model ${files.modelFile}: ${(err as Error).message}`, { provider: 'local' }, { cause: err });
  }
  for (const required of ['input_ids', 'attention_mask']) {
    if (!session.inputNames.includes(required)) {
      await session.release();
      throw unavailable(`The ONNX model ${files.modelFile} has no '${required}' input (inputs: ${session.inputNames.join(', ')}).`);
    }
  }
  const wantsTypeIds = session.inputNames.includes('token_type_ids');
  // Prefer an already-pooled output; otherwise pool the token embeddings ourselves.
  const pooledOutput = session.outputNames.find((n) => n === 'sentence_embedding');
  const tokenOutput = session.outputNames.find((n) => n === 'last_hidden_state' || n === 'token_embeddings') ?? session.outputNames[0];
  if (!pooledOutput && !tokenOutput) {
    await session.release();
    throw unavailable(`The ONNX model ${files.modelFile} has no outputs.`);
  }

  const encode = (text: string): number[] => {
    const { ids } = tokenizer.encode(text);
    if (ids.length <= files.maxTokens) return ids;
    // Keep the leading special token(s) and the closing one, as sentence-transformers' truncation does.
    return [...ids.slice(0, files.maxTokens - 1), ids[ids.length - 1]!];
  };

  async function runBatch(batch: number[][]): Promise<Float32Array[]> {
    const rows = batch.length;
    const width = Math.max(...batch.map((ids) => ids.length));
    const ids = new BigInt64Array(rows * width);
    const mask = new BigInt64Array(rows * width);
    batch.forEach((seq, r) => {
      for (let i = 0; i < seq.length; i++) {
        ids[r * width + i] = BigInt(seq[i]!);
        mask[r * width + i] = 1n;
      }
    });
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      input_ids: new ort.Tensor('int64', ids, [rows, width]),
      attention_mask: new ort.Tensor('int64', mask, [rows, width]),
    };
    if (wantsTypeIds) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(rows * width), [rows, width]);
    const outputs = await session.run(feeds);
    try {
      if (pooledOutput) {
        const t = outputs[pooledOutput]!;
        const dims = t.dims[t.dims.length - 1]!;
        const data = t.data as Float32Array;
        return batch.map((_, r) => normalise(data.slice(r * dims, (r + 1) * dims)));
      }
      const t = outputs[tokenOutput!]!;
      if (t.dims.length !== 3) throw unavailable(`The ONNX model output '${tokenOutput}' has shape [${t.dims.join(', ')}]; expected [batch, tokens, dimensions].`);
      const dims = t.dims[2]!;
      const data = t.data as Float32Array;
      return batch.map((seq, r) => {
        const v = new Float32Array(dims);
        if (files.pooling === 'cls') {
          v.set(data.subarray(r * width * dims, r * width * dims + dims));
        } else {
          // Mean over real tokens only; padding positions are excluded by the attention mask.
          for (let i = 0; i < seq.length; i++) {
            const offset = (r * width + i) * dims;
            for (let d = 0; d < dims; d++) v[d]! += data[offset + d]!;
          }
          for (let d = 0; d < dims; d++) v[d] = v[d]! / seq.length;
        }
        return normalise(v);
      });
    } finally {
      for (const value of Object.values(outputs)) value.dispose();
    }
  }

  async function embed(texts: readonly string[], batchSize: number): Promise<Float32Array[]> {
    const encoded = texts.map(encode);
    // Batches of similar length waste little work on padding; results go back in input order.
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
    const out = new Array<Float32Array>(texts.length);
    for (let start = 0; start < order.length; start += batchSize) {
      const slice = order.slice(start, start + batchSize);
      const vectors = await runBatch(slice.map((i) => encoded[i]!));
      slice.forEach((i, k) => (out[i] = vectors[k]!));
    }
    return out;
  }

  const [probe] = await embed(['dimension probe'], 1);
  return {
    dimensions: probe!.length,
    embed,
    release: () => session.release(),
  };
}

function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}
