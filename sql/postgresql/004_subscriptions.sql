-- 004_subscriptions.sql - PostgreSQL schema version 4: the topics each connection subscribed to (see sql/004_subscriptions.sql).
CREATE TABLE IF NOT EXISTS subscriptions (
	connection_id TEXT   NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
	tenant_id     TEXT   NOT NULL,
	topic         TEXT   NOT NULL,
	created_at    BIGINT NOT NULL,
	PRIMARY KEY (connection_id, topic)
);

CREATE INDEX IF NOT EXISTS subscriptions_topic ON subscriptions (tenant_id, topic);
