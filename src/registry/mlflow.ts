// The MLflow registry adapter: MLflow's REST API 2.0 over fetch, with a timeout per call and a
// bearer or basic credential when configured.
//
// Tenancy: MLflow has no tenants, so every registered model a tenant owns is named
// "<tenant name>.<model name>" in MLflow. Tenant names never contain a dot, so the first dot
// separates the two unambiguously; every answer is checked against the prefix before it is
// returned, and names outside it are never shown (MLflow's LIKE treats "_" in a tenant name as
// a wildcard, so the server-side filter alone would not be enough).
import { maskUrl, type Secret } from '../config/index.js';
import { PlinthError, isPlinthError } from '../errors.js';
import {
  IDEMPOTENCY_TAG,
  type CreateModelInput,
  type CreateVersionInput,
  type ModelVersion,
  type Page,
  type RegisteredModel,
  type RegistryPort,
  type TenantRef,
  type VersionStatus,
} from './port.js';

export interface MlflowOptions {
  trackingUri: string;
  token?: Secret | undefined;
  username?: string | undefined;
  password?: Secret | undefined;
  timeoutMs: number;
  fetch?: typeof fetch;
}

interface MlflowTag {
  key: string;
  value?: string;
}

interface MlflowModel {
  name: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  description?: string;
  tags?: MlflowTag[];
  aliases?: Array<{ alias: string; version: string }>;
}

interface MlflowVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  source?: string;
  run_id?: string;
  status?: string;
  description?: string;
  tags?: MlflowTag[];
  aliases?: string[];
}

const API = '/api/2.0/mlflow';
const STATUSES = new Set<VersionStatus>(['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY']);

/** The MLflow error codes Plinth maps; any other 4xx becomes REGISTRY_FAILED. */
class MlflowApiError extends Error {
  constructor(
    readonly errorCode: string,
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

function tagsOf(list: MlflowTag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list ?? []) out[t.key] = t.value ?? '';
  return out;
}

function tagList(tags: Record<string, string> | undefined): MlflowTag[] {
  return Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));
}

function iso(ms: number | string | undefined): string {
  const n = Number(ms ?? 0);
  return new Date(Number.isFinite(n) ? n : 0).toISOString();
}

/** Single quotes cannot occur in validated names and keys; refuse rather than build a broken filter. */
function quote(value: string): string {
  if (value.includes("'")) throw new PlinthError('VALIDATION_FAILED', 'Quotes are not allowed here.');
  return `'${value}'`;
}

export function createMlflowRegistry(options: MlflowOptions): RegistryPort {
  const base = options.trackingUri.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token.reveal()}`;
  else if (options.username && options.password) {
    headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password.reveal()}`).toString('base64')}`;
  }

  async function call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body: Record<string, string | number | boolean | undefined | MlflowTag[]>): Promise<T> {
    let url = `${base}${API}${path}`;
    const init: RequestInit = { method, headers: { ...headers }, signal: AbortSignal.timeout(options.timeoutMs) };
    if (method === 'GET') {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) if (v !== undefined && !Array.isArray(v)) q.set(k, String(v));
      url += `?${q.toString()}`;
    } else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await doFetch(url, init);
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new PlinthError(
        'REGISTRY_UNAVAILABLE',
        timedOut ? `MLflow did not answer within ${options.timeoutMs} ms.` : 'MLflow cannot be reached.',
        { registry: maskUrl(base) },
        { cause: err },
      );
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = undefined;
    }
    if (res.ok) {
      if (json === undefined || typeof json !== 'object' || json === null) throw new PlinthError('REGISTRY_FAILED', 'MLflow answered with something other than JSON.');
      return json as T;
    }
    const e = (json ?? {}) as { error_code?: unknown; message?: unknown };
    if (typeof e.error_code === 'string' && res.status < 500) {
      throw new MlflowApiError(e.error_code, res.status, typeof e.message === 'string' ? e.message : '');
    }
    if (res.status === 401 || res.status === 403) {
      throw new PlinthError('REGISTRY_FAILED', `MLflow refused Plinth's credentials (HTTP ${res.status}); check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD.`);
    }
    if (res.status === 503 || res.status === 502 || res.status === 504 || res.status === 429) {
      throw new PlinthError('REGISTRY_UNAVAILABLE', `MLflow is unavailable (HTTP ${res.status}).`);
    }
    throw new PlinthError('REGISTRY_FAILED', `MLflow answered HTTP ${res.status}.`);
  }

  const prefix = (t: TenantRef) => `${t.name}.`;
  const full = (t: TenantRef, name: string) => `${prefix(t)}${name}`;
  const local = (t: TenantRef, mlflowName: string) => mlflowName.slice(prefix(t).length);
  const owns = (t: TenantRef, mlflowName: unknown) => typeof mlflowName === 'string' && mlflowName.startsWith(prefix(t)) && mlflowName.length > prefix(t).length;

  function toModel(t: TenantRef, m: MlflowModel): RegisteredModel {
    if (!owns(t, m.name)) throw new PlinthError('REGISTRY_FAILED', 'MLflow answered with a model outside the tenant namespace.');
    const aliases: Record<string, number> = {};
    for (const a of m.aliases ?? []) aliases[a.alias] = Number(a.version);
    return {
      name: local(t, m.name),
      description: m.description ?? '',
      tags: tagsOf(m.tags),
      aliases,
      createdAt: iso(m.creation_timestamp),
      updatedAt: iso(m.last_updated_timestamp ?? m.creation_timestamp),
    };
  }

  function toVersion(t: TenantRef, v: MlflowVersion): ModelVersion {
    if (!owns(t, v.name)) throw new PlinthError('REGISTRY_FAILED', 'MLflow answered with a model outside the tenant namespace.');
    const status = (v.status ?? 'READY') as VersionStatus;
    return {
      name: local(t, v.name),
      version: Number(v.version),
      source: v.source ?? '',
      runId: v.run_id ? v.run_id : null,
      status: STATUSES.has(status) ? status : 'READY',
      description: v.description ?? '',
      tags: tagsOf(v.tags),
      aliases: [...(v.aliases ?? [])].sort(),
      createdAt: iso(v.creation_timestamp),
    };
  }

  /** Map an MLflow error to the catalogue; `missing` names what a RESOURCE_DOES_NOT_EXIST means here. */
  async function mapped<T>(t: TenantRef, work: () => Promise<T>, missing: () => Promise<PlinthError> | PlinthError): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof MlflowApiError)) throw err;
      const detail = err.message.split(prefix(t)).join('');
      switch (err.errorCode) {
        case 'RESOURCE_DOES_NOT_EXIST':
          throw await missing();
        case 'RESOURCE_ALREADY_EXISTS':
          throw new PlinthError('CONFLICT', detail || undefined);
        case 'INVALID_PARAMETER_VALUE':
        case 'INVALID_PARAMETER':
        case 'INVALID_STATE':
          throw new PlinthError('VALIDATION_FAILED', detail || undefined);
        case 'PERMISSION_DENIED':
        case 'UNAUTHENTICATED':
          throw new PlinthError('REGISTRY_FAILED', "MLflow refused Plinth's credentials; check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD.");
        default:
          throw new PlinthError('REGISTRY_FAILED', `MLflow answered ${err.errorCode} (HTTP ${err.httpStatus}).`);
      }
    }
  }

  const modelMissing = (name: string) => new PlinthError('REGISTERED_MODEL_NOT_FOUND', `No registered model "${name}".`, { model: name });

  /** A version-level "does not exist" is the model's when the model is gone, else the version's. */
  function versionMissing(t: TenantRef, name: string, version: number) {
    return async () => {
      try {
        await port.getModel(t, name);
      } catch (err) {
        if (isPlinthError(err, 'REGISTERED_MODEL_NOT_FOUND')) return err;
        throw err;
      }
      return new PlinthError('MODEL_VERSION_NOT_FOUND', `Model "${name}" has no version ${version}.`, { model: name, version });
    };
  }

  async function versionsWithKey(t: TenantRef, name: string, key: string): Promise<ModelVersion[]> {
    const r = await call<{ model_versions?: MlflowVersion[] }>('GET', '/model-versions/search', {
      filter: `name = ${quote(full(t, name))} AND tags.\`${IDEMPOTENCY_TAG}\` = ${quote(key)}`,
      order_by: 'version_number ASC',
      max_results: 100,
    });
    return (r.model_versions ?? []).filter((v) => v.name === full(t, name)).map((v) => toVersion(t, v));
  }

  const port: RegistryPort = {
    kind: 'mlflow',
    location: maskUrl(base),

    async createModel(t: TenantRef, input: CreateModelInput) {
      try {
        const r = await call<{ registered_model: MlflowModel }>('POST', '/registered-models/create', {
          name: full(t, input.name),
          description: input.description ?? '',
          tags: tagList(input.tags),
        });
        return { model: toModel(t, r.registered_model), created: true };
      } catch (err) {
        // Idempotent create: a concurrent or repeated create finds the model and returns it.
        if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') return { model: await port.getModel(t, input.name), created: false };
        return mapped(
          t,
          () => Promise.reject(err as Error),
          () => modelMissing(input.name),
        );
      }
    },

    getModel(t, name) {
      return mapped(
        t,
        async () => toModel(t, (await call<{ registered_model: MlflowModel }>('GET', '/registered-models/get', { name: full(t, name) })).registered_model),
        () => modelMissing(name),
      );
    },

    async searchModels(t, input): Promise<Page<RegisteredModel>> {
      const needle = input.query?.toLowerCase();
      // "_" and "%" are LIKE wildcards: the server filter narrows, the check below decides.
      const pattern = needle ? `${prefix(t)}%${needle}%` : `${prefix(t)}%`;
      let token = input.pageToken;
      // A page can come back empty after the namespace check; keep going until something or the end.
      for (;;) {
        const r = await mapped(
          t,
          () =>
            call<{ registered_models?: MlflowModel[]; next_page_token?: string }>('GET', '/registered-models/search', {
              filter: `name ${needle ? 'ILIKE' : 'LIKE'} ${quote(pattern)}`,
              max_results: input.maxResults,
              order_by: 'name ASC',
              page_token: token,
            }),
          () => new PlinthError('VALIDATION_FAILED', 'page_token is not valid.'),
        );
        const items = (r.registered_models ?? [])
          .filter((m) => owns(t, m.name) && (!needle || local(t, m.name).toLowerCase().includes(needle)))
          .map((m) => toModel(t, m));
        const next = r.next_page_token ? r.next_page_token : null;
        if (items.length > 0 || next === null) return { items, nextPageToken: next };
        token = next;
      }
    },

    updateModel(t, name, input) {
      return mapped(
        t,
        async () =>
          toModel(t, (await call<{ registered_model: MlflowModel }>('PATCH', '/registered-models/update', { name: full(t, name), description: input.description })).registered_model),
        () => modelMissing(name),
      ).then(() => port.getModel(t, name));
    },

    async deleteModel(t, name) {
      await mapped(
        t,
        () => call('DELETE', '/registered-models/delete', { name: full(t, name) }),
        () => modelMissing(name),
      );
    },

    async setModelTag(t, name, key, value) {
      await mapped(
        t,
        () => call('POST', '/registered-models/set-tag', { name: full(t, name), key, value }),
        () => modelMissing(name),
      );
    },

    async deleteModelTag(t, name, key) {
      await mapped(
        t,
        () => call('DELETE', '/registered-models/delete-tag', { name: full(t, name), key }),
        () => modelMissing(name),
      );
    },

    async createVersion(t: TenantRef, name: string, input: CreateVersionInput) {
      const key = input.idempotencyKey;
      if (key !== undefined) {
        const existing = await mapped(
          t,
          () => versionsWithKey(t, name, key),
          () => modelMissing(name),
        );
        if (existing[0]) return { version: existing[0], created: false };
      }
      const tags = { ...input.tags, ...(key !== undefined ? { [IDEMPOTENCY_TAG]: key } : {}) };
      const created = await mapped(
        t,
        async () =>
          toVersion(
            t,
            (
              await call<{ model_version: MlflowVersion }>('POST', '/model-versions/create', {
                name: full(t, name),
                source: input.source,
                // MLflow 3 logged models (models:/m-<id>) must name their model id as well.
                ...(/^models:\/m-[0-9a-f]+$/.test(input.source) ? { model_id: input.source.slice('models:/'.length) } : {}),
                run_id: input.runId,
                description: input.description ?? '',
                tags: tagList(tags),
              })
            ).model_version,
          ),
        () => modelMissing(name),
      );
      if (key === undefined) return { version: created, created: true };
      // MLflow cannot make check-then-create atomic. Two racing creates with one key both land;
      // afterwards the lowest version carrying the key wins and the loser removes its own.
      const holders = await versionsWithKey(t, name, key);
      const winner = holders[0];
      if (winner && winner.version !== created.version) {
        await port.deleteVersion(t, name, created.version).catch(() => undefined);
        return { version: winner, created: false };
      }
      return { version: created, created: true };
    },

    getVersion(t, name, version) {
      return mapped(
        t,
        async () => toVersion(t, (await call<{ model_version: MlflowVersion }>('GET', '/model-versions/get', { name: full(t, name), version })).model_version),
        versionMissing(t, name, version),
      );
    },

    async searchVersions(t, name, input): Promise<Page<ModelVersion>> {
      const r = await mapped(
        t,
        () =>
          call<{ model_versions?: MlflowVersion[]; next_page_token?: string }>('GET', '/model-versions/search', {
            filter: `name = ${quote(full(t, name))}`,
            max_results: input.maxResults,
            order_by: 'version_number DESC',
            page_token: input.pageToken,
          }),
        () => new PlinthError('VALIDATION_FAILED', 'page_token is not valid.'),
      );
      const items = (r.model_versions ?? []).filter((v) => v.name === full(t, name)).map((v) => toVersion(t, v));
      // Searching an unknown model finds nothing in MLflow; the contract says "no such model".
      if (items.length === 0 && input.pageToken === undefined) await port.getModel(t, name);
      return { items, nextPageToken: r.next_page_token ? r.next_page_token : null };
    },

    updateVersion(t, name, version, input) {
      return mapped(
        t,
        () => call('PATCH', '/model-versions/update', { name: full(t, name), version: String(version), description: input.description }),
        versionMissing(t, name, version),
      ).then(() => port.getVersion(t, name, version));
    },

    async deleteVersion(t, name, version) {
      await mapped(
        t,
        () => call('DELETE', '/model-versions/delete', { name: full(t, name), version: String(version) }),
        versionMissing(t, name, version),
      );
    },

    async setVersionTag(t, name, version, key, value) {
      await mapped(
        t,
        () => call('POST', '/model-versions/set-tag', { name: full(t, name), version: String(version), key, value }),
        versionMissing(t, name, version),
      );
    },

    async deleteVersionTag(t, name, version, key) {
      await mapped(
        t,
        () => call('DELETE', '/model-versions/delete-tag', { name: full(t, name), version: String(version), key }),
        versionMissing(t, name, version),
      );
    },

    async setAlias(t, name, alias, version) {
      await mapped(
        t,
        () => call('POST', '/registered-models/alias', { name: full(t, name), alias, version: String(version) }),
        versionMissing(t, name, version),
      );
    },

    async deleteAlias(t, name, alias) {
      await mapped(
        t,
        () => call('DELETE', '/registered-models/alias', { name: full(t, name), alias }),
        () => modelMissing(name),
      );
    },

    getVersionByAlias(t, name, alias) {
      const missing = async () => {
        try {
          await port.getModel(t, name);
        } catch (err) {
          if (isPlinthError(err, 'REGISTERED_MODEL_NOT_FOUND')) return err;
          throw err;
        }
        return new PlinthError('MODEL_ALIAS_NOT_FOUND', `Model "${name}" has no alias "${alias}".`, { model: name, alias });
      };
      return mapped(
        t,
        async () => {
          try {
            return toVersion(t, (await call<{ model_version: MlflowVersion }>('GET', '/registered-models/alias', { name: full(t, name), alias })).model_version);
          } catch (err) {
            // MLflow answers an unknown alias of a known model with INVALID_PARAMETER_VALUE, not
            // RESOURCE_DOES_NOT_EXIST; the alias was validated before the call, so it means "missing".
            if (err instanceof MlflowApiError && err.errorCode === 'INVALID_PARAMETER_VALUE') throw await missing();
            throw err;
          }
        },
        missing,
      );
    },

    getDownloadUri(t, name, version) {
      return mapped(
        t,
        async () => {
          const r = await call<{ artifact_uri?: unknown }>('GET', '/model-versions/get-download-uri', { name: full(t, name), version });
          if (typeof r.artifact_uri !== 'string') throw new PlinthError('REGISTRY_FAILED', 'MLflow answered without an artifact_uri.');
          return r.artifact_uri;
        },
        versionMissing(t, name, version),
      );
    },

    close() {
      return Promise.resolve();
    },
  };
  return port;
}
