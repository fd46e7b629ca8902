-- 001_connections.sql - PostgreSQL schema version 1: the connection store (as sql/schema.sql for SQLite).
CREATE TABLE IF NOT EXISTS connections (
	id                TEXT   PRIMARY KEY,
	user_id           TEXT   NOT NULL,
	tenant_id         TEXT   NOT NULL,
	permissions       TEXT   NOT NULL DEFAULT '[]',  -- JSON array of strings
	user_agent        TEXT,
	source_addr       TEXT,
	connected_at      BIGINT NOT NULL,               -- ms since the epoch
	last_active_at    BIGINT NOT NULL,
	expires_at        BIGINT NOT NULL,               -- slides forward on activity
	messages_received BIGINT NOT NULL DEFAULT 0,
	messages_sent     BIGINT NOT NULL DEFAULT 0
);

-- Per-tenant and per-user fan-out, and expiry sweeps.
CREATE INDEX IF NOT EXISTS connections_tenant_user ON connections (tenant_id, user_id);
CREATE INDEX IF NOT EXISTS connections_expires ON connections (expires_at);
