-- Gateway limits and budgets per tenant, and the cost of each LLM call.
--
-- gateway_limits holds a tenant's overrides of the configured defaults (GATEWAY_* settings):
-- requests and tokens per minute, tokens per UTC day, for each of its API keys and for the
-- tenant as a whole. NULL means "use the configured default"; 0 means unlimited.
CREATE TABLE gateway_limits (
  tenant_id                   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  key_requests_per_minute     integer CHECK (key_requests_per_minute >= 0),
  key_tokens_per_minute       bigint CHECK (key_tokens_per_minute >= 0),
  key_tokens_per_day          bigint CHECK (key_tokens_per_day >= 0),
  tenant_requests_per_minute  integer CHECK (tenant_requests_per_minute >= 0),
  tenant_tokens_per_minute    bigint CHECK (tenant_tokens_per_minute >= 0),
  tenant_tokens_per_day       bigint CHECK (tenant_tokens_per_day >= 0),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  updated_by                  text
);

ALTER TABLE gateway_limits ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON gateway_limits
  USING (tenant_id = plinth_current_tenant())
  WITH CHECK (tenant_id = plinth_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_limits TO plinth_app;

-- Cost of the call from the price table (GATEWAY_PRICES_FILE), in its currency; NULL when the
-- model has no price. Cache hits cost nothing upstream and are stored as 0.
ALTER TABLE llm_usage ADD COLUMN cost numeric(20, 10);
CREATE INDEX llm_usage_tenant_key_time ON llm_usage (tenant_id, key_prefix, created_at);
