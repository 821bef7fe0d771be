// Model registry: the port, its two adapters (MLflow, built-in PostgreSQL) and the service.
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { createBuiltinRegistry } from './builtin.js';
import { createMlflowRegistry } from './mlflow.js';
import type { RegistryPort } from './port.js';

export { createBuiltinRegistry } from './builtin.js';
export { createMlflowRegistry, type MlflowOptions } from './mlflow.js';
export { createRegistryService, type RegistryService, type RegistryServiceDeps, type PromoteResult, type RegistryEvent, type VersionRef, type WebhookResult } from './service.js';
export { signMlflowWebhook, verifyMlflowSignature } from './webhooks.js';
export { IDEMPOTENCY_TAG } from './port.js';
export type { ModelVersion, Page, RegisteredModel, RegistryPort, TenantRef, VersionStatus } from './port.js';
export * from './schema.js';

/** MLflow when MLFLOW_TRACKING_URI is set, else the built-in tables in Plinth's own database. */
export function createRegistryPort(config: Config, db: Database): RegistryPort {
  const m = config.mlflow;
  if (!m.trackingUri) return createBuiltinRegistry(db);
  return createMlflowRegistry({ trackingUri: m.trackingUri, token: m.token, username: m.username, password: m.password, timeoutMs: m.timeoutMs });
}
