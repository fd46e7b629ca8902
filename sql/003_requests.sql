-- 003_requests.sql - schema version 3: the durable queue of async requests and their results.
--
-- A row is written by the worker that acknowledges the request (PENDING) and
-- moved on by `streamer processor`: PENDING -> PROCESSING -> COMPLETED |
-- FAILED | CANCELLED. Rows outlive their connection (no foreign key): a
-- client that reconnects asks for its results with request.status.
CREATE TABLE IF NOT EXISTS requests (
	id                TEXT    PRIMARY KEY,            -- server id, job_<24 hex digits>
	request_id        TEXT    NOT NULL,               -- the client's id (or a generated one)
	connection_id     TEXT    NOT NULL,               -- where progress and the result are pushed
	user_id           TEXT    NOT NULL,
	tenant_id         TEXT    NOT NULL,
	action            TEXT    NOT NULL,
	payload           TEXT    NOT NULL DEFAULT 'null', -- JSON
	status            TEXT    NOT NULL DEFAULT 'PENDING'
	                  CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED')),
	attempts          INTEGER NOT NULL DEFAULT 0,
	progress          INTEGER NOT NULL DEFAULT 0,     -- 0..100
	progress_message  TEXT,
	progress_metadata TEXT,                            -- JSON object or NULL
	result            TEXT,                            -- JSON, when COMPLETED
	error_code        TEXT,                            -- when FAILED or CANCELLED
	error_message     TEXT,
	cancel_requested  INTEGER NOT NULL DEFAULT 0,
	created_at        INTEGER NOT NULL,               -- ms since the epoch
	updated_at        INTEGER NOT NULL,
	run_after         INTEGER NOT NULL,               -- not claimed before (retry backoff)
	started_at        INTEGER,
	finished_at       INTEGER,
	lease_owner       TEXT,                            -- the claiming processor, while PROCESSING
	lease_until       INTEGER,
	expires_at        INTEGER                          -- finished rows are removed after this
) WITHOUT ROWID;

-- Claiming: the oldest runnable PENDING row, or a PROCESSING row whose lease ran out.
CREATE INDEX IF NOT EXISTS requests_pending ON requests (run_after) WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS requests_leased ON requests (lease_until) WHERE status = 'PROCESSING';
-- request.status / request.cancel: the caller's own requests by client id.
CREATE INDEX IF NOT EXISTS requests_owner ON requests (tenant_id, user_id, request_id);
-- A client id is unique among a connection's live requests.
CREATE UNIQUE INDEX IF NOT EXISTS requests_live_id ON requests (connection_id, request_id)
	WHERE status IN ('PENDING', 'PROCESSING');
-- Result expiry sweeps.
CREATE INDEX IF NOT EXISTS requests_expires ON requests (expires_at) WHERE expires_at IS NOT NULL;
