-- 009_presence_claims.sql - PostgreSQL schema version 9: presence subscriptions, pattern subscriptions and a connection's topic claims (see sql/009_presence_claims.sql).
ALTER TABLE connections ADD COLUMN IF NOT EXISTS topic_claims TEXT;
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS presence SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS pattern SMALLINT NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS subscriptions_pattern ON subscriptions (tenant_id, topic)
	WHERE pattern = 1;
CREATE INDEX IF NOT EXISTS subscriptions_presence ON subscriptions (tenant_id, topic)
	WHERE presence = 1;
