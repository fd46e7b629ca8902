/* pg_sql.h - every SQL statement of the PostgreSQL engine, in one place, each the counterpart of the SQLite statement of the same name (src/store/sqlite/sql.h). */
#ifndef STREAMER_STORE_PG_SQL_H_
#define STREAMER_STORE_PG_SQL_H_

/* The columns of a connection row, in the order conn_record is read from (store.c's read_row). */
#define PG_CONN_COLUMNS \
	"id, user_id, tenant_id, permissions, user_agent, source_addr, " \
	"connected_at, last_active_at, expires_at, messages_received, messages_sent, " \
	"token_expires_at, topic_claims"

/*
 * X(name, sql) for each statement pg_open prepares once per session
 * (PQprepare, again after a reconnect). Parameters are sent as text;
 * integers are cast where PostgreSQL could not infer their type. The
 * comment before each says what binds, as in the SQLite engine.
 */
#define PG_STORE_STATEMENTS(X) \
	X(STMT_BEGIN, "BEGIN ISOLATION LEVEL READ COMMITTED") \
	X(STMT_BEGIN_READ, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") \
	X(STMT_COMMIT, "COMMIT") \
	X(STMT_ROLLBACK, "ROLLBACK") \
	X(STMT_PING, "SELECT 1") \
	X(STMT_SCHEMA_VERSION, "SELECT max(version) FROM streamer_schema") \
	/* $1..$13 in PG_CONN_COLUMNS order, $14 secret_hash. One statement: the upsert \
	 * leaves a live row of another user, tenant or dialect alone (no row: \
	 * STORE_CONFLICT), and a replaced row loses its subscriptions (a new connection). */ \
	X(STMT_CONN_PUT, \
	  "WITH up AS (INSERT INTO connections (" PG_CONN_COLUMNS ", secret_hash) " \
	  "VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8::bigint, " \
	  "LEAST($9::bigint, COALESCE($12::bigint, $9::bigint)), $10::bigint, $11::bigint, " \
	  "$12::bigint, $13::text, $14::text) " \
	  "ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, " \
	  "tenant_id = excluded.tenant_id, permissions = excluded.permissions, " \
	  "user_agent = excluded.user_agent, source_addr = excluded.source_addr, " \
	  "connected_at = excluded.connected_at, last_active_at = excluded.last_active_at, " \
	  "expires_at = excluded.expires_at, messages_received = excluded.messages_received, " \
	  "messages_sent = excluded.messages_sent, token_expires_at = excluded.token_expires_at, " \
	  "topic_claims = excluded.topic_claims, secret_hash = excluded.secret_hash " \
	  "WHERE NOT (connections.expires_at > excluded.connected_at " \
	  "AND (connections.user_id <> excluded.user_id OR connections.tenant_id <> excluded.tenant_id " \
	  "OR (connections.secret_hash IS NULL) <> (excluded.secret_hash IS NULL))) RETURNING 1), " \
	  "gone AS (DELETE FROM subscriptions WHERE connection_id = $1 " \
	  "AND EXISTS (SELECT 1 FROM up)) " \
	  "SELECT count(*) FROM up") \
	/* $1 id */ \
	X(STMT_CONN_SECRET, "SELECT secret_hash FROM connections WHERE id = $1") \
	/* $1 now, $2 new expires_at, $3 id, $4 active_at (0 = none), $5 received, $6 sent */ \
	X(STMT_CONN_TOUCH, \
	  "UPDATE connections SET " \
	  "expires_at = GREATEST(expires_at, LEAST($2::bigint, COALESCE(token_expires_at, $2::bigint))), " \
	  "last_active_at = GREATEST(last_active_at, $4::bigint), " \
	  "messages_received = messages_received + $5::bigint, " \
	  "messages_sent = messages_sent + $6::bigint " \
	  "WHERE id = $3 AND expires_at > $1::bigint RETURNING 1") \
	/* $1 now, $2 sliding expires_at, $3 id, $4 permissions, $5 token_expires_at, \
	 * $6 topic_claims */ \
	X(STMT_CONN_REFRESH, \
	  "UPDATE connections SET permissions = $4, token_expires_at = $5::bigint, " \
	  "topic_claims = $6::text, " \
	  "expires_at = LEAST($2::bigint, $5::bigint) " \
	  "WHERE id = $3 AND expires_at > $1::bigint RETURNING " PG_CONN_COLUMNS) \
	X(STMT_CONN_GET, "SELECT " PG_CONN_COLUMNS " FROM connections WHERE id = $1") \
	/* store_conn_load in a write transaction: the row stays locked to its end (pg_begin). */ \
	X(STMT_CONN_GET_LOCKED, "SELECT " PG_CONN_COLUMNS " FROM connections WHERE id = $1 FOR UPDATE") \
	/* pg_lock_key: the transaction-scoped lock of one key text (user, tenant). */ \
	X(STMT_LOCK_KEY, "SELECT pg_advisory_xact_lock(hashtextextended($1, 7437370917392416001))") \
	/* the subscriptions go with it (ON DELETE CASCADE) */ \
	X(STMT_CONN_DELETE, "DELETE FROM connections WHERE id = $1 RETURNING " PG_CONN_COLUMNS) \
	X(STMT_CONN_LIST, \
	  "SELECT " PG_CONN_COLUMNS " FROM connections ORDER BY connected_at, id") \
	X(STMT_CONN_LIST_TENANT, \
	  "SELECT " PG_CONN_COLUMNS " FROM connections WHERE tenant_id = $1 " \
	  "ORDER BY connected_at, id") \
	/* $1 tenant_id $2 user_id $3 now $4 id left out $5 limit */ \
	X(STMT_CONN_COUNT_USER, \
	  "SELECT count(*) FROM (SELECT 1 FROM connections WHERE tenant_id = $1 AND user_id = $2 " \
	  "AND expires_at > $3::bigint AND id <> $4 LIMIT $5::bigint) x") \
	/* $1 now: the gauges, one statement so one snapshot */ \
	X(STMT_GAUGES, \
	  "SELECT (SELECT count(*) FROM connections WHERE expires_at > $1::bigint), " \
	  "(SELECT count(*) FROM requests WHERE status = 'PENDING'), " \
	  "(SELECT count(*) FROM requests WHERE status = 'PROCESSING')") \
	/* $1 tenant $2 from $3 until; a connection's id never leaves the store here */ \
	X(STMT_ACTIVITY, \
	  "SELECT connected_at, 'connection', tenant_id, NULL, user_id, NULL, NULL, " \
	  "last_active_at - connected_at FROM connections " \
	  "WHERE tenant_id = $1 AND connected_at >= $2::bigint AND connected_at < $3::bigint " \
	  "UNION ALL " \
	  "SELECT created_at, 'request', tenant_id, request_id, user_id, action, status, " \
	  "CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL " \
	  "THEN finished_at - started_at ELSE -1 END FROM requests " \
	  "WHERE tenant_id = $1 AND created_at >= $2::bigint AND created_at < $3::bigint ORDER BY 1") \
	/* wake-ups: see wake.c */ \
	X(STMT_NOTIFY, "SELECT pg_notify('streamer_wake', '')")

/* The columns of a request row, in the order request_record is read from (queue.c's read_job). */
#define PG_JOB_COLUMNS \
	"id, request_id, connection_id, user_id, tenant_id, action, payload, status, " \
	"attempts, progress, progress_message, progress_metadata, result, error_code, " \
	"error_message, cancel_requested, created_at, updated_at, run_after, started_at, " \
	"finished_at, lease_until"

#define PG_QUEUE_STATEMENTS(X) \
	/* $1 id $2 request_id $3 connection_id $4 user $5 tenant $6 action $7 payload $8 now \
	 * $9 run_after */ \
	X(Q_ENQUEUE, \
	  "INSERT INTO requests (id, request_id, connection_id, user_id, tenant_id, action, " \
	  "payload, status, created_at, updated_at, run_after) " \
	  "VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', $8::bigint, $8::bigint, " \
	  "GREATEST($8::bigint, $9::bigint)) ON CONFLICT DO NOTHING") \
	/* $1 JSON array of ids $2 now */ \
	X(Q_UNHOLD, \
	  "UPDATE requests SET run_after = $2::bigint " \
	  "WHERE id IN (SELECT json_array_elements_text($1::json)) " \
	  "AND status = 'PENDING' AND run_after > $2::bigint") \
	/* $1 owner $2 now $3 lease_until. The fair order of the SQLite Q_CLAIM (the tenant \
	 * with fewest running, then the one served longest ago, never first, then the \
	 * oldest due; or an older expired lease), each candidate row taken with FOR \
	 * UPDATE SKIP LOCKED: concurrent claimers never wait for nor take the same row. */ \
	X(Q_CLAIM, \
	  "WITH RECURSIVE tenants(t) AS (" \
	  "SELECT (SELECT min(tenant_id) FROM requests WHERE status = 'PENDING') " \
	  "UNION ALL " \
	  "SELECT (SELECT min(tenant_id) FROM requests WHERE status = 'PENDING' AND tenant_id > t) " \
	  "FROM tenants WHERE t IS NOT NULL), " \
	  "ready(t, first, running, served) AS (" \
	  "SELECT t, " \
	  "(SELECT min(run_after) FROM requests WHERE status = 'PENDING' AND tenant_id = t), " \
	  "(SELECT count(*) FROM requests WHERE status = 'PROCESSING' AND tenant_id = t), " \
	  "(SELECT max(started_at) FROM requests WHERE started_at IS NOT NULL AND tenant_id = t) " \
	  "FROM tenants WHERE t IS NOT NULL), " \
	  "due AS (SELECT id, run_after AS k FROM requests " \
	  "WHERE status = 'PENDING' AND tenant_id = (" \
	  "SELECT t FROM ready WHERE first <= $2::bigint " \
	  "ORDER BY running, served NULLS FIRST, first LIMIT 1) " \
	  "AND run_after <= $2::bigint ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED), " \
	  "lapsed AS (SELECT id, lease_until AS k FROM requests " \
	  "WHERE status = 'PROCESSING' AND lease_until < $2::bigint " \
	  "ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED), " \
	  "pick AS (SELECT id FROM (SELECT * FROM due UNION ALL SELECT * FROM lapsed) c " \
	  "ORDER BY k LIMIT 1) " \
	  "UPDATE requests SET status = 'PROCESSING', attempts = attempts + 1, lease_owner = $1, " \
	  "lease_until = $3::bigint, started_at = $2::bigint, updated_at = $2::bigint " \
	  "FROM pick WHERE requests.id = pick.id RETURNING " \
	  "requests.id, request_id, connection_id, user_id, tenant_id, action, payload, status, " \
	  "attempts, progress, progress_message, progress_metadata, result, error_code, " \
	  "error_message, cancel_requested, created_at, updated_at, run_after, started_at, " \
	  "finished_at, lease_until") \
	/* $1 id $2 owner $3 now $4 lease_until */ \
	X(Q_RENEW, \
	  "UPDATE requests SET lease_until = $4::bigint, updated_at = $3::bigint " \
	  "WHERE id = $1 AND lease_owner = $2 AND status = 'PROCESSING' RETURNING cancel_requested") \
	/* $1 id $2 owner $3 now $4 lease_until $5 pct $6 message $7 metadata */ \
	X(Q_PROGRESS, \
	  "UPDATE requests SET lease_until = $4::bigint, updated_at = $3::bigint, " \
	  "progress = $5::bigint, progress_message = $6, progress_metadata = $7 " \
	  "WHERE id = $1 AND lease_owner = $2 AND status = 'PROCESSING' RETURNING cancel_requested") \
	/* $1 id $2 owner $3 now $4 status $5 result $6 code $7 message $8 expires_at */ \
	X(Q_FINISH, \
	  "UPDATE requests SET status = $4, result = $5, error_code = $6, error_message = $7, " \
	  "progress = CASE WHEN $4::text = 'COMPLETED' THEN 100 ELSE progress END, " \
	  "finished_at = $3::bigint, updated_at = $3::bigint, expires_at = $8::bigint, " \
	  "lease_owner = NULL, lease_until = NULL " \
	  "WHERE id = $1 AND lease_owner = $2 AND status = 'PROCESSING'") \
	/* $1 id $2 owner $3 now $4 run_after */ \
	X(Q_RELEASE, \
	  "UPDATE requests SET status = 'PENDING', run_after = $4::bigint, updated_at = $3::bigint, " \
	  "lease_owner = NULL, lease_until = NULL " \
	  "WHERE id = $1 AND lease_owner = $2 AND status = 'PROCESSING'") \
	/* $1 tenant $2 user $3 request_id */ \
	X(Q_GET_OWN, \
	  "SELECT " PG_JOB_COLUMNS " FROM requests WHERE tenant_id = $1 AND user_id = $2 " \
	  "AND request_id = $3 ORDER BY created_at DESC LIMIT 1") \
	/* $1 id $2 now $3 expires_at */ \
	X(Q_CANCEL_PENDING, \
	  "UPDATE requests SET status = 'CANCELLED', error_code = 'CANCELLED', " \
	  "error_message = 'Cancelled by the client', finished_at = $2::bigint, " \
	  "updated_at = $2::bigint, expires_at = $3::bigint " \
	  "WHERE id = $1 AND status = 'PENDING' RETURNING " PG_JOB_COLUMNS) \
	/* $1 id $2 now */ \
	X(Q_CANCEL_RUNNING, \
	  "UPDATE requests SET cancel_requested = 1, updated_at = $2::bigint " \
	  "WHERE id = $1 AND status = 'PROCESSING' RETURNING " PG_JOB_COLUMNS) \
	/* $1 connection_id $2 now $3 expires_at */ \
	X(Q_CANCEL_CONNECTION, \
	  "UPDATE requests SET status = 'CANCELLED', error_code = 'CANCELLED', " \
	  "error_message = 'The connection closed before the request started', " \
	  "finished_at = $2::bigint, updated_at = $2::bigint, expires_at = $3::bigint " \
	  "WHERE connection_id = $1 AND status = 'PENDING'") \
	/* $1 now */ \
	X(Q_GC, "DELETE FROM requests WHERE expires_at IS NOT NULL AND expires_at <= $1::bigint") \
	/* $1 connection_id $2 limit */ \
	X(Q_COUNT_LIVE, \
	  "SELECT count(*) FROM (SELECT 1 FROM requests WHERE connection_id = $1 " \
	  "AND status IN ('PENDING', 'PROCESSING') LIMIT $2::bigint) x") \
	/* $1 tenant_id $2 limit */ \
	X(Q_COUNT_TENANT_PENDING, \
	  "SELECT count(*) FROM (SELECT 1 FROM requests WHERE tenant_id = $1 " \
	  "AND status = 'PENDING' LIMIT $2::bigint) x")

#define PG_SUBS_STATEMENTS(X) \
	/* $1 connection_id $2 topic */ \
	X(S_EXISTS, "SELECT presence FROM subscriptions WHERE connection_id = $1 AND topic = $2") \
	/* $1 connection_id $2 topic $3 presence: a second subscribe's flag */ \
	X(S_SET_PRESENCE, \
	  "UPDATE subscriptions SET presence = $3::smallint WHERE connection_id = $1 AND topic = $2") \
	/* $1 connection_id */ \
	X(S_COUNT, "SELECT count(*) FROM subscriptions WHERE connection_id = $1") \
	/* $1 connection_id $2 tenant $3 topic $4 now $5 presence $6 pattern; nothing when \
	 * the connection is gone */ \
	X(S_ADD, \
	  "INSERT INTO subscriptions (connection_id, tenant_id, topic, created_at, presence, " \
	  "pattern) SELECT id, $2, $3, $4::bigint, $5::smallint, $6::smallint FROM connections " \
	  "WHERE id = $1 AND tenant_id = $2 ON CONFLICT DO NOTHING RETURNING 1") \
	/* $1 connection_id $2 topic */ \
	X(S_REMOVE, "DELETE FROM subscriptions WHERE connection_id = $1 AND topic = $2 RETURNING 1") \
	/* $1 tenant $2 topic $3 now */ \
	X(S_TOPIC, \
	  "SELECT s.connection_id FROM subscriptions s JOIN connections c ON c.id = s.connection_id " \
	  "WHERE s.tenant_id = $1 AND s.topic = $2 AND c.expires_at > $3::bigint") \
	/* $1 tenant $2 user $3 now */ \
	X(S_USER, \
	  "SELECT id FROM connections WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3::bigint") \
	/* $1 tenant $2 now */ \
	X(S_TENANT, "SELECT id FROM connections WHERE tenant_id = $1 AND expires_at > $2::bigint") \
	/* $1 now $2 limit */ \
	X(S_EXPIRED, \
	  "SELECT id FROM connections WHERE expires_at <= $1::bigint ORDER BY expires_at LIMIT $2::bigint") \
	/* $1 tenant $2 topic $3 now $4 limit */ \
	X(S_PRESENCE, \
	  "SELECT c.user_id, count(*) FROM subscriptions s JOIN connections c " \
	  "ON c.id = s.connection_id WHERE s.tenant_id = $1 AND s.topic = $2 " \
	  "AND c.expires_at > $3::bigint GROUP BY c.user_id ORDER BY c.user_id LIMIT $4::bigint") \
	/* $1 tenant $2 topic $3 now */ \
	X(S_PRESENCE_COUNT, \
	  "SELECT count(DISTINCT c.user_id), count(*) FROM subscriptions s JOIN connections c " \
	  "ON c.id = s.connection_id WHERE s.tenant_id = $1 AND s.topic = $2 " \
	  "AND c.expires_at > $3::bigint") \
	/* $1 tenant $2 topic $3 user $4 now */ \
	X(S_USER_TOPIC_COUNT, \
	  "SELECT count(*) FROM connections c JOIN subscriptions s " \
	  "ON s.connection_id = c.id AND s.topic = $2 " \
	  "WHERE c.tenant_id = $1 AND c.user_id = $3 AND c.expires_at > $4::bigint") \
	/* $1 connection_id */ \
	X(S_CONNECTION_TOPICS, \
	  "SELECT topic, presence FROM subscriptions WHERE connection_id = $1 ORDER BY topic") \
	/* $1 tenant $2 topic $3 now: subscriptions_presence */ \
	X(S_PRESENCE_WATCHERS, \
	  "SELECT s.connection_id FROM subscriptions s JOIN connections c " \
	  "ON c.id = s.connection_id WHERE s.tenant_id = $1 AND s.topic = $2 " \
	  "AND s.presence = 1 AND c.expires_at > $3::bigint") \
	/* $1 tenant $2 now: the SQLite S_PATTERNS' walk of the distinct pattern topics \
	 * through subscriptions_pattern, one probe when the tenant has none. The live \
	 * subscriber is a scalar subquery with LIMIT 1, run per pattern and stopping at \
	 * the first (an EXISTS became a hash semi-join over every pattern row). */ \
	X(S_PATTERNS, \
	  "WITH RECURSIVE p(t) AS (" \
	  "SELECT (SELECT min(topic) FROM subscriptions WHERE tenant_id = $1 AND pattern = 1) " \
	  "UNION ALL " \
	  "SELECT (SELECT min(topic) FROM subscriptions WHERE tenant_id = $1 AND pattern = 1 " \
	  "AND topic > p.t) FROM p WHERE p.t IS NOT NULL) " \
	  "SELECT t FROM p WHERE t IS NOT NULL AND (SELECT 1 FROM subscriptions s " \
	  "JOIN connections c ON c.id = s.connection_id WHERE s.tenant_id = $1 AND s.topic = p.t " \
	  "AND s.pattern = 1 AND c.expires_at > $2::bigint LIMIT 1) IS NOT NULL ORDER BY t")

#define PG_HISTORY_STATEMENTS(X) \
	X(H_SAVEPOINT, "SAVEPOINT history_append") \
	X(H_RELEASE, "RELEASE history_append") \
	X(H_ROLLBACK_TO, "ROLLBACK TO history_append") \
	/* $1 stream $2 epoch (used only when the row is created) $3 now $4 target $5 body \
	 * $6 the size limit (0 = keep only the newest) $7 the oldest created_at the ttl keeps. \
	 * One statement, so one round trip: numbers the message through an upsert of the \
	 * stream row, whose lock is held to the end of the transaction (appends to one \
	 * stream take their offsets one after the other; a rolled-back append gives its \
	 * offset back: no gap), stores it, and trims what SQLite's H_TRIM trims (the \
	 * trim's snapshot does not hold the new row, which it would keep anyway). */ \
	X(H_APPEND, \
	  "WITH n AS (INSERT INTO streams (name, epoch, top, updated_at) " \
	  "VALUES ($1, $2, 1, $3::bigint) ON CONFLICT (name) DO UPDATE SET top = streams.top + 1, " \
	  "updated_at = GREATEST(streams.updated_at, excluded.updated_at) " \
	  "RETURNING epoch, top, updated_at), " \
	  "ins AS (INSERT INTO history (stream, seq, target, body, created_at) " \
	  "SELECT $1, top, $4, $5, $3::bigint FROM n), " \
	  "trim AS (DELETE FROM history WHERE stream = $1 AND seq < GREATEST(" \
	  "(SELECT CASE WHEN $6::bigint > 0 THEN top + 1 - $6::bigint ELSE top + 1 END FROM n), " \
	  "COALESCE((SELECT seq FROM history WHERE stream = $1 AND created_at >= $7::bigint " \
	  "ORDER BY seq LIMIT 1), (SELECT top + 1 FROM n)))) " \
	  "SELECT epoch, top, updated_at FROM n") \
	X(H_POSITION, "SELECT epoch, top, updated_at FROM streams WHERE name = $1") \
	/* $1 stream $2 the oldest created_at still readable */ \
	X(H_OLDEST, \
	  "SELECT seq FROM history WHERE stream = $1 AND created_at >= $2::bigint " \
	  "ORDER BY seq LIMIT 1") \
	/* $1 stream $2 after $3 the oldest created_at still readable $4 limit */ \
	X(H_READ, \
	  "SELECT seq, target, body, created_at FROM history " \
	  "WHERE stream = $1 AND seq > $2::bigint AND created_at >= $3::bigint " \
	  "ORDER BY seq LIMIT $4::bigint") \
	X(H_ANY_MOVED, "SELECT 1 FROM streams WHERE updated_at >= $1::bigint LIMIT 1") \
	/* $1..$4 stream names (NULL = none) $5 connection_id $6 topic prefix $7 since */ \
	X(H_POSITIONS, \
	  "SELECT name, epoch, top, updated_at FROM streams WHERE name = $1::text AND updated_at >= $7::bigint " \
	  "UNION ALL SELECT name, epoch, top, updated_at FROM streams WHERE name = $2::text AND updated_at >= $7::bigint " \
	  "UNION ALL SELECT name, epoch, top, updated_at FROM streams WHERE name = $3::text AND updated_at >= $7::bigint " \
	  "UNION ALL SELECT name, epoch, top, updated_at FROM streams WHERE name = $4::text AND updated_at >= $7::bigint " \
	  "UNION ALL SELECT s.name, s.epoch, s.top, s.updated_at " \
	  "FROM subscriptions AS u JOIN streams AS s ON s.name = $6::text || u.topic " \
	  "WHERE u.connection_id = $5 AND s.updated_at >= $7::bigint " \
	  "AND s.name IS DISTINCT FROM $1::text AND s.name IS DISTINCT FROM $2::text " \
	  "AND s.name IS DISTINCT FROM $3::text AND s.name IS DISTINCT FROM $4::text") \
	X(H_GC_MESSAGES, "DELETE FROM history WHERE created_at < $1::bigint") \
	X(H_GC_IDLE_MESSAGES, \
	  "DELETE FROM history WHERE stream IN (SELECT name FROM streams WHERE updated_at < $1::bigint)") \
	X(H_GC_STREAMS, "DELETE FROM streams WHERE updated_at < $1::bigint")

#endif
