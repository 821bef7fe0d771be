-- Full-text candidates ranked by ts_rank with length normalisation 1 (the rank divided by
-- 1 + log of the document's length) instead of ts_rank_cd. Cover density rewards a text for
-- every repetition of a common query word ("library", "support"); the normalised frequency rank
-- does not, and is cheaper to compute. On the 697-passage public-text set of the memory benchmark
-- (bench/data/debian-qa.json) full-text recall@5 went from 0.51 to 0.84, and hybrid search from
-- below vector-only search to above it (docs/benchmarks.md). Same signatures, tenant rule and
-- scope arguments as migration 0007; grants are kept by CREATE OR REPLACE, the pinned search
-- path is set again below.

CREATE OR REPLACE FUNCTION plinth_memory_fulltext(q tsquery, lim integer, agent text, usr text, sess text, as_of timestamptz)
  RETURNS TABLE (id uuid, score real)
  LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
  AS $$
    SELECT m.id, ts_rank(m.fts, q, 1) AS score
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

CREATE OR REPLACE FUNCTION plinth_chunk_fulltext(q tsquery, lim integer, agent text, usr text, sess text)
  RETURNS TABLE (id uuid, score real)
  LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
  AS $$
    SELECT c.id, ts_rank(c.fts, q, 1) AS score
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

DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION plinth_memory_fulltext(tsquery, integer, text, text, text, timestamptz) SET search_path = pg_catalog, %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION plinth_chunk_fulltext(tsquery, integer, text, text, text) SET search_path = pg_catalog, %I, pg_temp', current_schema());
END
$$;
