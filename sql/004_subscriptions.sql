-- 004_subscriptions.sql - schema version 4: the topics each connection subscribed to (within its tenant).
--
-- A row goes with its connection (ON DELETE CASCADE, also when a connection
-- row is replaced by a new connection with the same id). Pushpin holds its
-- own copy of the subscription (the channel topic:<tenant>:<topic>); this
-- table is what the apigw style fans out from, what the per-connection limit
-- is counted on, and what a reconnecting SDK is told.
CREATE TABLE IF NOT EXISTS subscriptions (
	connection_id TEXT    NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
	tenant_id     TEXT    NOT NULL,
	topic         TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,               -- ms since the epoch
	PRIMARY KEY (connection_id, topic)
) WITHOUT ROWID;

-- Fan-out of a topic publish within a tenant.
CREATE INDEX IF NOT EXISTS subscriptions_topic ON subscriptions (tenant_id, topic);
