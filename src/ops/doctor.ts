// `plinth doctor`: checks configuration, database, migrations, files and every optional
// dependency; says what is embedded and what is real, and how to fix what is wrong.
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { openDatabase } from '../db/index.js';
import { createEmbedder } from '../embeddings/index.js';
import { createLogger } from '../telemetry/logger.js';
import { checkDatabase, checkMigrations, checkOptional, type DependencyState } from './dependencies.js';

export interface DoctorReport {
  ok: boolean;
  checks: DependencyState[];
}

export async function runDoctor(config: Config): Promise<DoctorReport> {
  const checks: DependencyState[] = [
    { name: 'config', mode: 'embedded', required: true, ok: true, detail: config.database.url ? 'using DATABASE_URL' : `embedded defaults, data in ${config.dataDir}` },
  ];
  checks.push(checkDataDir(config));
  if (config.server.tls.certFile && config.server.tls.keyFile) checks.push(checkTls(config.server.tls.certFile, config.server.tls.keyFile));
  else checks.push({ name: 'tls', mode: 'embedded', required: false, ok: true, detail: 'plain HTTP (set TLS_CERT_FILE and TLS_KEY_FILE, or terminate TLS at the ingress)' });

  let db;
  try {
    db = await openDatabase(config, { allowAttach: true });
  } catch (err) {
    checks.push({
      name: 'database',
      mode: config.database.url ? 'external' : 'embedded',
      required: true,
      ok: false,
      detail: (err as Error).message,
      fix: config.database.url ? 'Check DATABASE_URL, network access and credentials.' : 'Check PLINTH_DATA_DIR is writable.',
    });
  }
  if (db) {
    try {
      const dbState = await checkDatabase(db);
      checks.push(dbState);
      if (dbState.ok) {
        checks.push(await checkMigrations(db));
        const vector = await db.withSystem((tx) => tx.query<{ v: string | null }>(`SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS v`));
        const available = await db.withSystem((tx) => tx.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`));
        const v = vector.rows[0]?.v;
        checks.push({
          name: 'pgvector',
          mode: db.mode === 'embedded' ? 'embedded' : 'external',
          required: false,
          ok: Boolean(v) || available.rowCount === 1,
          detail: v ? `vector ${v} installed` : available.rowCount === 1 ? 'available, not yet installed' : 'not available',
          ...(v || available.rowCount === 1 ? {} : { fix: 'Install pgvector on the PostgreSQL server (needed for agent memory).' }),
        });
      }
    } finally {
      await db.close();
    }
  }
  checks.push(...(await checkOptional(config)));
  checks.push(await checkEmbeddings(config));
  return { ok: checks.every((c) => c.ok || !c.required), checks };
}

async function checkEmbeddings(config: Config): Promise<DependencyState> {
  try {
    const embedder = await createEmbedder(config, createLogger({ level: 'silent' }));
    try {
      const low = embedder.quality === 'low';
      return {
        name: 'embeddings',
        mode: embedder.provider === 'hashing' || embedder.provider === 'local' ? 'embedded' : 'external',
        required: false,
        ok: !low,
        detail: `${embedder.provider}:${embedder.model} (${embedder.dimensions} dimensions)${low ? ' — LOW QUALITY: lexical hashing, no semantic similarity' : ''}`,
        ...(low ? { fix: 'Set OLLAMA_URL, OPENAI_BASE_URL or EMBEDDINGS_LOCAL_MODEL_DIR for semantic search, then run `plinth memory reembed`.' } : {}),
      };
    } finally {
      await embedder.close();
    }
  } catch (err) {
    return { name: 'embeddings', mode: 'external', required: true, ok: false, detail: (err as Error).message, fix: 'Check the EMBEDDINGS_* settings and that the provider is reachable.' };
  }
}

function checkDataDir(config: Config): DependencyState {
  const keyFile = path.join(config.dataDir, 'admin.key');
  try {
    const st = statSync(keyFile);
    const mode = st.mode & 0o777;
    if (mode & 0o077) {
      return { name: 'admin key file', mode: 'embedded', required: false, ok: false, location: keyFile, detail: `mode ${mode.toString(8)} lets other users read it`, fix: `chmod 600 ${keyFile}` };
    }
    return { name: 'admin key file', mode: 'embedded', required: false, ok: true, location: keyFile, detail: 'mode 600' };
  } catch {
    return { name: 'admin key file', mode: 'embedded', required: false, ok: true, location: keyFile, detail: 'absent (created on first start of an empty database)' };
  }
}

function checkTls(certFile: string, keyFile: string): DependencyState {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    readFileSync(keyFile);
    const validTo = new Date(cert.validTo);
    const days = Math.floor((validTo.getTime() - Date.now()) / 86_400_000);
    const ok = days > 0;
    return {
      name: 'tls',
      mode: 'external',
      required: true,
      ok,
      location: certFile,
      detail: `${cert.subject.replace(/\n/g, ', ')}; expires ${validTo.toISOString()} (${days} days)`,
      ...(ok ? {} : { fix: 'Renew the certificate; Plinth reloads it when the file changes.' }),
    };
  } catch (err) {
    return { name: 'tls', mode: 'external', required: true, ok: false, location: certFile, detail: (err as Error).message, fix: 'Check TLS_CERT_FILE and TLS_KEY_FILE point at readable PEM files.' };
  }
}
