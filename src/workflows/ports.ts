// What the workflows need from other domains: the model registry (versions, the champion
// alias) and drift checks. Narrow ports, so the workflows do not depend on how those services
// are built; the composition root adapts the real services to them (adaptRegistry, adaptDrift).
import type { Audit } from '../auth/index.js';
import { isPlinthError } from '../errors.js';

export interface VersionRef {
  version: number;
  runId: string | null;
  tags: Record<string, string>;
}

export interface CreateVersionRequest {
  name: string;
  source: string;
  runId?: string | undefined;
  description?: string | undefined;
  tags: Record<string, string>;
  /** A repeated create with the same key returns the first version. */
  idempotencyKey: string;
}

export interface ModelRegistry {
  createVersion(tenantId: string, input: CreateVersionRequest, audit: Audit): Promise<VersionRef>;
  /** The version the alias points at, or null when the model or alias does not exist. */
  getAlias(tenantId: string, name: string, alias: string): Promise<VersionRef | null>;
  /** Idempotent: moving an alias to where it already points changes nothing. */
  promote(tenantId: string, name: string, version: number, alias: string, audit: Audit): Promise<void>;
}

export interface DriftOutcome {
  id: string;
  datasetDrift: boolean;
  /** Share (0..1) of checked columns that drifted. */
  driftedShare: number;
}

export interface DriftChecker {
  check(tenantId: string, input: { profileId: string; model: string; from: string; to: string }, audit: Audit): Promise<DriftOutcome>;
}

type Loose = Record<string, unknown>;

function versionRef(v: Loose): VersionRef {
  return { version: Number(v.version), runId: (v.runId ?? v.run_id ?? null) as string | null, tags: (v.tags ?? {}) as Record<string, string> };
}

/**
 * Adapts the registry service (createVersion / getVersion / promote) to the port. The service's
 * objects are read by field name, so either camelCase or snake_case shapes are accepted.
 */
export function adaptRegistry(service: {
  createVersion(tenantId: string, input: Loose, audit: Audit): Promise<unknown>;
  getVersion(tenantId: string, name: string, which: { alias: string }): Promise<unknown>;
  promote(tenantId: string, name: string, version: number, opts: { alias: string }, audit: Audit): Promise<unknown>;
}): ModelRegistry {
  return {
    async createVersion(tenantId, input, audit) {
      const created = (await service.createVersion(
        tenantId,
        {
          name: input.name,
          source: input.source,
          ...(input.runId ? { run_id: input.runId } : {}),
          ...(input.description ? { description: input.description } : {}),
          tags: input.tags,
          idempotency_key: input.idempotencyKey,
        },
        audit,
      )) as Loose;
      return versionRef((created.version && typeof created.version === 'object' ? created.version : created) as Loose);
    },
    async getAlias(tenantId, name, alias) {
      try {
        return versionRef((await service.getVersion(tenantId, name, { alias })) as Loose);
      } catch (err) {
        if (isPlinthError(err) && /NOT_FOUND$/.test(err.code)) return null;
        throw err;
      }
    },
    async promote(tenantId, name, version, alias, audit) {
      await service.promote(tenantId, name, version, { alias }, audit);
    },
  };
}

/** Adapts the drift service's check to the port. */
export function adaptDrift(service: { check(tenantId: string, input: Loose, audit: Audit): Promise<unknown> }): DriftChecker {
  return {
    async check(tenantId, input, audit) {
      const r = (await service.check(tenantId, { reference: { profile_id: input.profileId }, current: { source: 'inference_log', model: input.model, from: input.from, to: input.to } }, audit)) as Loose;
      const share = r.share_drifted ?? r.driftedShare ?? r.drifted_share;
      return { id: String(r.id), datasetDrift: Boolean(r.dataset_drift ?? r.datasetDrift), driftedShare: Number(share) };
    },
  };
}
