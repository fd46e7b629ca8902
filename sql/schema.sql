-- schema.sql - schema version 1: the connection store. Later versions are sql/NNN_*.sql.
CREATE TABLE IF NOT EXISTS connections (
	id                TEXT    PRIMARY KEY,
	user_id           TEXT    NOT NULL,
	tenant_id         TEXT    NOT NULL,
	permissions       TEXT    NOT NULL DEFAULT '[]',  -- JSON array of strings
	user_agent        TEXT,
	source_addr       TEXT,
	connected_at      INTEGER NOT NULL,               -- ms since the epoch
	last_active_at    INTEGER NOT NULL,
	expires_at        INTEGER NOT NULL,               -- slides forward on activity
	messages_received INTEGER NOT NULL DEFAULT 0,
	messages_sent     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Per-tenant and per-user fan-out, and expiry sweeps.
CREATE INDEX IF NOT EXISTS connections_tenant_user ON connections (tenant_id, user_id);
CREATE INDEX IF NOT EXISTS connections_expires ON connections (expires_at);
