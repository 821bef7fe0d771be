-- One row per LLM gateway call (chat or embeddings): who called, which model on which upstream,
-- tokens in and out, cache outcome and timings. Aggregated per model and day by GET /v1/usage.

CREATE TABLE llm_usage (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key_prefix    text,
  endpoint      text NOT NULL,
  model         text NOT NULL,
  upstream      text,
  outcome       text NOT NULL,
  error_code    text,
  cache         text NOT NULL,
  tokens_in     integer NOT NULL DEFAULT 0,
  tokens_out    integer NOT NULL DEFAULT 0,
  latency_ms    integer NOT NULL,
  ttft_ms       integer,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (endpoint IN ('chat', 'embeddings')),
  CHECK (outcome IN ('ok', 'error', 'cancelled')),
  CHECK (cache IN ('miss', 'exact', 'bypass'))
);
CREATE INDEX llm_usage_tenant_time ON llm_usage (tenant_id, created_at);

ALTER TABLE llm_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llm_usage
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT, INSERT, DELETE ON llm_usage TO plinth_app;
