-- Drift monitors and retraining runs. The workflow engine (DBOS) keeps its own bookkeeping
-- (workflow status, step checkpoints, queues, schedules) in its system schema, `dbos` by
-- default; these tables are Plinth's view of the same work, per tenant and under RLS.

-- A monitor: which model to watch, against which reference profile, how often (cron), when
-- to call the drift significant, and what to do then.
CREATE TABLE monitors (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name             text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  model            text NOT NULL,
  profile_id       uuid NOT NULL,
  schedule         text NOT NULL,
  window_minutes   integer NOT NULL CHECK (window_minutes BETWEEN 1 AND 525600),
  threshold        double precision NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
  retrain          jsonb,
  enabled          boolean NOT NULL DEFAULT true,
  last_checked_at  timestamptz,
  last_outcome     text,
  last_drift_share double precision,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);
-- The tick scans enabled monitors of every tenant.
CREATE INDEX monitors_enabled ON monitors (enabled) WHERE enabled;

-- One row per scheduled check of a monitor. (monitor_id, scheduled_at) is unique: a tick that
-- is replayed after a crash finds its row instead of writing a second one.
CREATE TABLE monitor_checks (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  monitor_id         uuid NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
  scheduled_at       timestamptz NOT NULL,
  outcome            text NOT NULL CHECK (outcome IN ('ok', 'drift', 'error')),
  drift_check_id     text,
  drift_share        double precision,
  dataset_drift      boolean,
  retrain_workflow_id text,
  error_code         text,
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (monitor_id, scheduled_at)
);
CREATE INDEX monitor_checks_tenant ON monitor_checks (tenant_id, monitor_id, scheduled_at DESC);

-- One row per retraining workflow, keyed by its (deterministic) DBOS workflow id. The workflow
-- fills in the outcome; DBOS holds the step-by-step state.
CREATE TABLE retraining_runs (
  workflow_id     text PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  model           text NOT NULL,
  monitor_id      uuid REFERENCES monitors (id) ON DELETE SET NULL,
  trigger         text NOT NULL CHECK (trigger IN ('drift', 'schedule', 'manual', 'metric_decay')),
  drift_check_id  text,
  request         jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'training', 'evaluating', 'promoted', 'rejected', 'failed', 'cancelled')),
  training_run_id text,
  candidate_metrics jsonb,
  champion_metrics  jsonb,
  champion_version integer,
  version         integer,
  promoted        boolean,
  reason          text,
  error_code      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
CREATE INDEX retraining_runs_tenant ON retraining_runs (tenant_id, created_at DESC);

ALTER TABLE monitors ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON monitors
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE monitor_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON monitor_checks
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE retraining_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON retraining_runs
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON monitors TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON monitor_checks TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON retraining_runs TO plinth_app;
