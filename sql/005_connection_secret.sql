-- 005_connection_secret.sql - schema version 5: the plain HTTP dialect's connection secret, kept only as its SHA-256.
--
-- POST …/connect issues a random secret and stores its hash here; …/message
-- and …/disconnect must present the secret (X-Connection-Secret). NULL for a
-- WebSocket (Pushpin) connection, which the plain dialect can never use.
ALTER TABLE connections ADD COLUMN secret_hash TEXT;
