-- Platform core: tenants, API keys, audit log, and the row-level security that isolates tenants.

-- The restricted role every tenant-scoped transaction switches to (SET LOCAL ROLE).
-- It cannot log in; the connecting (owner) role must be able to switch into it.
-- On managed PostgreSQL the owner is usually not a superuser: create the role beforehand with
--   CREATE ROLE plinth_app NOLOGIN NOINHERIT; GRANT plinth_app TO <plinth user>;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plinth_app') THEN
    BEGIN
      CREATE ROLE plinth_app NOLOGIN NOINHERIT;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'role plinth_app does not exist and % may not create it; as a superuser run: CREATE ROLE plinth_app NOLOGIN NOINHERIT; GRANT plinth_app TO %;',
        current_user, quote_ident(current_user);
    END;
  END IF;
  IF NOT pg_has_role(current_user, 'plinth_app', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT plinth_app TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION '% must be a member of role plinth_app; as a superuser run: GRANT plinth_app TO %;',
        current_user, quote_ident(current_user);
    END;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO plinth_app;

-- The tenant of the current transaction, or NULL when none is set (then no row is visible).
CREATE FUNCTION plinth_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('plinth.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  is_root     boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one root tenant: the one whose admins may manage other tenants.
CREATE UNIQUE INDEX tenants_one_root ON tenants (is_root) WHERE is_root;

CREATE TABLE api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  prefix        text NOT NULL UNIQUE,
  hash          bytea NOT NULL,
  scopes        text[] NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  action      text NOT NULL,
  target      text,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  request_id  text
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks.
CREATE FUNCTION plinth_audit_append_only() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION plinth_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION plinth_audit_append_only();

-- Row-level security: each table sees only the current tenant's rows.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
  USING (id = plinth_current_tenant());

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT ON tenants TO plinth_app;
GRANT SELECT, INSERT ON api_keys TO plinth_app;
GRANT UPDATE (revoked_at, last_used_at, name) ON api_keys TO plinth_app;
GRANT SELECT, INSERT ON audit_log TO plinth_app;
