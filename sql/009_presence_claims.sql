-- 009_presence_claims.sql - schema version 9: presence subscriptions, pattern subscriptions and a connection's topic claims (issue 18).
--
-- topic_claims is the token's topics and publish_topics claims as JSON text
-- ({"topics":[…],"publish_topics":[…]}), NULL when it had neither; the store
-- keeps it as opaque text. A subscription's presence flag: its connection
-- also wants the topic's join and leave events. Its pattern flag: the topic
-- is a pattern ("*" or "<prefix>.*") that a publish to any topic it covers
-- reaches; subs_add sets it for a topic ending in '*' (no older row does:
-- topic names had no '*').
ALTER TABLE connections ADD COLUMN topic_claims TEXT;
ALTER TABLE subscriptions ADD COLUMN presence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN pattern INTEGER NOT NULL DEFAULT 0;

-- subs_patterns, on every publish: the tenant's pattern topics, one probe
-- when there are none (most tenants).
CREATE INDEX IF NOT EXISTS subscriptions_pattern ON subscriptions (tenant_id, topic)
	WHERE pattern = 1;
-- subs_presence_watchers, on every join and leave: the subscribers of a
-- topic that asked for presence events, without walking the others.
CREATE INDEX IF NOT EXISTS subscriptions_presence ON subscriptions (tenant_id, topic)
	WHERE presence = 1;
