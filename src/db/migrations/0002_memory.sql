-- Agent memory: memories with version history, embedding spaces, hybrid (vector + full-text) search.
--
-- pgvector must be installable by the migrating role. On managed PostgreSQL, where the owner
-- is not a superuser, create it beforehand as a superuser: CREATE EXTENSION vector;
CREATE EXTENSION IF NOT EXISTS vector;

-- An embedding space is one (provider, model, dimensions). Vectors of different spaces are
-- never compared: each space has its own partial HNSW index, and switching embedders means
-- re-embedding into the new space (`plinth memory reembed`), never a silent mix.
-- Lenient cast for metadata values used in range filters: a malformed value never matches.
CREATE FUNCTION plinth_try_timestamptz(t text) RETURNS timestamptz
  LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
  RETURN t::timestamptz;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;

CREATE TABLE embedding_spaces (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider    text NOT NULL,
  model       text NOT NULL,
  dimensions  integer NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, model, dimensions)
);

CREATE TABLE memories (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  agent_id         text,
  user_id          text,
  session_id       text,
  text             text NOT NULL,
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  tags             text[] NOT NULL DEFAULT '{}',
  source           text,
  content_hash     bytea NOT NULL,
  idempotency_key  text,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  valid_from       timestamptz NOT NULL DEFAULT now(),
  valid_to         timestamptz,
  expires_at       timestamptz,
  space_id         integer REFERENCES embedding_spaces (id),
  embedding        vector,
  fts              tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
  CHECK (valid_to IS NULL OR valid_to > valid_from),
  CHECK ((space_id IS NULL) = (embedding IS NULL))
);

-- The same content in the same scope is one memory.
CREATE UNIQUE INDEX memories_dedupe ON memories
  (tenant_id, (coalesce(agent_id, '')), (coalesce(user_id, '')), (coalesce(session_id, '')), content_hash);
CREATE UNIQUE INDEX memories_idempotency ON memories (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX memories_scope ON memories (tenant_id, user_id, agent_id, created_at DESC, id);
CREATE INDEX memories_list ON memories (tenant_id, created_at DESC, id DESC);
CREATE INDEX memories_fts ON memories USING gin (fts);
CREATE INDEX memories_tags ON memories USING gin (tags);
CREATE INDEX memories_metadata ON memories USING gin (metadata jsonb_path_ops);

-- Every version of every memory, the current one included. An update closes the previous
-- version (superseded_at) and appends a new one; nothing is overwritten.
CREATE TABLE memory_versions (
  memory_id      uuid NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  version        integer NOT NULL,
  text           text NOT NULL,
  metadata       jsonb NOT NULL,
  tags           text[] NOT NULL,
  valid_from     timestamptz NOT NULL,
  valid_to       timestamptz,
  expires_at     timestamptz,
  change         text NOT NULL CHECK (change IN ('created', 'updated')),
  actor          text,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  superseded_at  timestamptz,
  PRIMARY KEY (memory_id, version)
);
CREATE INDEX memory_versions_tenant ON memory_versions (tenant_id);

ALTER TABLE memories ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memories
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE memory_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memory_versions
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT ON embedding_spaces TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memories TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memory_versions TO plinth_app;
