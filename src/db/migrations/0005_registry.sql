-- Model registry, built-in adapter: registered models, their versions, aliases and tags, used when
-- no MLflow tracking server is configured. Shaped after MLflow's registry so the two adapters
-- answer the same contract. Also the log of MLflow webhook deliveries (both modes).

CREATE TABLE registered_models (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name            text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$'),
  description     text NOT NULL DEFAULT '',
  -- Highest version number ever allocated. Bumped with UPDATE … RETURNING, which row-locks the
  -- model: concurrent creates get distinct numbers, and numbers are never reused after a delete.
  latest_version  integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  -- Target of the composite foreign keys below: a child row's tenant is its model's tenant.
  UNIQUE (id, tenant_id)
);

CREATE TABLE model_versions (
  model_id     uuid NOT NULL,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  version      integer NOT NULL CHECK (version >= 1),
  source       text NOT NULL DEFAULT '',
  run_id       text,
  status       text NOT NULL DEFAULT 'READY' CHECK (status IN ('PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY')),
  description  text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, version),
  FOREIGN KEY (model_id, tenant_id) REFERENCES registered_models (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX model_versions_tenant ON model_versions (tenant_id);

CREATE TABLE model_aliases (
  model_id    uuid NOT NULL,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  alias       text NOT NULL CHECK (alias ~ '^[A-Za-z0-9_-]{1,255}$'),
  version     integer NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, tenant_id) REFERENCES registered_models (id, tenant_id) ON DELETE CASCADE,
  -- Deleting a version drops the aliases that point at it, as MLflow does.
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
CREATE INDEX model_aliases_tenant ON model_aliases (tenant_id);

CREATE TABLE registered_model_tags (
  model_id   uuid NOT NULL,
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
  value      text NOT NULL CHECK (length(value) <= 5000),
  PRIMARY KEY (model_id, key),
  FOREIGN KEY (model_id, tenant_id) REFERENCES registered_models (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX registered_model_tags_tenant ON registered_model_tags (tenant_id);

CREATE TABLE model_version_tags (
  model_id   uuid NOT NULL,
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  version    integer NOT NULL,
  key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 250),
  value      text NOT NULL CHECK (length(value) <= 5000),
  PRIMARY KEY (model_id, version, key),
  FOREIGN KEY (model_id, tenant_id) REFERENCES registered_models (id, tenant_id) ON DELETE CASCADE,
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
CREATE INDEX model_version_tags_tenant ON model_version_tags (tenant_id);
-- An idempotency key names at most one version of a model: a retried create finds the first one.
CREATE UNIQUE INDEX model_version_tags_idempotency ON model_version_tags (model_id, value) WHERE key = 'plinth.idempotency_key';

-- MLflow webhook deliveries, verified and attributed to the tenant whose namespace the model
-- name is in. delivery_id makes a redelivered event a no-op.
CREATE TABLE registry_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  delivery_id  text NOT NULL UNIQUE,
  entity       text NOT NULL,
  action       text NOT NULL,
  model_name   text NOT NULL,
  version      integer,
  alias        text,
  payload      jsonb NOT NULL,
  sent_at      timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_events_tenant ON registry_events (tenant_id, id);

ALTER TABLE registered_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON registered_models
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE model_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON model_versions
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE model_aliases ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON model_aliases
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE registered_model_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON registered_model_tags
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE model_version_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON model_version_tags
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE registry_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON registry_events
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON registered_models TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON model_versions TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON model_aliases TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON registered_model_tags TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON model_version_tags TO plinth_app;
GRANT SELECT, INSERT ON registry_events TO plinth_app;
