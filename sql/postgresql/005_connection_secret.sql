-- 005_connection_secret.sql - PostgreSQL schema version 5: the plain HTTP dialect's connection secret, kept only as its SHA-256.
ALTER TABLE connections ADD COLUMN IF NOT EXISTS secret_hash TEXT;
