-- cloakroom session store, schema v2 (see adapters/postgres/schema.ts for the reasons).
-- Idempotent: postgresStore's migrate() applies it under an advisory lock; you may also apply it yourself.
CREATE TABLE IF NOT EXISTS "cloakroom_sessions" (
  handle              text   PRIMARY KEY,  -- <tag>.<base64url(SHA-256(session id))>: never the id itself
  user_id             text,                -- null for an anonymous session
  data                jsonb  NOT NULL,     -- the application's data, a JSON object
  version             bigint NOT NULL,     -- compare-and-set counter: 1 on create, +1 per write
  created_at          bigint NOT NULL,     -- epoch ms, like every time here
  last_seen_at        bigint NOT NULL,     -- last write or touch
  expires_at          bigint NOT NULL,     -- idle expiry: min(last_seen_at + idle_timeout, absolute_expires_at)
  absolute_expires_at bigint NOT NULL,     -- nothing extends a session past it
  idle_timeout        bigint NOT NULL,     -- ms; a touch moves expires_at by it
  successor           text,                -- v2: set on a retired id's marker, the handle that replaced it
  device              text                 -- v2: a device-bound session's binding (DBSC), JSON the core writes
) WITH (fillfactor = 90);
-- v1 tables gain the v2 columns (both nullable: existing rows are live sessions, not device-bound).
ALTER TABLE "cloakroom_sessions" ADD COLUMN IF NOT EXISTS successor text, ADD COLUMN IF NOT EXISTS device text;
CREATE INDEX IF NOT EXISTS "cloakroom_sessions_user_id_idx" ON "cloakroom_sessions" (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS "cloakroom_sessions_expires_at_idx" ON "cloakroom_sessions" (expires_at);
CREATE TABLE IF NOT EXISTS "cloakroom_sessions_counters" (
  key      text   PRIMARY KEY,
  count    bigint NOT NULL,
  reset_at bigint NOT NULL                 -- epoch ms: the window's end, and the row's expiry
);
CREATE INDEX IF NOT EXISTS "cloakroom_sessions_counters_reset_at_idx" ON "cloakroom_sessions_counters" (reset_at);
-- revokeUser: wait for the user's writes in flight (each holds this lock shared until it
-- commits), then delete with a snapshot that sees them; returns how many were still live.
-- Only READ COMMITTED takes that snapshot after the wait: under REPEATABLE READ or SERIALIZABLE
-- the whole call sees the database as it was before, and a session written meanwhile survives.
CREATE OR REPLACE FUNCTION "cloakroom_sessions_revoke_user"(p_user text, p_keep text, p_now bigint) RETURNS bigint
LANGUAGE plpgsql AS $revoke$
DECLARE
  revoked bigint;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'cloakroom: revokeUser needs transaction isolation READ COMMITTED, but its connection runs at %, where it would miss sessions written while it waits. Set default_transaction_isolation to ''read committed'' for the connections the store uses (ALTER ROLE <role> SET default_transaction_isolation = ''read committed'', or the pool''s connection options), and do not call it inside a REPEATABLE READ or SERIALIZABLE transaction.',
      upper(current_setting('transaction_isolation'))
      USING ERRCODE = 'invalid_transaction_state';
  END IF;
  PERFORM pg_advisory_xact_lock(1668049778, hashtext(p_user));
  WITH gone AS (
    DELETE FROM "cloakroom_sessions" WHERE user_id = p_user AND handle IS DISTINCT FROM p_keep
    RETURNING expires_at, absolute_expires_at, successor
  )
  -- Retired markers go with their user but are not counted as sessions (store rule 10c).
  SELECT count(*) FILTER (WHERE expires_at > p_now AND absolute_expires_at > p_now AND successor IS NULL) INTO revoked FROM gone;
  RETURN revoked;
END
$revoke$;
