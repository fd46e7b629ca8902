-- 006_token_expiry.sql - PostgreSQL schema version 6: a connection lives no longer than its token (see sql/006_token_expiry.sql).
ALTER TABLE connections ADD COLUMN IF NOT EXISTS token_expires_at BIGINT;
