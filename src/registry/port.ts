// The model registry port: what Plinth needs from a registry, whichever one holds the models.
// Two adapters answer it — MLflow's REST API (mlflow.ts) and built-in PostgreSQL tables
// (builtin.ts) — and one contract test suite (test/helpers/registry-contract.ts) runs against both.
//
// Every call names the tenant. Names in and out are the tenant's own (e.g. "churn"); how an
// adapter keeps tenants apart (row-level security, or a name prefix in MLflow) stays inside it.

export interface TenantRef {
  id: string;
  /** Immutable, unique, matches ^[a-z0-9][a-z0-9_-]{0,62}$ (no dot): safe as a name prefix. */
  name: string;
}

export type VersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';

export interface RegisteredModel {
  name: string;
  description: string;
  tags: Record<string, string>;
  /** alias → version number */
  aliases: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

export interface ModelVersion {
  name: string;
  version: number;
  source: string;
  runId: string | null;
  status: VersionStatus;
  description: string;
  tags: Record<string, string>;
  aliases: string[];
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. null on the last page. */
  nextPageToken: string | null;
}

export interface CreateModelInput {
  name: string;
  description?: string | undefined;
  tags?: Record<string, string> | undefined;
}

export interface CreateVersionInput {
  source: string;
  runId?: string | undefined;
  description?: string | undefined;
  tags?: Record<string, string> | undefined;
  /**
   * Stored as the version tag `plinth.idempotency_key`; a create repeating a key returns the
   * version that carries it instead of allocating a new one.
   */
  idempotencyKey?: string | undefined;
}

export interface SearchModelsInput {
  /** Case-insensitive substring of the model name. */
  query?: string | undefined;
  maxResults: number;
  pageToken?: string | undefined;
}

export interface SearchVersionsInput {
  maxResults: number;
  pageToken?: string | undefined;
}

export const IDEMPOTENCY_TAG = 'plinth.idempotency_key';

export interface RegistryPort {
  readonly kind: 'builtin' | 'mlflow';
  /** Where the registry lives, safe to print. */
  readonly location: string;

  /** Idempotent: an existing model is returned unchanged with created: false. */
  createModel(t: TenantRef, input: CreateModelInput): Promise<{ model: RegisteredModel; created: boolean }>;
  getModel(t: TenantRef, name: string): Promise<RegisteredModel>;
  /** Ordered by name. */
  searchModels(t: TenantRef, input: SearchModelsInput): Promise<Page<RegisteredModel>>;
  updateModel(t: TenantRef, name: string, input: { description: string }): Promise<RegisteredModel>;
  /** Deletes the model with its versions, aliases and tags. */
  deleteModel(t: TenantRef, name: string): Promise<void>;
  setModelTag(t: TenantRef, name: string, key: string, value: string): Promise<void>;
  deleteModelTag(t: TenantRef, name: string, key: string): Promise<void>;

  /** The model must exist. Version numbers start at 1 and are never reused. */
  createVersion(t: TenantRef, name: string, input: CreateVersionInput): Promise<{ version: ModelVersion; created: boolean }>;
  getVersion(t: TenantRef, name: string, version: number): Promise<ModelVersion>;
  /** Newest version first. */
  searchVersions(t: TenantRef, name: string, input: SearchVersionsInput): Promise<Page<ModelVersion>>;
  updateVersion(t: TenantRef, name: string, version: number, input: { description: string }): Promise<ModelVersion>;
  deleteVersion(t: TenantRef, name: string, version: number): Promise<void>;
  setVersionTag(t: TenantRef, name: string, version: number, key: string, value: string): Promise<void>;
  deleteVersionTag(t: TenantRef, name: string, version: number, key: string): Promise<void>;

  /** Points the alias at the version (moving it if it pointed elsewhere). */
  setAlias(t: TenantRef, name: string, alias: string, version: number): Promise<void>;
  deleteAlias(t: TenantRef, name: string, alias: string): Promise<void>;
  getVersionByAlias(t: TenantRef, name: string, alias: string): Promise<ModelVersion>;
  /** Where the version's artifacts can be downloaded from. */
  getDownloadUri(t: TenantRef, name: string, version: number): Promise<string>;

  close(): Promise<void>;
}
