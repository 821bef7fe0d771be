// Drift use cases, shared by the HTTP routes, the MCP tools, the CLI and scheduled workflows:
// run a check (stored with its result), create and read reference profiles, render a stored
// check as an HTML report, and append to the inference log that scheduled checks read.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Audit } from '../auth/index.js';
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { createReferenceProfile, type Reference } from './check.js';
import { runCheckParallel } from './parallel.js';
import type { Dataset } from './dataset.js';
import { profileSummary, type ReferenceProfile } from './profile.js';
import { insertInferences, readInferenceLog, readInline, type InferenceRecord } from './readers/index.js';
import { renderReport } from './report.js';
import { checkInput, profileInput, type CheckInput, type CheckResult, type DataInput, type ProfileInput } from './schema.js';
import * as store from './store.js';

type RecordAudit = (tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) => Promise<void>;

export interface DriftServiceDeps {
  db: Database;
  audit?: RecordAudit;
  logger?: Logger;
  /** Prometheus registry for plinth_drift_* metrics. */
  registry?: Registry;
}

/** A time window bound as an RFC 3339 string or a Date (scheduled workflows pass Dates). */
type When = string | Date;

/** What `check` accepts: the HTTP/MCP body, with Dates also allowed for inference-log windows. */
export type CheckRequest = Omit<CheckInput, 'current' | 'reference'> & {
  reference: Record<string, unknown>;
  current: Record<string, unknown> & { from?: When; to?: When };
};

export interface ProfileRecord {
  id: string;
  name: string;
  rows: number;
  created_at: string;
  created_by: string | null;
  summary: Record<string, unknown>;
  profile?: ReferenceProfile;
}

function normaliseDates<T extends Record<string, unknown>>(v: T): T {
  const out: Record<string, unknown> = { ...v };
  for (const k of ['from', 'to']) {
    const v = out[k];
    if (v instanceof Date) out[k] = v.toISOString();
  }
  return out as T;
}

interface DriftMetrics {
  checks: Counter<'outcome'>;
  duration: Histogram<'outcome'>;
  detected: Counter;
}

function driftMetrics(registry: Registry): DriftMetrics {
  const existing = registry.getSingleMetric('plinth_drift_checks_total');
  if (existing) {
    return {
      checks: existing as Counter<'outcome'>,
      duration: registry.getSingleMetric('plinth_drift_check_duration_seconds') as Histogram<'outcome'>,
      detected: registry.getSingleMetric('plinth_drift_detected_total') as Counter,
    };
  }
  return {
    checks: new Counter({ name: 'plinth_drift_checks_total', help: 'Drift checks run, by outcome (drift, no_drift, error).', labelNames: ['outcome'], registers: [registry] }),
    duration: new Histogram({
      name: 'plinth_drift_check_duration_seconds',
      help: 'Duration of drift checks (reading the data included), by outcome.',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    detected: new Counter({ name: 'plinth_drift_detected_total', help: 'Drift checks that found dataset drift.', registers: [registry] }),
  };
}

export type DriftService = ReturnType<typeof createDriftService>;

export function createDriftService(deps: DriftServiceDeps) {
  const { db } = deps;
  const metrics = deps.registry ? driftMetrics(deps.registry) : undefined;

  async function loadData(tenantId: string, input: DataInput): Promise<Dataset> {
    if ('source' in input) return db.withTenant(tenantId, (tx) => readInferenceLog(tx, input), { readOnly: true });
    return readInline(input);
  }

  async function loadProfile(tenantId: string, id: string): Promise<store.ProfileRow> {
    const row = await db.withTenant(tenantId, (tx) => store.getProfile(tx, id), { readOnly: true });
    if (!row) throw new PlinthError('DRIFT_PROFILE_NOT_FOUND', undefined, { profile_id: id });
    return row;
  }

  async function getCheck(tenantId: string, id: string): Promise<CheckResult> {
    const row = await db.withTenant(tenantId, (tx) => store.getCheck(tx, id), { readOnly: true });
    if (!row) throw new PlinthError('DRIFT_CHECK_NOT_FOUND', undefined, { check_id: id });
    return { ...row.result, id: row.id, name: row.name, created_at: row.created_at };
  }

  function describeSource(input: DataInput): Record<string, unknown> {
    return 'source' in input ? { ...input } : { source: 'inline' };
  }

  return {
    /** Run a drift check and store its result; returns the result with its id. */
    async check(tenantId: string, request: CheckRequest, audit: Audit): Promise<CheckResult> {
      const started = performance.now();
      let outcome = 'error';
      try {
        const input = checkInput.parse({ ...request, reference: normaliseDates(request.reference), current: normaliseDates(request.current) });
        const ref = input.reference;
        let reference: Reference;
        if ('profile_id' in ref || 'profileId' in ref) {
          const id = 'profile_id' in ref ? ref.profile_id : ref.profileId;
          reference = { kind: 'profile', profile: (await loadProfile(tenantId, id)).profile, id };
        } else {
          reference = { kind: 'data', data: await loadData(tenantId, ref) };
        }
        const current = await loadData(tenantId, input.current);
        const result = await runCheckParallel(reference, current, input.options ?? {});
        result.name = input.name ?? null;
        const saved = await db.withTenant(tenantId, async (tx) => {
          const row = await store.insertCheck(tx, tenantId, input.name ?? null, result, describeSource(input.current), audit.actor);
          await deps.audit?.(tx, tenantId, audit, 'drift.checked', row.id, {
            dataset_drift: result.dataset_drift,
            drifted_columns: result.drifted_columns,
            checked_columns: result.checked_columns,
          });
          return row;
        });
        outcome = result.dataset_drift ? 'drift' : 'no_drift';
        if (result.dataset_drift) metrics?.detected.inc();
        return { ...result, id: saved.id, created_at: saved.created_at };
      } finally {
        metrics?.checks.inc({ outcome });
        metrics?.duration.observe({ outcome }, (performance.now() - started) / 1000);
      }
    },

    /** Summarise reference data into a stored profile (no raw rows kept). */
    async createProfile(tenantId: string, request: ProfileInput, audit: Audit): Promise<ProfileRecord> {
      const input = profileInput.parse(request);
      const data = await loadData(tenantId, input.data);
      const profile = createReferenceProfile(data, { columns: input.columns, exclude: input.exclude, calibrate: input.calibrate });
      const row = await db.withTenant(tenantId, async (tx) => {
        const r = await store.insertProfile(tx, tenantId, input.name, profile, audit.actor);
        await deps.audit?.(tx, tenantId, audit, 'drift.profile_created', r.id, { name: input.name, rows: profile.rows, columns: Object.keys(profile.columns).length });
        return r;
      });
      return { id: row.id, name: row.name, rows: row.rows, created_at: row.created_at, created_by: row.created_by, summary: profileSummary(profile) };
    },

    /** A stored profile; with `full` the sketches and frozen bins too. */
    async getProfile(tenantId: string, id: string, options: { full?: boolean } = {}): Promise<ProfileRecord> {
      const row = await loadProfile(tenantId, id);
      return {
        id: row.id,
        name: row.name,
        rows: row.rows,
        created_at: row.created_at,
        created_by: row.created_by,
        summary: profileSummary(row.profile),
        ...(options.full ? { profile: row.profile } : {}),
      };
    },

    getCheck,

    /** The self-contained HTML report of a stored check. */
    async report(tenantId: string, id: string): Promise<string> {
      return renderReport(await getCheck(tenantId, id));
    },

    /** Append served inferences to the log that scheduled checks read (one transaction). */
    // High-volume and not an administrative act: not written to the audit log.
    async logInferences(tenantId: string, input: { model: string; records: InferenceRecord[] }): Promise<{ inserted: number }> {
      const inserted = await db.withTenant(tenantId, (tx) => insertInferences(tx, tenantId, input.model, input.records));
      return { inserted };
    },
  };
}
