-- 008_streams.sql - PostgreSQL schema version 8: numbered streams and their bounded message history (see sql/008_streams.sql).
CREATE TABLE IF NOT EXISTS streams (
	name       TEXT   PRIMARY KEY,
	epoch      TEXT   NOT NULL,
	top        BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS streams_updated ON streams (updated_at);

CREATE TABLE IF NOT EXISTS history (
	stream     TEXT   NOT NULL REFERENCES streams (name) ON DELETE CASCADE,
	seq        BIGINT NOT NULL,
	target     TEXT,
	body       TEXT   NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (stream, seq)
);

CREATE INDEX IF NOT EXISTS history_created ON history (created_at);
