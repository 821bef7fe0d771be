-- Documents and their chunks for retrieval. A document is identified within its scope by a key
-- (the caller's, or its name); re-ingesting changed content replaces all chunks in one transaction.

CREATE TABLE documents (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  agent_id      text,
  user_id       text,
  session_id    text,
  key           text NOT NULL,
  name          text NOT NULL,
  title         text,
  media_type    text NOT NULL,
  source        text,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  tags          text[] NOT NULL DEFAULT '{}',
  content_hash  bytea NOT NULL,
  size_bytes    integer NOT NULL,
  chunk_count   integer NOT NULL,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX documents_key ON documents
  (tenant_id, (coalesce(agent_id, '')), (coalesce(user_id, '')), (coalesce(session_id, '')), key);
CREATE INDEX documents_list ON documents (tenant_id, created_at DESC, id DESC);

CREATE TABLE document_chunks (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  document_id   uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  position      integer NOT NULL,
  text          text NOT NULL,
  heading_path  text[] NOT NULL DEFAULT '{}',
  kind          text NOT NULL,
  page          integer,
  start_offset  integer NOT NULL,
  end_offset    integer NOT NULL,
  tokens        integer NOT NULL,
  space_id      integer REFERENCES embedding_spaces (id),
  embedding     vector,
  fts           tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
  UNIQUE (document_id, position),
  CHECK ((space_id IS NULL) = (embedding IS NULL))
);
CREATE INDEX document_chunks_tenant ON document_chunks (tenant_id, document_id);
CREATE INDEX document_chunks_fts ON document_chunks USING gin (fts);

ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON documents
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

ALTER TABLE document_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON document_chunks
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON documents TO plinth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON document_chunks TO plinth_app;
