-- Full-text candidates for hybrid search, read through the GIN index under tenant isolation.
--
-- Under row-level security PostgreSQL evaluates only LEAKPROOF conditions before the policy, and
-- the full-text match operator (`@@`, ts_match_vq) is not leakproof: a tenant-scoped query can
-- never use the GIN index on `fts` and reads every row of the table instead. These functions run
-- as their owner (the table owner, to whom the policies do not apply) and restrict rows to the
-- current tenant themselves. The tenant comes only from the transaction's `plinth.tenant_id`
-- setting (plinth_current_tenant()), never from an argument, so a caller cannot ask for another
-- tenant's rows; with no tenant set they return nothing.
--
-- Both return the `lim` best matches by ts_rank_cd (all matches when `lim` is NULL, for callers
-- that apply further filters themselves) among rows passing the scope arguments (NULL = any).

CREATE FUNCTION plinth_memory_fulltext(q tsquery, lim integer, agent text, usr text, sess text, as_of timestamptz)
  RETURNS TABLE (id uuid, score real)
  LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
  AS $$
    SELECT m.id, ts_rank_cd(m.fts, q) AS score
      FROM memories m
     WHERE m.tenant_id = plinth_current_tenant()
       AND m.fts @@ q
       AND (agent IS NULL OR m.agent_id = agent)
       AND (usr IS NULL OR m.user_id = usr)
       AND (sess IS NULL OR m.session_id = sess)
       AND (m.expires_at IS NULL OR m.expires_at > now())
       AND CASE WHEN as_of IS NULL THEN m.valid_to IS NULL OR m.valid_to > now()
                ELSE m.valid_from <= as_of AND (m.valid_to IS NULL OR m.valid_to > as_of) END
     ORDER BY score DESC, m.id
     LIMIT lim
  $$;

-- Chunks take their scope from the owning document (of the same tenant).
CREATE FUNCTION plinth_chunk_fulltext(q tsquery, lim integer, agent text, usr text, sess text)
  RETURNS TABLE (id uuid, score real)
  LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
  AS $$
    SELECT c.id, ts_rank_cd(c.fts, q) AS score
      FROM document_chunks c
      JOIN documents d ON d.id = c.document_id AND d.tenant_id = c.tenant_id
     WHERE c.tenant_id = plinth_current_tenant()
       AND c.fts @@ q
       AND (agent IS NULL OR d.agent_id = agent)
       AND (usr IS NULL OR d.user_id = usr)
       AND (sess IS NULL OR d.session_id = sess)
     ORDER BY score DESC, c.id
     LIMIT lim
  $$;

-- A SECURITY DEFINER function must not resolve names through a schema its callers can write to:
-- pin the search path to the schema the tables were created in (pg_temp last, explicitly).
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION plinth_memory_fulltext(tsquery, integer, text, text, text, timestamptz) SET search_path = pg_catalog, %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION plinth_chunk_fulltext(tsquery, integer, text, text, text) SET search_path = pg_catalog, %I, pg_temp', current_schema());
END
$$;

REVOKE ALL ON FUNCTION plinth_memory_fulltext(tsquery, integer, text, text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION plinth_chunk_fulltext(tsquery, integer, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION plinth_memory_fulltext(tsquery, integer, text, text, text, timestamptz) TO plinth_app;
GRANT EXECUTE ON FUNCTION plinth_chunk_fulltext(tsquery, integer, text, text, text) TO plinth_app;
