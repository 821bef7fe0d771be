-- Drift detection: stored reference profiles, the results of drift checks, and the inference log
-- that scheduled checks read their current data from.

-- A reference profile summarises reference data once (per-column counts, frozen histogram
-- edges, category frequencies, quantile sketches) so later checks need no raw rows.
CREATE TABLE drift_profiles (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name        text NOT NULL,
  row_count   bigint NOT NULL CHECK (row_count >= 0),
  profile     jsonb NOT NULL,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_profiles_tenant ON drift_profiles (tenant_id, created_at DESC);

-- One row per drift check run through the service: the verdict in columns (for listing and
-- alerting) and the full per-column result, summary bins included, as JSON (for reports).
CREATE TABLE drift_checks (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name                  text,
  profile_id            uuid REFERENCES drift_profiles (id) ON DELETE SET NULL,
  dataset_drift         boolean NOT NULL,
  drifted_columns       integer NOT NULL,
  checked_columns       integer NOT NULL,
  reference_rows        bigint NOT NULL,
  current_rows          bigint NOT NULL,
  current_source        jsonb NOT NULL DEFAULT '{}'::jsonb,
  result                jsonb NOT NULL,
  created_by            text,
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_checks_tenant ON drift_checks (tenant_id, created_at DESC);

-- What a served model saw and answered. Drift checks select rows by model and time window.
CREATE TABLE inference_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  model       text NOT NULL,
  features    jsonb NOT NULL,
  prediction  jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (jsonb_typeof(features) = 'object')
);
CREATE INDEX inference_log_model_time ON inference_log (tenant_id, model, created_at);

ALTER TABLE drift_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON drift_profiles
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE drift_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON drift_checks
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE inference_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON inference_log
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT, INSERT, DELETE ON drift_profiles TO plinth_app;
GRANT SELECT, INSERT, DELETE ON drift_checks TO plinth_app;
GRANT SELECT, INSERT, DELETE ON inference_log TO plinth_app;
