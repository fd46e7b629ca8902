-- 003_requests.sql - PostgreSQL schema version 3: the durable queue of async requests and their results (see sql/003_requests.sql).
CREATE TABLE IF NOT EXISTS requests (
	id                TEXT   PRIMARY KEY,
	request_id        TEXT   NOT NULL,
	connection_id     TEXT   NOT NULL,
	user_id           TEXT   NOT NULL,
	tenant_id         TEXT   NOT NULL,
	action            TEXT   NOT NULL,
	payload           TEXT   NOT NULL DEFAULT 'null',
	status            TEXT   NOT NULL DEFAULT 'PENDING'
	                  CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED')),
	attempts          BIGINT NOT NULL DEFAULT 0,
	progress          BIGINT NOT NULL DEFAULT 0,
	progress_message  TEXT,
	progress_metadata TEXT,
	result            TEXT,
	error_code        TEXT,
	error_message     TEXT,
	cancel_requested  BIGINT NOT NULL DEFAULT 0,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL,
	run_after         BIGINT NOT NULL,
	started_at        BIGINT,
	finished_at       BIGINT,
	lease_owner       TEXT,
	lease_until       BIGINT,
	expires_at        BIGINT
);

CREATE INDEX IF NOT EXISTS requests_pending ON requests (run_after) WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS requests_leased ON requests (lease_until) WHERE status = 'PROCESSING';
CREATE INDEX IF NOT EXISTS requests_owner ON requests (tenant_id, user_id, request_id);
CREATE UNIQUE INDEX IF NOT EXISTS requests_live_id ON requests (connection_id, request_id)
	WHERE status IN ('PENDING', 'PROCESSING');
CREATE INDEX IF NOT EXISTS requests_expires ON requests (expires_at) WHERE expires_at IS NOT NULL;
