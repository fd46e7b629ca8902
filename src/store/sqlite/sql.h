/* sql.h - every SQL statement of the SQLite engine, in one place (tests EXPLAIN them). */
#ifndef STREAMER_STORE_SQLITE_SQL_H_
#define STREAMER_STORE_SQLITE_SQL_H_

/*
 * The columns of a connection row, in the order conn_record is read from
 * (store.c's read_row relies on it).
 */
#define STORE_SQL_CONN_COLUMNS \
	"id, user_id, tenant_id, permissions, user_agent, source_addr, " \
	"connected_at, last_active_at, expires_at, messages_received, messages_sent, " \
	"token_expires_at, topic_claims"

/*
 * X(name, sql) for each statement store_open prepares once with
 * SQLITE_PREPARE_PERSISTENT. Parameters are numbered; the comment after each
 * says what binds to them. Every statement on the per-event path finds its
 * row through the primary key (id) or an index of sql/schema.sql;
 * tests/unit/test_store.c checks that with EXPLAIN QUERY PLAN.
 */
#define STORE_SQL_STATEMENTS(X) \
	X(STMT_BEGIN, "BEGIN IMMEDIATE") \
	X(STMT_BEGIN_READ, "BEGIN DEFERRED") \
	X(STMT_COMMIT, "COMMIT") \
	X(STMT_ROLLBACK, "ROLLBACK") \
	/* reads the database header page: a read transaction, never the write lock */ \
	X(STMT_PING, "PRAGMA schema_version") \
	X(STMT_USER_VERSION, "PRAGMA user_version") \
	/* ?1..?13 in STORE_SQL_CONN_COLUMNS order, ?14 secret_hash; expires_at capped by \
	 * token_expires_at; inserts nothing over a live row (expires_at > connected_at) \
	 * of another user, tenant or dialect */ \
	X(STMT_CONN_PUT, \
	  "INSERT OR REPLACE INTO connections (" STORE_SQL_CONN_COLUMNS ", secret_hash) " \
	  "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, min(?9, coalesce(?12, ?9)), ?10, ?11, ?12, ?13, " \
	  "?14 WHERE NOT EXISTS (SELECT 1 FROM connections WHERE id = ?1 AND expires_at > ?7 " \
	  "AND (user_id IS NOT ?2 OR tenant_id IS NOT ?3 " \
	  "OR (secret_hash IS NULL) IS NOT (?14 IS NULL)))") \
	/* ?1 id */ \
	X(STMT_CONN_SECRET, \
	  "SELECT secret_hash FROM connections WHERE id = ?1") \
	/* ?1 now, ?2 new expires_at, ?3 id, ?4 active_at (0 = none), ?5 received, ?6 sent; \
	 * never moves expiry or activity back, nor expiry past token_expires_at */ \
	X(STMT_CONN_TOUCH, \
	  "UPDATE connections SET " \
	  "expires_at = max(expires_at, min(?2, coalesce(token_expires_at, ?2))), " \
	  "last_active_at = max(last_active_at, ?4), " \
	  "messages_received = messages_received + ?5, messages_sent = messages_sent + ?6 " \
	  "WHERE id = ?3 AND expires_at > ?1 RETURNING 1") \
	/* ?1 now, ?2 sliding expires_at, ?3 id, ?4 permissions, ?5 token_expires_at, \
	 * ?6 topic_claims; live rows only */ \
	X(STMT_CONN_REFRESH, \
	  "UPDATE connections SET permissions = ?4, token_expires_at = ?5, topic_claims = ?6, " \
	  "expires_at = min(?2, ?5) " \
	  "WHERE id = ?3 AND expires_at > ?1 RETURNING " STORE_SQL_CONN_COLUMNS) \
	/* ?1 id */ \
	X(STMT_CONN_GET, \
	  "SELECT " STORE_SQL_CONN_COLUMNS " FROM connections WHERE id = ?1") \
	/* ?1 id */ \
	X(STMT_CONN_DELETE, \
	  "DELETE FROM connections WHERE id = ?1 RETURNING " STORE_SQL_CONN_COLUMNS) \
	X(STMT_CONN_LIST, \
	  "SELECT " STORE_SQL_CONN_COLUMNS " FROM connections " \
	  "ORDER BY connected_at, id") \
	/* ?1 tenant_id */ \
	X(STMT_CONN_LIST_TENANT, \
	  "SELECT " STORE_SQL_CONN_COLUMNS " FROM connections " \
	  "WHERE tenant_id = ?1 ORDER BY connected_at, id") \
	/* ?1 tenant_id ?2 user_id ?3 now ?4 id left out ?5 limit: counting stops there */ \
	X(STMT_CONN_COUNT_USER, \
	  "SELECT count(*) FROM (SELECT 1 FROM connections WHERE tenant_id = ?1 AND user_id = ?2 " \
	  "AND expires_at > ?3 AND id <> ?4 LIMIT ?5)")

/* The columns of a request row, in the order request_record is read from (queue.c's read_job). */
#define JOB_COLUMNS \
	"id, request_id, connection_id, user_id, tenant_id, action, payload, status, " \
	"attempts, progress, progress_message, progress_metadata, result, error_code, " \
	"error_message, cancel_requested, created_at, updated_at, run_after, started_at, " \
	"finished_at, lease_until"

/*
 * X(name, sql): every statement of the queue, prepared once by store_open.
 * The comment before each says what binds to its parameters.
 */
#define QUEUE_SQL_STATEMENTS(X) \
	/* ?1 id ?2 request_id ?3 connection_id ?4 user ?5 tenant ?6 action ?7 payload ?8 now \
	 * ?9 run_after (held until then when later than now) */ \
	X(Q_ENQUEUE, \
	  "INSERT INTO requests (id, request_id, connection_id, user_id, tenant_id, action, " \
	  "payload, status, created_at, updated_at, run_after) " \
	  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'PENDING', ?8, ?8, max(?8, ?9)) " \
	  "ON CONFLICT DO NOTHING") \
	/* ?1 JSON array of ids ?2 now */ \
	X(Q_UNHOLD, \
	  "UPDATE requests SET run_after = ?2 WHERE id IN (SELECT value FROM json_each(?1)) " \
	  "AND status = 'PENDING' AND run_after > ?2") \
	/* ?1 owner ?2 now ?3 lease_until. Fair across tenants: of the tenants with a \
	 * due request, the one with fewest running, then the one served longest \
	 * ago (never first), then the oldest due request; that tenant's oldest due \
	 * request, or an older one whose lease ran out. The tenants are walked by \
	 * an index skip (MIN(tenant_id) > x) and each is a few index probes \
	 * (sql/007_quotas.sql), so a claim costs O(tenants), not O(pending): \
	 * sorting every pending row took 4 ms at 2,000 pending, with the write \
	 * lock held. */ \
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
	  "FROM tenants WHERE t IS NOT NULL) " \
	  "UPDATE requests SET status = 'PROCESSING', attempts = attempts + 1, lease_owner = ?1, " \
	  "lease_until = ?3, started_at = ?2, updated_at = ?2 WHERE id = (" \
	  "SELECT id FROM (" \
	  "SELECT * FROM (SELECT id, run_after AS t FROM requests " \
	  "WHERE status = 'PENDING' AND tenant_id = (" \
	  "SELECT t FROM ready WHERE first <= ?2 ORDER BY running, served, first LIMIT 1) " \
	  "AND run_after <= ?2 ORDER BY run_after LIMIT 1) " \
	  "UNION ALL " \
	  "SELECT * FROM (SELECT id, lease_until AS t FROM requests " \
	  "WHERE status = 'PROCESSING' AND lease_until < ?2 ORDER BY lease_until LIMIT 1)" \
	  ") ORDER BY t LIMIT 1) RETURNING " JOB_COLUMNS) \
	/* ?1 id ?2 owner ?3 now ?4 lease_until */ \
	X(Q_RENEW, \
	  "UPDATE requests SET lease_until = ?4, updated_at = ?3 " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING' RETURNING cancel_requested") \
	/* ?1 id ?2 owner ?3 now ?4 lease_until ?5 pct ?6 message ?7 metadata */ \
	X(Q_PROGRESS, \
	  "UPDATE requests SET lease_until = ?4, updated_at = ?3, progress = ?5, " \
	  "progress_message = ?6, progress_metadata = ?7 " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING' RETURNING cancel_requested") \
	/* ?1 id ?2 owner ?3 now ?4 status ?5 result ?6 code ?7 message ?8 expires_at */ \
	X(Q_FINISH, \
	  "UPDATE requests SET status = ?4, result = ?5, error_code = ?6, error_message = ?7, " \
	  "progress = CASE WHEN ?4 = 'COMPLETED' THEN 100 ELSE progress END, " \
	  "finished_at = ?3, updated_at = ?3, expires_at = ?8, lease_owner = NULL, lease_until = NULL " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING'") \
	/* ?1 id ?2 owner ?3 now ?4 run_after */ \
	X(Q_RELEASE, \
	  "UPDATE requests SET status = 'PENDING', run_after = ?4, updated_at = ?3, " \
	  "lease_owner = NULL, lease_until = NULL " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING'") \
	/* ?1 tenant ?2 user ?3 request_id */ \
	X(Q_GET_OWN, \
	  "SELECT " JOB_COLUMNS " FROM requests WHERE tenant_id = ?1 AND user_id = ?2 " \
	  "AND request_id = ?3 ORDER BY created_at DESC LIMIT 1") \
	/* ?1 id ?2 now ?3 expires_at */ \
	X(Q_CANCEL_PENDING, \
	  "UPDATE requests SET status = 'CANCELLED', error_code = 'CANCELLED', " \
	  "error_message = 'Cancelled by the client', finished_at = ?2, updated_at = ?2, " \
	  "expires_at = ?3 WHERE id = ?1 AND status = 'PENDING' RETURNING " JOB_COLUMNS) \
	/* ?1 id ?2 now */ \
	X(Q_CANCEL_RUNNING, \
	  "UPDATE requests SET cancel_requested = 1, updated_at = ?2 " \
	  "WHERE id = ?1 AND status = 'PROCESSING' RETURNING " JOB_COLUMNS) \
	/* ?1 connection_id ?2 now ?3 expires_at. The IN term lets the planner use \
	 * requests_live_id (a bare status = 'PENDING' scanned the table). */ \
	X(Q_CANCEL_CONNECTION, \
	  "UPDATE requests SET status = 'CANCELLED', error_code = 'CANCELLED', " \
	  "error_message = 'The connection closed before the request started', " \
	  "finished_at = ?2, updated_at = ?2, expires_at = ?3 " \
	  "WHERE connection_id = ?1 AND status IN ('PENDING', 'PROCESSING') AND status = 'PENDING'") \
	/* ?1 now */ \
	X(Q_GC, "DELETE FROM requests WHERE expires_at IS NOT NULL AND expires_at <= ?1") \
	/* ?1 connection_id ?2 limit: counting stops at the limit */ \
	X(Q_COUNT_LIVE, \
	  "SELECT count(*) FROM (SELECT 1 FROM requests WHERE connection_id = ?1 " \
	  "AND status IN ('PENDING', 'PROCESSING') LIMIT ?2)") \
	/* ?1 tenant_id ?2 limit: counting stops at the limit */ \
	X(Q_COUNT_TENANT_PENDING, \
	  "SELECT count(*) FROM (SELECT 1 FROM requests WHERE tenant_id = ?1 " \
	  "AND status = 'PENDING' LIMIT ?2)")

/* X(name, sql): every statement, prepared once by store_open; the comment says what binds. */
#define SUBS_SQL_STATEMENTS(X) \
	/* ?1 connection_id ?2 topic */ \
	X(S_EXISTS, "SELECT presence FROM subscriptions WHERE connection_id = ?1 AND topic = ?2") \
	/* ?1 connection_id ?2 topic ?3 presence: a second subscribe's flag */ \
	X(S_SET_PRESENCE, \
	  "UPDATE subscriptions SET presence = ?3 WHERE connection_id = ?1 AND topic = ?2") \
	/* ?1 connection_id */ \
	X(S_COUNT, "SELECT count(*) FROM subscriptions WHERE connection_id = ?1") \
	/* ?1 connection_id ?2 tenant ?3 topic ?4 now ?5 presence ?6 pattern; nothing when \
	 * the connection is gone */ \
	X(S_ADD, \
	  "INSERT INTO subscriptions (connection_id, tenant_id, topic, created_at, presence, " \
	  "pattern) SELECT id, ?2, ?3, ?4, ?5, ?6 FROM connections WHERE id = ?1 AND tenant_id = ?2 " \
	  "ON CONFLICT DO NOTHING RETURNING 1") \
	/* ?1 connection_id ?2 topic */ \
	X(S_REMOVE, "DELETE FROM subscriptions WHERE connection_id = ?1 AND topic = ?2 RETURNING 1") \
	/* ?1 tenant ?2 topic ?3 now */ \
	X(S_TOPIC, \
	  "SELECT s.connection_id FROM subscriptions s JOIN connections c ON c.id = s.connection_id " \
	  "WHERE s.tenant_id = ?1 AND s.topic = ?2 AND c.expires_at > ?3") \
	/* ?1 tenant ?2 user ?3 now */ \
	X(S_USER, \
	  "SELECT id FROM connections WHERE tenant_id = ?1 AND user_id = ?2 AND expires_at > ?3") \
	/* ?1 tenant ?2 now */ \
	X(S_TENANT, "SELECT id FROM connections WHERE tenant_id = ?1 AND expires_at > ?2") \
	/* ?1 now ?2 limit */ \
	X(S_EXPIRED, \
	  "SELECT id FROM connections WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2") \
	/* ?1 tenant ?2 topic ?3 now ?4 limit: the topic's subscribers (subscriptions_topic), \
	 * each connection by its key */ \
	X(S_PRESENCE, \
	  "SELECT c.user_id, count(*) FROM subscriptions s JOIN connections c " \
	  "ON c.id = s.connection_id WHERE s.tenant_id = ?1 AND s.topic = ?2 " \
	  "AND c.expires_at > ?3 GROUP BY c.user_id ORDER BY c.user_id LIMIT ?4") \
	/* ?1 tenant ?2 topic ?3 now */ \
	X(S_PRESENCE_COUNT, \
	  "SELECT count(DISTINCT c.user_id), count(*) FROM subscriptions s JOIN connections c " \
	  "ON c.id = s.connection_id WHERE s.tenant_id = ?1 AND s.topic = ?2 " \
	  "AND c.expires_at > ?3") \
	/* ?1 tenant ?2 topic ?3 user ?4 now: the user's connections (connections_tenant_user), \
	 * each subscription by its key */ \
	X(S_USER_TOPIC_COUNT, \
	  "SELECT count(*) FROM connections c JOIN subscriptions s " \
	  "ON s.connection_id = c.id AND s.topic = ?2 " \
	  "WHERE c.tenant_id = ?1 AND c.user_id = ?3 AND c.expires_at > ?4") \
	/* ?1 connection_id: the primary key's prefix, in topic order */ \
	X(S_CONNECTION_TOPICS, \
	  "SELECT topic, presence FROM subscriptions WHERE connection_id = ?1 ORDER BY topic") \
	/* ?1 tenant ?2 topic ?3 now: subscriptions_presence */ \
	X(S_PRESENCE_WATCHERS, \
	  "SELECT s.connection_id FROM subscriptions s JOIN connections c " \
	  "ON c.id = s.connection_id WHERE s.tenant_id = ?1 AND s.topic = ?2 " \
	  "AND s.presence = 1 AND c.expires_at > ?3") \
	/* ?1 tenant ?2 now. Walks the tenant's distinct pattern topics through \
	 * subscriptions_pattern (min(topic) > the last one: one probe each, one in \
	 * all when the tenant has none) and keeps those with a live subscriber. */ \
	X(S_PATTERNS, \
	  "WITH RECURSIVE p(t) AS (" \
	  "SELECT (SELECT min(topic) FROM subscriptions WHERE tenant_id = ?1 AND pattern = 1) " \
	  "UNION ALL " \
	  "SELECT (SELECT min(topic) FROM subscriptions WHERE tenant_id = ?1 AND pattern = 1 " \
	  "AND topic > t) FROM p WHERE t IS NOT NULL) " \
	  "SELECT t FROM p WHERE t IS NOT NULL AND EXISTS (SELECT 1 FROM subscriptions s " \
	  "JOIN connections c ON c.id = s.connection_id WHERE s.tenant_id = ?1 AND s.topic = t " \
	  "AND s.pattern = 1 AND c.expires_at > ?2) ORDER BY t")

/*
 * X(name, sql): the statements of the streams and their history
 * (sql/008_streams.sql), prepared once by store_open; the comment says what
 * binds. Each finds its rows through a primary key, or walks one stream's
 * oldest rows in offset order; only gc's deletes use the time indexes.
 */
#define HISTORY_SQL_STATEMENTS(X) \
	/* a read snapshot for history_read when no transaction is open */ \
	X(H_BEGIN_READ, "BEGIN") \
	/* history_append inside the caller's transaction: undone alone on failure */ \
	X(H_SAVEPOINT, "SAVEPOINT history_append") \
	X(H_RELEASE, "RELEASE history_append") \
	X(H_ROLLBACK_TO, "ROLLBACK TO history_append") \
	/* ?1 name ?2 epoch (used only when the row is created) ?3 now */ \
	X(H_NEXT, \
	  "INSERT INTO streams (name, epoch, top, updated_at) VALUES (?1, ?2, 1, ?3) " \
	  "ON CONFLICT (name) DO UPDATE SET top = top + 1, " \
	  "updated_at = max(updated_at, excluded.updated_at) RETURNING epoch, top, updated_at") \
	/* ?1 stream ?2 offset ?3 target ?4 body ?5 now */ \
	X(H_INSERT, \
	  "INSERT INTO history (stream, seq, target, body, created_at) " \
	  "VALUES (?1, ?2, ?3, ?4, ?5)") \
	/* ?1 stream ?2 the lowest offset the size keeps ?3 the oldest created_at the ttl \
	 * keeps ?4 top + 1. Deletes the offsets below both limits: the walk for the \
	 * first message young enough stops there, so a trim costs what it removes. */ \
	X(H_TRIM, \
	  "DELETE FROM history WHERE stream = ?1 AND seq < max(?2, coalesce(" \
	  "(SELECT seq FROM history WHERE stream = ?1 AND created_at >= ?3 ORDER BY seq LIMIT 1), " \
	  "?4))") \
	/* ?1 name */ \
	X(H_POSITION, "SELECT epoch, top, updated_at FROM streams WHERE name = ?1") \
	/* ?1 stream ?2 the oldest created_at still readable */ \
	X(H_OLDEST, \
	  "SELECT seq FROM history WHERE stream = ?1 AND created_at >= ?2 ORDER BY seq LIMIT 1") \
	/* ?1 stream ?2 after ?3 the oldest created_at still readable ?4 limit */ \
	X(H_READ, \
	  "SELECT seq, target, body, created_at FROM history " \
	  "WHERE stream = ?1 AND seq > ?2 AND created_at >= ?3 ORDER BY seq LIMIT ?4") \
	/* ?1 since: whether any stream moved at all (most messages meet no moving stream) */ \
	X(H_ANY_MOVED, "SELECT 1 FROM streams WHERE updated_at >= ?1 LIMIT 1") \
	/* ?1..?4 stream names (NULL = none) ?5 connection_id ?6 topic prefix ?7 since */ \
	X(H_POSITIONS, \
	  "SELECT name, epoch, top, updated_at FROM streams WHERE name = ?1 AND updated_at >= ?7 " \
	  "UNION ALL SELECT name, epoch, top, updated_at FROM streams WHERE name = ?2 AND updated_at >= ?7 " \
	  "UNION ALL SELECT name, epoch, top, updated_at FROM streams WHERE name = ?3 AND updated_at >= ?7 " \
	  "UNION ALL SELECT name, epoch, top, updated_at FROM streams WHERE name = ?4 AND updated_at >= ?7 " \
	  "UNION ALL SELECT s.name, s.epoch, s.top, s.updated_at " \
	  "FROM subscriptions AS u JOIN streams AS s ON s.name = ?6 || u.topic " \
	  "WHERE u.connection_id = ?5 AND s.updated_at >= ?7 AND s.name IS NOT ?1 " \
	  "AND s.name IS NOT ?2 AND s.name IS NOT ?3 AND s.name IS NOT ?4") \
	/* ?1 the oldest created_at kept */ \
	X(H_GC_MESSAGES, "DELETE FROM history WHERE created_at < ?1") \
	/* ?1 the oldest updated_at kept: the idle streams' messages, then their rows */ \
	X(H_GC_IDLE_MESSAGES, \
	  "DELETE FROM history WHERE stream IN (SELECT name FROM streams WHERE updated_at < ?1)") \
	X(H_GC_STREAMS, "DELETE FROM streams WHERE updated_at < ?1")

/* ?1 now. One read transaction over the three counts; the indexes make each a range count.
 * Prepared per call: /metrics is scraped every few seconds, not per event. */
#define STORE_SQL_GAUGES \
	"SELECT (SELECT count(*) FROM connections WHERE expires_at > ?1), " \
	"(SELECT count(*) FROM requests WHERE status = 'PENDING'), " \
	"(SELECT count(*) FROM requests WHERE status = 'PROCESSING')"

/* generate_report's activity of a tenant: ?1 tenant ?2 from ?3 until. Prepared per report. */
#define STORE_SQL_ACTIVITY \
	/* A connection's id is its owner's credential: it never leaves the store here. */ \
	"SELECT connected_at, 'connection', tenant_id, NULL, user_id, NULL, NULL, " \
	"last_active_at - connected_at FROM connections " \
	"WHERE tenant_id = ?1 AND connected_at >= ?2 AND connected_at < ?3 " \
	"UNION ALL " \
	"SELECT created_at, 'request', tenant_id, request_id, user_id, action, status, " \
	"CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL " \
	"THEN finished_at - started_at ELSE -1 END FROM requests " \
	"WHERE tenant_id = ?1 AND created_at >= ?2 AND created_at < ?3 ORDER BY 1"

#endif
