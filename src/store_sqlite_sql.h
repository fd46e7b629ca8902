/* store_sqlite_sql.h - every SQL statement the SQLite store prepares, in one place (tests EXPLAIN them). */
#ifndef STREAMER_STORE_SQLITE_SQL_H
#define STREAMER_STORE_SQLITE_SQL_H

/*
 * The columns of a connection row, in the order conn_record is read from
 * (store_sqlite.c's read_row relies on it).
 */
#define STORE_SQL_CONN_COLUMNS \
	"id, user_id, tenant_id, permissions, user_agent, source_addr, " \
	"connected_at, last_active_at, expires_at, messages_received, messages_sent, " \
	"token_expires_at"

/*
 * X(name, sql) for each statement store_open prepares once with
 * SQLITE_PREPARE_PERSISTENT. Parameters are numbered; the comment after each
 * says what binds to them. Every statement on the per-event path finds its
 * row through the primary key (id) or an index of sql/schema.sql;
 * tests/unit/test_store.c checks that with EXPLAIN QUERY PLAN.
 */
#define STORE_SQL_STATEMENTS(X) \
	X(STMT_BEGIN, "BEGIN IMMEDIATE") \
	X(STMT_COMMIT, "COMMIT") \
	X(STMT_ROLLBACK, "ROLLBACK") \
	/* reads the database header page: a read transaction, never the write lock */ \
	X(STMT_PING, "PRAGMA schema_version") \
	X(STMT_USER_VERSION, "PRAGMA user_version") \
	/* ?1..?12 in STORE_SQL_CONN_COLUMNS order, ?13 secret_hash; expires_at capped by \
	 * token_expires_at; inserts nothing over a live row (expires_at > connected_at) \
	 * of another user, tenant or dialect */ \
	X(STMT_CONN_PUT, \
	  "INSERT OR REPLACE INTO connections (" STORE_SQL_CONN_COLUMNS ", secret_hash) " \
	  "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, min(?9, coalesce(?12, ?9)), ?10, ?11, ?12, ?13 " \
	  "WHERE NOT EXISTS (SELECT 1 FROM connections WHERE id = ?1 AND expires_at > ?7 " \
	  "AND (user_id IS NOT ?2 OR tenant_id IS NOT ?3 " \
	  "OR (secret_hash IS NULL) IS NOT (?13 IS NULL)))") \
	/* ?1 id */ \
	X(STMT_CONN_SECRET, \
	  "SELECT secret_hash FROM connections WHERE id = ?1") \
	/* ?1 now, ?2 new expires_at (capped by token_expires_at), ?3 id */ \
	X(STMT_CONN_TOUCH, \
	  "UPDATE connections SET last_active_at = ?1, " \
	  "expires_at = min(?2, coalesce(token_expires_at, ?2)), " \
	  "messages_received = messages_received + 1 " \
	  "WHERE id = ?3 AND expires_at > ?1 RETURNING " STORE_SQL_CONN_COLUMNS) \
	/* ?1 now, ?2 new expires_at, ?3 id; never moves expiry back, nor past token_expires_at */ \
	X(STMT_CONN_KEEPALIVE, \
	  "UPDATE connections SET expires_at = " \
	  "max(expires_at, min(?2, coalesce(token_expires_at, ?2))) " \
	  "WHERE id = ?3 AND expires_at > ?1 RETURNING 1") \
	/* ?1 now, ?2 sliding expires_at, ?3 id, ?4 permissions, ?5 token_expires_at; live rows only */ \
	X(STMT_CONN_REFRESH, \
	  "UPDATE connections SET permissions = ?4, token_expires_at = ?5, " \
	  "expires_at = min(?2, ?5) " \
	  "WHERE id = ?3 AND expires_at > ?1 RETURNING " STORE_SQL_CONN_COLUMNS) \
	/* ?1 n, ?2 id */ \
	X(STMT_CONN_ADD_SENT, \
	  "UPDATE connections SET messages_sent = messages_sent + ?1 " \
	  "WHERE id = ?2 RETURNING 1") \
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

#endif
