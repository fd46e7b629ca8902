-- 006_token_expiry.sql - schema version 6: a connection lives no longer than the token it was opened (or last refreshed) with.
--
-- token_expires_at is the token's exp plus STREAMER_JWT_LEEWAY, in ms since
-- the epoch, written at connect and by auth.refresh. expires_at (the sliding
-- TTL) is never moved past it, by messages or keep-alives. NULL: no token
-- limit (rows from before this version keep their sliding TTL alone).
ALTER TABLE connections ADD COLUMN token_expires_at INTEGER;
