-- Usage records of chat calls answered by the semantic cache carry cache = 'semantic'.

ALTER TABLE llm_usage DROP CONSTRAINT IF EXISTS llm_usage_cache_check;
ALTER TABLE llm_usage ADD CONSTRAINT llm_usage_cache_check CHECK (cache IN ('miss', 'exact', 'semantic', 'bypass'));
