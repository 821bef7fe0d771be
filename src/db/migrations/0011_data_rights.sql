-- Data rights over LLM usage: a usage record remembers the end user it was made for (the
-- OpenAI `user` field of the request), so export and erasure by user_id find it. The retention
-- sweep deletes per tenant by age: expired memories by expiry time, the inference log by time
-- (llm_usage already has its (tenant, time) index).

ALTER TABLE llm_usage ADD COLUMN user_id text CHECK (user_id IS NULL OR length(user_id) BETWEEN 1 AND 256);
CREATE INDEX llm_usage_tenant_user ON llm_usage (tenant_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX memories_expiry ON memories (tenant_id, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX inference_log_tenant_time ON inference_log (tenant_id, created_at);
