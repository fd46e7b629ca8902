-- 008_streams.sql - schema version 8: numbered streams and their bounded message history (src/history.h).
--
-- Every pushed message of a stream (a topic, a tenant broadcast, a user's
-- direct messages) takes the stream's next offset and is kept in history
-- for a while, so that a client that missed some can ask for them again.
-- A stream row that is removed (streamer gc, after a day without a
-- message) and written again starts a new epoch at offset 1.
CREATE TABLE IF NOT EXISTS streams (
	name       TEXT    PRIMARY KEY,  -- "topic:<tenant>:<topic>", "tenant:<tenant>" or "user:<tenant>:<user>"
	epoch      TEXT    NOT NULL,     -- 16 random lowercase hex digits, chosen when the row is created
	top        INTEGER NOT NULL,     -- the last offset given in this epoch (>= 1)
	updated_at INTEGER NOT NULL      -- ms since the epoch of the last message appended
) WITHOUT ROWID;

-- streamer gc: the streams without a message for a day; the position hints:
-- nothing else reads streams by time.
CREATE INDEX IF NOT EXISTS streams_updated ON streams (updated_at);

-- The messages still held, per stream in offset order (the primary key).
-- A message goes with its stream row (ON DELETE CASCADE), so a new epoch
-- never finds the messages of an old one.
CREATE TABLE IF NOT EXISTS history (
	stream     TEXT    NOT NULL REFERENCES streams (name) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,     -- the message's offset in its stream (not "offset": a keyword)
	target     TEXT,                 -- the connection id it was addressed to, NULL = every connection
	body       TEXT    NOT NULL,     -- the message as pushed, without its stream, offset and epoch
	created_at INTEGER NOT NULL,     -- ms since the epoch
	PRIMARY KEY (stream, seq)
) WITHOUT ROWID;

-- streamer gc: the messages older than STREAMER_HISTORY_TTL, of every stream.
CREATE INDEX IF NOT EXISTS history_created ON history (created_at);
